"""Data-quality ``statistics.json``: dataclasses, a tolerant reader, a writer in the container's layout.

``None`` on an optional field means "key absent", so files of every known version (2021 without
``completeness`` / ``approximate_num_distinct_values``, 2024 with them) round-trip byte-identically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from monitor_lib.formats.jsonfmt import (
    JsonNode,
    dumps_jackson,
    json_number,
    load_json_file,
    write_json_atomic,
)


@dataclass
class KllBucket:
    lower_bound: float
    upper_bound: float
    count: float


@dataclass
class KllSketch:
    """Deequ layout: ``data[i]`` holds the items of compactor level i, each of weight 2**i."""

    data: list[list[float]]
    c: float = 0.64
    k: float = 2048.0


@dataclass
class NumericalStatistics:
    num_present: int
    num_missing: int
    mean: float
    sum: float
    std_dev: float
    min: float
    max: float
    approximate_num_distinct_values: int | None = None
    completeness: float | None = None
    buckets: list[KllBucket] | None = None
    sketch: KllSketch | None = None


@dataclass
class CategoricalBucket:
    value: str
    count: int


@dataclass
class StringStatistics:
    num_present: int
    num_missing: int
    distinct_count: float | None = None
    completeness: float | None = None
    buckets: list[CategoricalBucket] | None = None


@dataclass
class FeatureStatistics:
    name: str
    inferred_type: str
    numerical: NumericalStatistics | None = None
    string: StringStatistics | None = None


@dataclass
class DatasetStatistics:
    item_count: int
    features: list[FeatureStatistics]
    version: float = 0.0
    evaluation_time: str | None = None

    def feature(self, name: str) -> FeatureStatistics | None:
        return next((f for f in self.features if f.name == name), None)


# ---------------------------------------------------------------- reading


def _opt_float(node: JsonNode, key: str) -> float | None:
    child = node.get(key)
    return None if child is None else child.as_float()


def _parse_numerical(n: JsonNode) -> NumericalStatistics:
    common = n.req("common")
    buckets: list[KllBucket] | None = None
    sketch: KllSketch | None = None
    distribution = n.get("distribution")
    kll = None if distribution is None else distribution.get("kll")
    if kll is not None:
        if (b := kll.get("buckets")) is not None:
            buckets = [
                KllBucket(
                    i.req("lower_bound").as_float(),
                    i.req("upper_bound").as_float(),
                    i.req("count").as_float(),
                )
                for i in b.items()
            ]
        if (s := kll.get("sketch")) is not None:
            params = s.req("parameters")
            data = [[v.as_float() for v in level.items()] for level in s.req("data").items()]
            sketch = KllSketch(data, params.req("c").as_float(), params.req("k").as_float())
    distinct = n.get("approximate_num_distinct_values")
    return NumericalStatistics(
        num_present=common.req("num_present").as_int(),
        num_missing=common.req("num_missing").as_int(),
        mean=n.req("mean").as_float(),
        sum=n.req("sum").as_float(),
        std_dev=n.req("std_dev").as_float(),
        min=n.req("min").as_float(),
        max=n.req("max").as_float(),
        approximate_num_distinct_values=None if distinct is None else distinct.as_int(),
        completeness=_opt_float(n, "completeness"),
        buckets=buckets,
        sketch=sketch,
    )


def _parse_string(n: JsonNode) -> StringStatistics:
    common = n.req("common")
    buckets: list[CategoricalBucket] | None = None
    distribution = n.get("distribution")
    cat = None if distribution is None else distribution.get("categorical")
    if cat is not None and (b := cat.get("buckets")) is not None:
        buckets = [CategoricalBucket(i.req("value").as_str(), i.req("count").as_int()) for i in b.items()]
    return StringStatistics(
        num_present=common.req("num_present").as_int(),
        num_missing=common.req("num_missing").as_int(),
        distinct_count=_opt_float(n, "distinct_count"),
        completeness=_opt_float(n, "completeness"),
        buckets=buckets,
    )


def parse_statistics(d: Any, source: str = "statistics.json") -> DatasetStatistics:
    """Typed statistics from a parsed JSON value; FormatError names ``source`` and the key path."""
    root = JsonNode(d, "", source)
    dataset = root.req("dataset")
    features = []
    for f in root.req("features").items():
        num, text = f.get("numerical_statistics"), f.get("string_statistics")
        features.append(
            FeatureStatistics(
                name=f.req("name").as_str(),
                inferred_type=f.req("inferred_type").as_str(),
                numerical=None if num is None else _parse_numerical(num),
                string=None if text is None else _parse_string(text),
            )
        )
    version = root.get("version")
    evaluation_time = dataset.get("evaluation_time")
    return DatasetStatistics(
        item_count=dataset.req("item_count").as_int(),
        features=features,
        version=0.0 if version is None else version.as_float(),
        evaluation_time=None if evaluation_time is None else evaluation_time.as_str(),
    )


def read_statistics(path: str | os.PathLike[str]) -> DatasetStatistics:
    return parse_statistics(load_json_file(path), str(path))


# ---------------------------------------------------------------- writing


def _common(num_present: int, num_missing: int) -> dict[str, Any]:
    return {"common": {"num_present": int(num_present), "num_missing": int(num_missing)}}


def _numerical_to_dict(n: NumericalStatistics) -> dict[str, Any]:
    d = _common(n.num_present, n.num_missing)
    for key in ("mean", "sum", "std_dev", "min", "max"):
        d[key] = json_number(getattr(n, key))
    if n.approximate_num_distinct_values is not None:
        d["approximate_num_distinct_values"] = n.approximate_num_distinct_values
    if n.completeness is not None:
        d["completeness"] = json_number(n.completeness)
    kll: dict[str, Any] = {}
    if n.buckets is not None:
        kll["buckets"] = [
            {
                "lower_bound": json_number(b.lower_bound),
                "upper_bound": json_number(b.upper_bound),
                "count": float(b.count),
            }
            for b in n.buckets
        ]
    if n.sketch is not None:
        kll["sketch"] = {
            "parameters": {"c": float(n.sketch.c), "k": float(n.sketch.k)},
            "data": [[float(v) for v in level] for level in n.sketch.data],
        }
    if kll:
        d["distribution"] = {"kll": kll}
    return d


def _string_to_dict(s: StringStatistics) -> dict[str, Any]:
    d = _common(s.num_present, s.num_missing)
    if s.distinct_count is not None:
        d["distinct_count"] = float(s.distinct_count)
    if s.completeness is not None:
        d["completeness"] = json_number(s.completeness)
    if s.buckets is not None:
        d["distribution"] = {
            "categorical": {"buckets": [{"value": b.value, "count": int(b.count)} for b in s.buckets]}
        }
    return d


def statistics_to_dict(s: DatasetStatistics) -> dict[str, Any]:
    dataset: dict[str, Any] = {"item_count": s.item_count}
    if s.evaluation_time is not None:
        dataset["evaluation_time"] = s.evaluation_time
    features = []
    for f in s.features:
        fd: dict[str, Any] = {"name": f.name, "inferred_type": f.inferred_type}
        if f.numerical is not None:
            fd["numerical_statistics"] = _numerical_to_dict(f.numerical)
        if f.string is not None:
            fd["string_statistics"] = _string_to_dict(f.string)
        features.append(fd)
    return {"version": float(s.version), "dataset": dataset, "features": features}


def write_statistics(s: DatasetStatistics, path: str | os.PathLike[str]) -> None:
    write_json_atomic(path, dumps_jackson(statistics_to_dict(s)))
