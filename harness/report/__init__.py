"""Reporting: leaderboard tables, significance and plots regenerated from the results store alone."""

from harness.report.api import Report, build_report

__all__ = ["Report", "build_report"]
