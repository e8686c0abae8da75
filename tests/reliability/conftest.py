"""Fixtures for the reliability tests (issue 7): see tests/helpers/reliability.py."""

from helpers.reliability import _hub_template, hub_project  # noqa: F401
