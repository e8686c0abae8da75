"""Fixtures for the reliability tests (issue 7): see tests/helpers/reliability.py."""

from helpers.hub import hub_factory, local_hub  # noqa: F401
from helpers.reliability import _hub_template, hub_project  # noqa: F401
