"""The analyzer image's Dockerfile as data: its instructions, what it COPYs, its ENV and ENTRYPOINT, and
the .dockerignore rules. No Docker engine is needed: the tests check the file and run its ENTRYPOINT
with its ENV on this machine (tests/integration/test_container_contract.py)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ENV, ...
    args: str  # the rest of the (continued) line
    line: int


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped."""
    out, buf, start = [], "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):  # a comment inside a continued instruction
            continue
        if not buf:
            start = number
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        keyword, _, args = buf.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
        buf = ""
    assert not buf, f"{path}: the last instruction ends with a line continuation"
    return out


def copies(path: Path = DOCKERFILE) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY/ADD from the build context (not --from another stage)."""
    result = []
    for ins in instructions(path):
        if ins.keyword not in ("COPY", "ADD"):
            continue
        words = json.loads(ins.args) if ins.args.startswith("[") else shlex.split(ins.args)
        if any(w.startswith("--from") for w in words):
            continue
        words = [w for w in words if not w.startswith("--")]
        result.append((words[:-1], words[-1]))
    return result


def env(path: Path = DOCKERFILE) -> dict[str, str]:
    """The image's ENV (``KEY=value`` form; ``$VAR`` references to earlier ENV values expanded)."""
    values: dict[str, str] = {}
    for ins in instructions(path):
        if ins.keyword != "ENV":
            continue
        for word in shlex.split(ins.args):
            key, sep, value = word.partition("=")
            assert sep, f"Dockerfile line {ins.line}: use ENV KEY=value, got {word!r}"
            values[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), ""), value)
    return values


def entrypoint(path: Path = DOCKERFILE) -> list[str]:
    found = [ins for ins in instructions(path) if ins.keyword == "ENTRYPOINT"]
    assert len(found) == 1, "the Dockerfile must have exactly one ENTRYPOINT"
    assert found[0].args.startswith("["), "ENTRYPOINT must use the exec (JSON) form: signals reach the analyzer"
    return json.loads(found[0].args)


def repo_file_for(image_path: str, path: Path = DOCKERFILE) -> Path:
    """The repository file the Dockerfile COPYs to ``image_path`` in the image."""
    for sources, dest in copies(path):
        if dest == image_path and len(sources) == 1:
            return REPO / sources[0]
    raise AssertionError(f"nothing in the Dockerfile is copied to {image_path}")


def _pattern_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern (Go filepath.Match plus ``**``) as a regular expression."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif c == "*":
            out, i = out + "[^/]*", i + 1
        elif c == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(c), i + 1
    return re.compile(out + r"\Z")


def dockerignored(relative: str, path: Path = REPO / ".dockerignore") -> bool:
    """Whether the build context leaves ``relative`` out: the last matching rule wins, and a rule that
    matches a parent folder matches everything below it."""
    rules = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        rules.append((negate, _pattern_regex(line.lstrip("!").strip("/"))))
    parts = relative.strip("/").split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for negate, regex in rules:
        if any(regex.match(p) for p in prefixes):
            ignored = not negate
    return ignored
