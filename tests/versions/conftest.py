"""Fixtures for checkpoint versions: a project with several publishes (tests/helpers/history.py)."""

from helpers.history import _history_template, history  # noqa: F401
