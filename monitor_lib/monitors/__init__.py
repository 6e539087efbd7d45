"""Monitor types: the interface (base), the registry, and the built-in monitors (data_quality, model_quality)."""

from monitor_lib.monitors.base import Document, Monitor, Phase, RunContext, RunOutcome, completed_message

__all__ = ["Document", "Monitor", "Phase", "RunContext", "RunOutcome", "completed_message"]
