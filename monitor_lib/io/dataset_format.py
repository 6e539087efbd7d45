"""SageMaker's ``dataset_format`` parameter, parsed once into a small value every reader takes."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from monitor_lib.errors import ConfigError

CAPTURE_INDEX_NAMES = ("endpointInput", "endpointOutput")  # the image's default captureIndexNames


@dataclass(frozen=True)
class DatasetFormat:
    """SageMaker's ``dataset_format``: ``{"csv": {"header": true}}``, ``{"json": {"lines": true}}``,
    ``{"parquet": {}}`` or, for monitoring runs, ``{"sagemakerCaptureJson": {"captureIndexNames": [...]}}``."""

    kind: str  # csv | json | parquet | capture | merge (sagemakerMergeJson: capture records + groundTruthData)
    header: bool = False  # csv
    lines: bool = True  # json
    output_columns_position: str = "START"  # csv and capture: model outputs are the first (START) or last columns
    capture_index_names: tuple[str, ...] = CAPTURE_INDEX_NAMES  # capture: which parts of captureData
    options: tuple[tuple[str, Any], ...] = ()  # a registered format's options, as given (register_format)

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name.lower(), default)

    @staticmethod
    def parse(value: str | dict[str, Any] | None, field_name: str = "dataset_format") -> DatasetFormat:
        if value is None or value == "":
            raise ConfigError(
                f"{field_name} is required, e.g. '{{\"csv\": {{\"header\": true}}}}', "
                "'{\"json\": {\"lines\": true}}' or '{\"parquet\": {}}'"
            )
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                raise ConfigError(f"{field_name} is not valid JSON ({e.msg}): {value!r}") from None
        if not isinstance(value, dict) or len(value) != 1:
            raise ConfigError(
                f"{field_name} must be a JSON object with exactly one format key (csv, json or parquet); got {value!r}"
            )
        (key, opts), = value.items()
        kind = key.lower()
        opts = opts or {}
        if not isinstance(opts, dict):
            raise ConfigError(f"{field_name}.{key} must be an object of options, got {opts!r}")
        lowered = {k.lower(): v for k, v in opts.items()}
        if kind == "csv":
            pos = str(lowered.get("output_columns_position", "START")).upper()
            if pos not in ("START", "END"):
                raise ConfigError(f"{field_name}.csv.output_columns_position must be START or END, got {pos!r}")
            return DatasetFormat("csv", header=as_bool(lowered.get("header", False), f"{field_name}.csv.header"),
                                 output_columns_position=pos)
        if kind == "json":
            lines = lowered.get("lines", lowered.get("line", True))
            return DatasetFormat("json", lines=as_bool(lines, f"{field_name}.json.lines"))
        if kind == "parquet":
            return DatasetFormat("parquet")
        if kind in _REGISTERED:
            return DatasetFormat(kind, options=tuple(sorted(lowered.items())))
        if kind in ("sagemakercapturejson", "sagemakermergejson"):
            default_names = list(CAPTURE_INDEX_NAMES) if kind == "sagemakercapturejson" else ["endpointOutput"]
            names = lowered.get("captureindexnames", default_names)
            if (not isinstance(names, list) or not names
                    or any(n not in CAPTURE_INDEX_NAMES for n in names) or len(set(names)) != len(names)):
                raise ConfigError(
                    f"{field_name}.{key}.captureIndexNames must be a non-empty list of distinct values from "
                    f"{list(CAPTURE_INDEX_NAMES)}, got {names!r}"
                )
            pos = str(lowered.get("output_columns_position", "START")).upper()
            if pos not in ("START", "END"):
                raise ConfigError(f"{field_name}.{key}.output_columns_position must be START or END, got {pos!r}")
            return DatasetFormat("capture" if kind == "sagemakercapturejson" else "merge",
                                 output_columns_position=pos, capture_index_names=tuple(names))
        raise ConfigError(
            f"{field_name}: unsupported format {key!r}; use csv, json, parquet, sagemakerCaptureJson "
            "or (model quality) sagemakerMergeJson"
        )

    def with_output_columns_position(self, position: str | None) -> DatasetFormat:
        if position is None or position == "":
            return self
        pos = str(position).upper()
        if pos not in ("START", "END"):
            raise ConfigError(f"output_columns_position must be START or END, got {position!r}")
        return replace(self, output_columns_position=pos)


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(f"{name} must be true or false, got {value!r}")


_REGISTERED: set[str] = set()  # plug-in dataset formats (lower-cased dataset_format keys)


def register_format(key: str) -> str:
    """Accept ``{"<key>": {options}}`` as a ``dataset_format``: a plug-in input format, read by the reader
    registered for it (:func:`monitor_lib.io.readers.register_reader`). Returns the format's kind."""
    kind = key.lower()
    _REGISTERED.add(kind)
    return kind
