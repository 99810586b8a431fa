"""The monitoring report (``prosperity monitor``): sections computed from the bundled data, one
self-contained HTML file and the tables behind every figure."""

from .monitor import MonitorReport, build_monitor

__all__ = ["MonitorReport", "build_monitor"]
