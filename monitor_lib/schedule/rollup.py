"""Placeholder: filled in by its owner (see monitor_lib/schedule/__init__.py)."""

from __future__ import annotations


def add_parser(sub) -> None:
    """``rollup``."""
