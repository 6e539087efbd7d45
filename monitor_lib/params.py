"""Parameters declared once.

A monitor's parameters are a frozen dataclass whose fields are declared with :func:`param`: the SageMaker
environment name (which is also the YAML key), the command-line flag, the parser, the default and the help.
Everything else is derived from the declarations:

* :func:`from_params` — flat parameters (the SageMaker environment / ``processingjobconfig.json``, a YAML file
  or command-line flags) → the typed dataclass: each value parsed by its field's parser, required fields
  checked, unknown keys refused (YAML, flags) or passed through (the SageMaker environment: custom keys are
  the scripts' environment);
* :func:`add_flags` / :func:`params_from_args` — the argparse flags and the flat parameters they give;
* :func:`read_yaml` — a ``--config`` YAML file, its keys checked against the declarations;
* :func:`reference_rows` — the rows of the configuration reference page (``scripts/gen_reference.py``).

Values are parsed the same way whatever their source: a flag's text, a YAML scalar or an environment string.
Cross-field rules (``start_time`` before ``end_time``, a probability needs a threshold, …) stay in the
dataclass's ``__post_init__``, which every construction runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from monitor_lib.errors import ConfigError

Parser = Callable[[Any, str], Any]  # (raw value, its name) -> value; raises ConfigError naming it


@dataclass(frozen=True)
class Param:
    """One declared parameter."""

    env: str  # SageMaker environment name; also the YAML key
    flag: str  # command-line flag, e.g. --dataset
    help: str
    parse: Parser
    required: bool = False
    choices: tuple[str, ...] | None = None
    switch: bool = False  # a flag without a value (store_true) giving ``switch_value``
    switch_value: str = "Enabled"
    default_text: str = ""  # the default as the reference page shows it (when not the field's default)
    group: str = ""  # the flags' section in --help and in the reference
    # a path the run reads or writes, checked before any work (monitor_lib.preflight): "input" (a file or a
    # folder that must exist and be readable), "input_file" (a file), "output" (a folder that can be created
    # or written); "" for anything else. s3:// URIs are checked when used.
    path: str = ""


PATH_KINDS = ("", "input", "input_file", "output")

PARAM_KEY = "model_monitor_param"


def param(env: str, help: str, *, flag: str | None = None, parse: Parser | None = None, default: Any = None,
          required: bool = False, choices: Iterable[str] | None = None, switch: bool = False,
          switch_value: str = "Enabled", default_text: str = "", group: str = "", path: str = "") -> Any:
    """A dataclass field declared as a parameter. ``flag`` defaults to ``--`` + the lower-cased environment
    name with dashes; ``parse`` to text (``choices`` given: one of them); ``path`` says whether the value is a
    path the run reads or writes (see :attr:`Param.path`)."""
    if path not in PATH_KINDS:
        raise ValueError(f"param {env}: path must be one of {PATH_KINDS}, got {path!r}")
    choices = tuple(choices) if choices is not None else None
    if parse is None:
        parse = one_of(choices) if choices else text
    spec = Param(env=env, flag=flag or "--" + env.lower().replace("_", "-"), help=help, parse=parse,
                 required=required, choices=choices, switch=switch, switch_value=switch_value,
                 default_text=default_text, group=group, path=path)
    return field(default=default, metadata={PARAM_KEY: spec})


def declared(cls) -> list[tuple[str, Param]]:
    """``(field name, declaration)`` of every declared field of a parameter dataclass, in order."""
    return [(f.name, f.metadata[PARAM_KEY]) for f in fields(cls) if PARAM_KEY in f.metadata]


def env_names(cls) -> list[str]:
    return [p.env for _, p in declared(cls)]


# ---------------------------------------------------------------- parsers


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def text(value: Any, name: str) -> str:
    if isinstance(value, dict | list):
        raise ConfigError(f"{name} must be a text value, got {value!r}")
    return str(value)


def integer(lo: int | None = None, hi: int | None = None) -> Parser:
    def parse(value: Any, name: str) -> int:
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be an integer, got {value!r}") from None
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise ConfigError(f"{name} must be between {lo} and {hi}, got {number}")
        return number

    return parse


def number(value: Any, name: str) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        result = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(result):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return result


def enabled(value: Any, name: str) -> bool:
    """SageMaker's ``Enabled`` / ``Disabled`` (``true`` / ``false`` too)."""
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("enabled", "true"):
        return True
    if lowered in ("disabled", "false"):
        return False
    raise ConfigError(f"{name} must be Enabled or Disabled, got {value!r}")


def one_of(choices: Iterable[str], case_insensitive: bool = False) -> Parser:
    options = tuple(choices)

    def parse(value: Any, name: str) -> str:
        given = str(value).strip()
        for option in options:
            if given == option or (case_insensitive and given.lower() == option.lower()):
                return option
        raise ConfigError(f"{name} must be one of {', '.join(options)}, got {value!r}")

    return parse


def json_text(value: Any, name: str) -> str:
    """A JSON value given as text, or (YAML) as a mapping / list: kept as JSON text."""
    return json.dumps(value) if isinstance(value, dict | list) else text(value, name)


