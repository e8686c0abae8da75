"""The consumer tests run ``chemeleon_mini/`` (a project shaped like Chemeleon2) with its own pytest
configuration in a subprocess; its test files are not this suite's."""

from helpers.reliability import _hub_template, hub_project  # noqa: F401

collect_ignore = ["chemeleon_mini"]
