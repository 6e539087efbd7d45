"""The registry of monitors: the built-in ones, then those of the ``model_monitor.monitors`` entry-point group.

A third-party package declares, in its ``pyproject.toml``::

    [project.entry-points."model_monitor.monitors"]
    row-count = "my_package.row_count:MONITOR"

where ``MONITOR`` is a :class:`~monitor_lib.monitors.base.Monitor` instance (or a class, instantiated without
arguments). Nothing in ``monitor_lib`` changes: the CLI, ``analyze``, ``submit``, the report and the sinks
enumerate this registry.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points

from monitor_lib.errors import ConfigError
from monitor_lib.monitors.base import Monitor, Phase

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "model_monitor.monitors"
DEFAULT = "data-quality"
BUILT_IN = ("monitor_lib.monitors.data_quality:MONITOR", "monitor_lib.monitors.model_quality:MONITOR",
            "monitor_lib.monitors.model_bias:MONITOR", "monitor_lib.monitors.model_explainability:MONITOR")

_monitors: dict[str, Monitor] | None = None  # loaded once per process: a cache of what is installed


def _instance(obj, where: str) -> Monitor:
    monitor = obj() if isinstance(obj, type) else obj
    if not isinstance(monitor, Monitor) or not monitor.name or not monitor.analysis_type or not monitor.phases:
        raise ConfigError(f"{where} is not a monitor: it must be a monitor_lib.monitors.Monitor with a name, an "
                          "analysis_type and phases")
    return monitor


def _load() -> dict[str, Monitor]:
    found: dict[str, Monitor] = {}
    for ref in BUILT_IN:
        module, _, attr = ref.partition(":")
        monitor = _instance(getattr(importlib.import_module(module), attr), ref)
        found[monitor.name] = monitor
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        where = f"entry point {ep.name} = {ep.value} ({ENTRY_POINT_GROUP})"
        try:
            monitor = _instance(ep.load(), where)
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigError(f"{where} cannot be loaded: {type(e).__name__}: {e}") from None
        if monitor.name in found:
            log.warning("%s: a monitor named %s is already registered; the first one is kept", where, monitor.name)
            continue
        found[monitor.name] = monitor
    return found


def monitors() -> list[Monitor]:
    """Every registered monitor, the built-in ones first."""
    global _monitors
    if _monitors is None:
        _monitors = _load()
    return list(_monitors.values())


def names() -> list[str]:
    return [m.name for m in monitors()]


def get(name: str) -> Monitor:
    """The monitor called ``name`` (``--type``) or whose SageMaker ``analysis_type`` is ``name``."""
    for m in monitors():
        if name in (m.name, m.analysis_type) or name.upper() == m.analysis_type:
            return m
    raise ConfigError(f"unknown monitor type {name!r}; registered: "
                      + ", ".join(f"{m.name} ({m.analysis_type})" for m in monitors()))


def commands() -> list[str]:
    """The CLI commands the monitors' phases run, in a stable order."""
    seen: list[str] = []
    for m in monitors():
        for p in m.phases:
            if p.command not in seen:
                seen.append(p.command)
    return seen


def default_for(command: str) -> Monitor:
    """The monitor ``model-monitor <command>`` runs without ``--type``: data quality when it has that command,
    else the first monitor that has it."""
    candidates = [m for m in monitors() if m.phase_for_command(command)]
    for m in candidates:
        if m.name == DEFAULT:
            return m
    if not candidates:
        raise ConfigError(f"no monitor runs `{command}`")
    return candidates[0]


def resolve(command: str, type_name: str | None) -> tuple[Monitor, Phase]:
    """The monitor and phase of ``model-monitor <command> [--type T]``."""
    monitor = get(type_name) if type_name else default_for(command)
    phase = monitor.phase_for_command(command)
    if phase is None:
        have = ", ".join(p.command for p in monitor.phases)
        raise ConfigError(f"--type {monitor.name} has no `{command}` command (it has: {have})")
    return monitor, phase


def for_environment(params: dict[str, str]) -> tuple[Monitor, Phase]:
    """The monitor and phase a SageMaker environment asks for: ``analysis_type`` names the monitor (default
    data quality, unless another monitor recognises the environment as its own, e.g. the ground-truth merger)."""
    analysis = params.get("analysis_type")
    if analysis:
        monitor = get(str(analysis))
        name = monitor.environment_phase(params, explicit=True)
    else:
        monitor, name = None, None
        for m in monitors():
            if m.name != DEFAULT and (name := m.environment_phase(params, explicit=False)):
                monitor = m
                break
        if monitor is None:
            monitor = get(DEFAULT)
            name = monitor.environment_phase(params, explicit=True)
    if not name:
        raise ConfigError(f"analysis_type {monitor.analysis_type}: the environment does not say which phase to run")
    return monitor, monitor.phase(name)


def environment_names() -> list[str]:
    """Every SageMaker environment name any registered monitor declares (plus ``analysis_type``)."""
    from monitor_lib.params import env_names

    out = ["analysis_type"]
    for m in monitors():
        for p in m.phases:
            out += [n for n in env_names(p.params) if n not in out]
    return out
