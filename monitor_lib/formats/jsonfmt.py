"""JSON text exactly as the SageMaker analyzer writes it (Jackson DefaultPrettyPrinter), and a
small typed reader that reports errors by file and JSON key path.

Writers emit no trailing newline, like the current container. Readers accept either.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from monitor_lib.errors import FormatError
from monitor_lib.io.uri import is_s3

# ---------------------------------------------------------------- writing


def _digits_exp(text: str) -> tuple[str, int]:
    """Significant digits and the decimal exponent of the first one, from a Python float text."""
    mantissa, _, exp_text = text.partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    all_digits = int_part + frac_part
    leading_zeros = len(all_digits) - len(all_digits.lstrip("0"))
    exp10 = (int(exp_text) if exp_text else 0) + len(int_part) - 1 - leading_zeros
    return all_digits.strip("0") or "0", exp10


def java_double(x: float) -> str:
    """``Double.toString(x)`` of JDK 19+ (shortest digits that round-trip).

    Decimal notation for 1e-3 <= |x| < 1e7, otherwise ``d.dddE<exp>``; always a fractional digit.
    """
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"{x!r} has no JSON number form")
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    digits, exp10 = _digits_exp(repr(abs(x)))
    if len(digits) == 1:
        # Java picks the closest decimal of length 1 *or 2* (differs from repr only for subnormals,
        # e.g. Double.MIN_VALUE is "4.9E-324", repr says 5e-324).
        two = f"{abs(x):.1e}"
        if float(two) == abs(x):
            digits, exp10 = _digits_exp(two)
    if -3 <= exp10 < 7:
        if exp10 >= 0:
            whole = digits[: exp10 + 1].ljust(exp10 + 1, "0")
            frac = digits[exp10 + 1 :] or "0"
        else:
            whole, frac = "0", "0" * (-exp10 - 1) + digits
        return f"{sign}{whole}.{frac}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exp10}"


_ESCAPE_RE = re.compile(r'[\x00-\x1f"\\]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _quote(s: str) -> str:
    def esc(m: re.Match[str]) -> str:
        c = m.group(0)
        return _SHORT_ESCAPES.get(c) or f"\\u{ord(c):04X}"

    return '"' + _ESCAPE_RE.sub(esc, s) + '"'


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return java_double(v)
    if isinstance(v, str):
        return _quote(v)
    raise TypeError(f"cannot serialise {type(v).__name__} as JSON")


def _write(v: Any, level: int, out: list[str]) -> None:
    # Objects indent by 2 spaces per nesting level of objects; arrays are inline ("[ a, b ]")
    # and do not add a level (Jackson's FixedSpaceIndenter).
    if isinstance(v, dict):
        if not v:
            out.append("{ }")
            return
        out.append("{")
        inner = "\n" + "  " * (level + 1)
        for i, (key, value) in enumerate(v.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, got {key!r}")
            out.append(("," if i else "") + inner + _quote(key) + " : ")
            _write(value, level + 1, out)
        out.append("\n" + "  " * level + "}")
    elif isinstance(v, (list, tuple)):
        if not v:
            out.append("[ ]")
            return
        out.append("[ ")
        for i, item in enumerate(v):
            if i:
                out.append(", ")
            _write(item, level, out)
        out.append(" ]")
    else:
        out.append(_scalar(v))


def dumps_jackson(obj: Any) -> str:
    """Serialise like Jackson's DefaultPrettyPrinter as the real container writes (no trailing newline)."""
    out: list[str] = []
    _write(obj, 0, out)
    return "".join(out)


def json_number(x: float) -> float | str:
    """A float as written into a file: non-finite values become the strings Jackson/SageMaker use."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _file_mode() -> int:
    """0666 less the process umask: what ``open()`` would have given (``mkstemp`` gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_json_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temp file in the same directory and ``os.replace``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- reading


def load_json_file(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; a syntax error becomes a FormatError naming the file, line and column."""
    if is_s3(path):
        # imported here: storage imports the errors, which import this module
        from monitor_lib.io.storage import read_text

        text = read_text(path, "file")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FormatError(str(path), "", "no such file") from None
        except IsADirectoryError:
            raise FormatError(str(path), "", "is a folder, not a JSON file") from None
        except UnicodeDecodeError as e:
            raise FormatError(str(path), "", f"not UTF-8 text (byte {e.start})") from None
        except OSError as e:
            raise FormatError(str(path), "", f"cannot be read: {e.strerror or e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(str(path), "", f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from e


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class JsonNode:
    """A parsed JSON value with its key path, for typed access with precise error messages."""

    __slots__ = ("path", "source", "value")

    def __init__(self, value: Any, path: str = "", source: str = "<json>") -> None:
        self.value = value
        self.path = path
        self.source = source

    def error(self, problem: str) -> FormatError:
        return FormatError(self.source, self.path, problem)

    def _child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.as_dict()

    def get(self, key: str) -> JsonNode | None:
        """The child under ``key``, or None when the key is absent or null."""
        d = self.as_dict()
        if d.get(key) is None:
            return None
        return JsonNode(d[key], self._child_path(key), self.source)

    def get_object(self, key: str) -> JsonNode:
        """The child object under ``key``, or an empty object at that path when the key is absent."""
        node = self.get(key)
        return JsonNode({}, self._child_path(key), self.source) if node is None else node

    def req(self, key: str) -> JsonNode:
        node = self.get(key)
        if node is None:
            raise JsonNode(None, self._child_path(key), self.source).error("required key is missing")
        return node

    def as_dict(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.error(f"expected an object, got {_describe(self.value)}")
        return self.value

    def items(self) -> list[JsonNode]:
        if not isinstance(self.value, list):
            raise self.error(f"expected an array, got {_describe(self.value)}")
        return [JsonNode(v, self._child_path(i), self.source) for i, v in enumerate(self.value)]

    def as_str(self) -> str:
        if not isinstance(self.value, str):
            raise self.error(f"expected a string, got {_describe(self.value)}")
        return self.value

    def as_float(self) -> float:
        v = self.value
        if isinstance(v, str) and v in _NON_FINITE:
            return _NON_FINITE[v]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error(f"expected a number, got {_describe(v)}")
        return float(v)

    def as_int(self) -> int:
        v = self.value
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(f"expected an integer, got {_describe(v)}")
        return v

    def as_bool(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"expected true or false, got {_describe(self.value)}")
        return self.value

    def as_choice(self, choices: tuple[str, ...]) -> str:
        """A string from ``choices``, matched case-insensitively and returned in canonical spelling."""
        text = self.as_str()
        for choice in choices:
            if text.lower() == choice.lower():
                return choice
        raise self.error(f"expected one of {', '.join(choices)}, got {text!r}")


def _describe(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return "an object" if isinstance(v, dict) else "an array"
    return repr(v)
