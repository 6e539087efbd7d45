"""Placeholder: filled in by its owner (see monitor_lib/schedule/__init__.py)."""

from __future__ import annotations


def add_parsers(schedule_actions, sub) -> None:
    """``schedule due``, ``schedule tick`` (under ``schedule_actions``) and ``executions`` (under ``sub``)."""