def existing_file(value: Any, name: str) -> str:
    """A path that must be a file (``s3://`` URIs are checked when read)."""
    from monitor_lib.io.uri import is_s3

    path = text(value, name)
    if not is_s3(path) and not os.path.isfile(path):
        raise ConfigError(f"{name} {path} does not exist or is not a file")
    return path


# ---------------------------------------------------------------- building


def from_params(cls, raw: dict[str, Any], source: str, strict: bool = True, **given: Any):
    """The parameter dataclass ``cls`` from flat parameters named by their SageMaker environment names.

    ``strict``: an unknown key is an error naming it and the known ones (YAML, flags); otherwise unknown keys
    are left out (the SageMaker environment carries custom keys for the scripts). ``given`` are typed values
    set directly (no parsing). Every error names the field and ``source``.
    """
    specs = declared(cls)
    known = {p.env for _, p in specs}
    raw = completed(cls, raw)
    if strict:
        unknown = sorted(k for k in raw if k not in known)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    values: dict[str, Any] = dict(given)
    for name, spec in specs:
        if name in values:
            continue
        value = raw.get(spec.env)
        if _empty(value):
            if spec.required:
                raise _required(spec, source)
            continue
        try:
            values[name] = spec.parse(value, spec.env)
        except ConfigError as e:
            raise ConfigError(f"{e} ({source})") from None
    try:
        return cls(**values)
    except ConfigError as e:
        raise ConfigError(f"{e} ({source})") from None


def completed(cls, raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with the defaults that depend on other parameters (the class's ``complete_params``, if any)."""
    complete = getattr(cls, "complete_params", None)
    return complete(dict(raw)) if complete is not None else raw


def _required(spec: Param, source: str | None = None) -> ConfigError:
    where = f"{source}; flag {spec.flag}" if source else f"flag {spec.flag}"
    return ConfigError(f"{spec.env} is required ({where}): {spec.help}")


def check_required(obj) -> None:
    """``__post_init__`` of a parameter dataclass built directly: every required field is set."""
    for name, spec in declared(type(obj)):
        if spec.required and _empty(getattr(obj, name)):
            raise _required(spec)


def to_params(obj) -> dict[str, Any]:
    """The flat parameters (SageMaker names) of a parameter dataclass, values as given (None left out)."""
    return {spec.env: getattr(obj, name) for name, spec in declared(type(obj)) if getattr(obj, name) is not None}


# ---------------------------------------------------------------- edges: argparse, YAML


def add_flags(parser: argparse.ArgumentParser, cls, skip: Iterable[str] = ()) -> None:
    """One argparse flag per declared field (dest = the SageMaker name, absent unless given)."""
    skipped = set(skip)
    groups: dict[str, Any] = {}
    for _, spec in declared(cls):
        if spec.env in skipped:
            continue
        target = parser
        if spec.group:
            target = groups.setdefault(spec.group, parser.add_argument_group(spec.group))
        help_text = spec.help + (f" (default {spec.default_text})" if spec.default_text else "")
        if spec.switch:
            target.add_argument(spec.flag, dest=spec.env, action="store_const", const=spec.switch_value,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            target.add_argument(spec.flag, dest=spec.env, default=argparse.SUPPRESS, metavar=_metavar(spec),
                                help=help_text)


def _metavar(spec: Param) -> str:
    if spec.choices:
        return "{" + ",".join(spec.choices) + "}"
    return spec.env.upper()


def params_from_args(args: argparse.Namespace, cls) -> dict[str, Any]:
    """The declared parameters given as flags, by SageMaker name."""
    given = vars(args)
    return {spec.env: given[spec.env] for _, spec in declared(cls) if spec.env in given}


def read_yaml(path: str, known: Iterable[str]) -> dict[str, Any]:
    """A ``--config`` YAML file: a mapping whose keys must be among ``known``."""
    import yaml

    from monitor_lib.errors import InputError
    from monitor_lib.io.storage import read_text

    try:
        doc = yaml.safe_load(read_text(path, "--config")) or {}
    except OSError as e:
        raise ConfigError(f"--config {path} cannot be read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"--config {path} is not UTF-8 text (byte {e.start})") from None
    except InputError as e:  # s3://
        raise ConfigError(str(e)) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"--config {path} is not valid YAML: {' '.join(str(e).split())}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"--config {path} must be a mapping of settings, got {type(doc).__name__}")
    names = set(known)
    unknown = sorted(str(k) for k in doc if k not in names)
    if unknown:
        raise ConfigError(f"--config {path}: unknown key(s) {', '.join(unknown)}; "
                          f"known keys: {', '.join(sorted(names))}")
    return doc


# ---------------------------------------------------------------- reference page


def reference_rows(cls) -> list[tuple[str, str, str, str, str]]:
    """``(SageMaker / YAML name, flag, required or default, choices, help)`` of each declared field."""
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    rows = []
    for name, spec in declared(cls):
        if spec.default_text:  # a default derived from other parameters, or how the field's default reads
            default = spec.default_text
        elif spec.required:
            default = "required"
        elif defaults.get(name) is not None:
            default = str(defaults[name])
        else:
            default = ""
        flag = spec.flag + ("" if spec.switch else f" {_metavar(spec)}")
        rows.append((spec.env, flag, default, ", ".join(spec.choices or ()), spec.help))
    return rows
