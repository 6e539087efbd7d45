"""The command-line parsers of the schedule commands: ``schedule due|tick|export``, ``executions``, ``backfill``,
``rollup``. Each module declares its own parser (``add_parser``) and command function; this module only
gathers them, so that ``monitor_lib.cli`` adds one line."""

from __future__ import annotations

import argparse


def add_parsers(sub) -> None:
    """Add the schedule commands to the ``model-monitor`` subparsers ``sub``."""
    from monitor_lib import cli_help
    from monitor_lib.schedule import backfill, export, rollup, tick

    raw = argparse.RawDescriptionHelpFormatter
    s = sub.add_parser("schedule", help="monitoring schedules: due windows, tick (claim and run them), export "
                                        "a trigger", description=cli_help.SCHEDULE_DESCRIPTION,
                       formatter_class=raw)
    actions = s.add_subparsers(dest="schedule_command", required=True)
    tick.add_parsers(actions, sub)  # schedule due, schedule tick; executions
    export.add_parser(actions)  # schedule export
    backfill.add_parser(sub)  # backfill
    rollup.add_parser(sub)  # rollup
