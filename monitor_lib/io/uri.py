"""What kind of location a path is. No imports of our own: every layer (formats, config, io) may use it."""

from __future__ import annotations

import os

SCHEMES = ("s3://", "s3a://", "s3n://")


def hidden(name: str) -> bool:
    """Spark's own convention: ``_SUCCESS``, ``_metadata``, ``.crc`` files and dot-files are not data."""
    return name.startswith((".", "_"))


def is_s3(uri: str | os.PathLike[str] | None) -> bool:
    return isinstance(uri, str) and uri.lower().startswith(SCHEMES)
