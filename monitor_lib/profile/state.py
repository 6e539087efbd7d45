"""Mergeable profile state: exact counts and moments plus native DataSketches sketch bytes.

Every part merges associatively, so ``merge(profile(A), profile(B))`` is the profile of ``A ∪ B``:
exactly for counts, sums, min/max, mean and standard deviation (Chan et al.'s parallel update of the
second central moment), and within each sketch's error for quantiles and distinct counts. This is
what makes roll-ups and backfills cheap. The state is written as ``profile.json`` next to
statistics.json; sketch bytes are the DataSketches serialisations Spark produced, base64-encoded.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field, replace

import datasketches as ds

from monitor_lib.errors import FormatError, InputError
from monitor_lib.profile.kll import merge_kll_bytes, stable_seed
from monitor_lib.profile.sketches import frequent_from_bytes, hll_from_bytes
from monitor_lib.profile.types import decide_type

PROFILE_FORMAT = "spark-model-monitor/profile"
PROFILE_VERSION = 1
PROFILE_FILE_NAME = "profile.json"


@dataclass
class ColumnState:
    name: str
    source_type: str  # the Spark type the column was read as: string, integral, fractional, boolean, other
    present: int = 0  # non-null values
    n_integral: int = 0  # values classified Integral / Fractional / Boolean (the rest are String)
    n_fractional: int = 0
    n_boolean: int = 0
    num_count: int = 0  # numeric values seen (Integral + Fractional)
    num_sum: float = 0.0
    num_m2: float = 0.0  # sum of squared deviations from the mean
    num_min: float | None = None
    num_max: float | None = None
    kll: bytes | None = None  # DataSketches KLL (doubles) of the numeric values
    hll: bytes | None = None  # DataSketches HLL of the values' 64-bit hashes
    frequent: bytes | None = None  # DataSketches frequent-items (strings) of string values; None for typed numbers

    @property
    def num_mean(self) -> float:
        return self.num_sum / self.num_count if self.num_count else 0.0

    @property
    def deequ_type(self) -> str:
        return decide_type(self.present, self.n_integral, self.n_fractional, self.n_boolean)


@dataclass
class Profile:
    item_count: int  # records profiled (malformed records excluded)
    columns: list[ColumnState]
    rejected: dict[str, int] = field(default_factory=dict)  # malformed records by kind
    kll_k: int = 2048
    hll_lg_k: int = 14
    max_categories: int = 120

    def column(self, name: str) -> ColumnState:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


# --- merge -------------------------------------------------------------------------------------

def _merge_moments(a: ColumnState, b: ColumnState) -> tuple[float, float]:
    n_a, n_b = a.num_count, b.num_count
    if n_a == 0:
        return b.num_sum, b.num_m2
    if n_b == 0:
        return a.num_sum, a.num_m2
    n = n_a + n_b
    delta = b.num_mean - a.num_mean
    return a.num_sum + b.num_sum, a.num_m2 + b.num_m2 + delta * delta * n_a * n_b / n


def _opt(fn, x, y):
    return y if x is None else x if y is None else fn(x, y)


def _merge_kll(x: bytes | None, y: bytes | None) -> bytes | None:
    """The seeded KLL merge: merging the same profiles gives the same bytes (kll.py says why DataSketches' does not)."""
    if not x or not y:
        return x or y
    return merge_kll_bytes([x, y], stable_seed("profile-merge"))


def _merge_hll(x: bytes | None, y: bytes | None, lg_k: int) -> bytes | None:
    if not x or not y:
        return x or y
    u = ds.hll_union(lg_k)
    u.update(hll_from_bytes(x))
    u.update(hll_from_bytes(y))
    return bytes(u.get_result(ds.tgt_hll_type.HLL_8).serialize_compact())


def _merge_frequent(x: bytes | None, y: bytes | None) -> bytes | None:
    if not x or not y:
        return x or y
    s = frequent_from_bytes(x)
    s.merge(frequent_from_bytes(y))
    return bytes(s.serialize())


def merge_columns(a: ColumnState, b: ColumnState, hll_lg_k: int) -> ColumnState:
    total, m2 = _merge_moments(a, b)
    # A column read as a string on one side and as typed numbers on the other has no frequent-items
    # state for part of its values: drop it rather than report incomplete categories.
    both_strings = (a.frequent is not None or a.present == 0) and (b.frequent is not None or b.present == 0)
    return ColumnState(
        name=a.name,
        source_type=a.source_type if a.source_type == b.source_type else "mixed",
        present=a.present + b.present,
        n_integral=a.n_integral + b.n_integral,
        n_fractional=a.n_fractional + b.n_fractional,
        n_boolean=a.n_boolean + b.n_boolean,
        num_count=a.num_count + b.num_count,
        num_sum=total,
        num_m2=m2,
        num_min=_opt(min, a.num_min, b.num_min),
        num_max=_opt(max, a.num_max, b.num_max),
        kll=_merge_kll(a.kll, b.kll),
        hll=_merge_hll(a.hll, b.hll, hll_lg_k),
        frequent=_merge_frequent(a.frequent, b.frequent) if both_strings else None,
    )


def merge_profiles(a: Profile, b: Profile) -> Profile:
    """The profile of the union of the two datasets. Columns missing on one side count as missing there."""
    if (a.kll_k, a.hll_lg_k) != (b.kll_k, b.hll_lg_k):
        raise InputError(
            f"cannot merge profiles built with different sketch sizes: kll_k {a.kll_k} vs {b.kll_k}, "
            f"hll_lg_k {a.hll_lg_k} vs {b.hll_lg_k}"
        )
    by_name = {c.name: c for c in b.columns}
    merged = []
    for col in a.columns:
        other = by_name.pop(col.name, None)
        merged.append(merge_columns(col, other, a.hll_lg_k) if other else replace(col))
    merged.extend(replace(c) for c in b.columns if c.name in by_name)
    rejected = dict(a.rejected)
    for kind, n in b.rejected.items():
        rejected[kind] = rejected.get(kind, 0) + n
    return Profile(a.item_count + b.item_count, merged, rejected, a.kll_k, a.hll_lg_k, a.max_categories)


def bounded_profile(p: Profile, left_out: list[str]) -> Profile:
    """``p`` without the columns named in ``left_out`` (the extra columns beyond the cap a monitoring run writes)."""
    if not left_out:
        return p
    drop = set(left_out)
    return replace(p, columns=[c for c in p.columns if c.name not in drop])


# --- serialisation ------------------------------------------------------------------------------

_BYTES = ("kll", "hll", "frequent")


def profile_to_dict(p: Profile) -> dict:
    cols = []
    for c in p.columns:
        d = asdict(c)
        for k in _BYTES:
            d[k] = base64.b64encode(d[k]).decode("ascii") if d[k] else None
        cols.append(d)
    return {
        "format": PROFILE_FORMAT,
        "version": PROFILE_VERSION,
        "item_count": p.item_count,
        "rejected": p.rejected,
        "parameters": {"kll_k": p.kll_k, "hll_lg_k": p.hll_lg_k, "max_categories": p.max_categories},
        "columns": cols,
    }


def profile_from_dict(d: dict, path: str = "<profile>") -> Profile:
    if not isinstance(d, dict):
        raise FormatError(path, "", f"not a profile state file (a JSON {type(d).__name__}, expected an object)")
    if d.get("format") != PROFILE_FORMAT:
        raise FormatError(path, "format", f"not a profile state file (format {d.get('format')!r}, "
                          f"expected {PROFILE_FORMAT!r})")
    if d.get("version") != PROFILE_VERSION:
        raise FormatError(path, "version", f"profile state version {d.get('version')!r} is not supported "
                          f"(expected {PROFILE_VERSION})")
    cols = []
    for i, c in enumerate(d.get("columns", [])):
        try:
            c = dict(c)
            for k in _BYTES:
                c[k] = base64.b64decode(c[k]) if c.get(k) else None
            cols.append(ColumnState(**c))
        except (TypeError, ValueError) as e:
            raise FormatError(path, f"columns[{i}]", f"not a valid column state: {e}") from None
    params = d.get("parameters", {})
    try:
        return Profile(int(d["item_count"]), cols, dict(d.get("rejected", {})), int(params.get("kll_k", 2048)),
                       int(params.get("hll_lg_k", 14)), int(params.get("max_categories", 120)))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise FormatError(path, "", f"not a valid profile state: {type(e).__name__}: {e}") from None


def write_profile(p: Profile, path: str) -> None:
    from monitor_lib.formats.jsonfmt import write_json_atomic

    write_json_atomic(path, json.dumps(profile_to_dict(p), indent=1, ensure_ascii=False))


def read_profile(path: str) -> Profile:
    """A profile state file (``profile.json``), local or ``s3://``."""
    from monitor_lib.io.storage import read_text

    try:
        doc = json.loads(read_text(path, "profile"))
    except (OSError, json.JSONDecodeError) as e:
        raise FormatError(path, "", f"cannot read profile state: {e}") from None
    return profile_from_dict(doc, path)
