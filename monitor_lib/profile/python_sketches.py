"""The sketch fallback for Spark versions without the DataSketches aggregates (Spark 3.5, EMR 7.x).

Spark 4.1 has ``kll_sketch_agg_double`` and ``approx_top_k_accumulate``; Spark 3.5 has only
``hll_sketch_agg``. Where they are missing, the profiler keeps its native projection (the regex
classification, the numeric casts, the 64-bit hashes: ``c, s, t, d, h, bad`` per record and column)
and replaces only the aggregation: one ``mapInArrow`` over that frame builds, per partition and per
column, the same partial state the native aggregates hold — counts, sum, second central moment,
min/max, a DataSketches KLL (same ``k``), HLL (same ``lg_k``, HLL_8, fed the same xxhash64 values)
and frequent-strings sketch (the map size Spark picks for the same number of tracked items) — with
the Python ``datasketches`` library, the library that decodes the native sketches — except the KLL, which is
:class:`~monitor_lib.profile.kll.SeededKll`: DataSketches' algorithm and bytes with its coin flips seeded by
(column, partition), merged on the driver in partition order, so the same input in the same partitions gives the
same files (the native aggregates' KLL cannot be seeded; see kll.py). The driver merges the per-partition states
(one small row per partition and column). It is still one pass over the input: one Spark job, no cache, no
second scan.

The choice is made by capability detection (:func:`sketch_backend`): the functions are looked up in
the running session's function registry. ``MODEL_MONITOR_SKETCHES=python`` (or
``ProfileOptions.sketches = "python"``) forces the fallback on any Spark, ``native`` forces the
aggregates.
"""

from __future__ import annotations

import logging
import math
import os

from monitor_lib.errors import ConfigError

log = logging.getLogger(__name__)

SKETCHES_ENV = "MODEL_MONITOR_SKETCHES"
BACKENDS = ("auto", "native", "python")
# The aggregates the native path needs (hll_sketch_agg exists since Spark 3.5, the others since 4.1).
NATIVE_FUNCTIONS = ("kll_sketch_agg_double", "hll_sketch_agg", "approx_top_k_accumulate")

_probed: dict[str, tuple[str, ...]] = {}  # application id -> missing functions


def missing_functions(spark) -> tuple[str, ...]:
    """The native sketch aggregates the running Spark lacks (looked up once per application)."""
    try:
        key = spark.sparkContext.applicationId
    except Exception:  # Spark Connect has no SparkContext: remember per session object
        key = f"session-{id(spark)}"
    if key not in _probed:
        missing = []
        for name in NATIVE_FUNCTIONS:
            try:
                exists = spark.catalog.functionExists(name)
            except Exception:  # a catalog that cannot answer: treat as missing, the fallback always works
                exists = False
            if not exists:
                missing.append(name)
        _probed[key] = tuple(missing)
    return _probed[key]


def choose_backend(requested: str | None, env: str | None, missing: tuple[str, ...]) -> str:
    """``native`` or ``python``. The option wins over the environment; ``auto`` probes.

    Pure, so it is unit-tested with fake probes.
    """
    for where, value in (("ProfileOptions.sketches", requested), (SKETCHES_ENV, env)):
        if value is None or value == "":
            continue
        value = value.strip().lower()
        if value not in BACKENDS:
            raise ConfigError(f"{where} must be one of {', '.join(BACKENDS)}, got {value!r}")
        if value == "native" and missing:
            raise ConfigError(
                f"{where}=native but this Spark lacks {', '.join(missing)} (Spark 4.1+ has them); "
                f"use 'auto' or 'python' to build the sketches in Python")
        if value != "auto":
            return value
    return "python" if missing else "native"


def sketch_backend(spark, requested: str | None = None) -> str:
    """The sketch backend for this session: the option, else ``$MODEL_MONITOR_SKETCHES``, else detection."""
    requested = requested if requested not in (None, "auto") else None
    env = os.environ.get(SKETCHES_ENV)
    if requested == "python" or (requested is None and (env or "").strip().lower() == "python"):
        return choose_backend(requested, env, ())  # forced: no need to probe
    backend = choose_backend(requested, env, missing_functions(spark))
    if backend == "python":
        log.info("this Spark lacks %s: building the sketches in Python (mapInArrow + datasketches)",
                 ", ".join(missing_functions(spark)))
    return backend


def frequent_lg_map_size(max_items: int) -> int:
    """The frequent-items map size Spark's ``approx_top_k_accumulate(_, max_items)`` allocates: the smallest
    power of two whose 75 % load holds ``max_items`` (measured: 48 -> 2^6, 49 -> 2^7, 121 -> 2^8)."""
    return max(3, math.ceil(math.log2(max_items / 0.75) - 1e-12))


# --- the per-partition function (runs in the Python workers) ---------------------------------------

STATE_FIELDS = ("p", "rows", "bad", "present", "nint", "nfrac", "nbool", "ncount", "sum", "m2", "min", "max",
                "kll", "hll", "topk")


def state_schema(key_type: str) -> str:
    return (f"c {key_type}, p int, rows long, bad long, present long, nint long, nfrac long, nbool long, "
            "ncount long, sum double, m2 double, min double, max double, kll binary, hll binary, topk binary")


class _Partial:
    """One column's state within one partition."""

    __slots__ = ("rows", "bad", "present", "nint", "nfrac", "nbool", "ncount", "sum", "m2", "min", "max",
                 "kll", "hll", "topk")

    def __init__(self, kll_k: int, hll_lg_k: int, lg_map: int | None, seed: int):
        import datasketches as dsk

        from monitor_lib.profile.kll import SeededKll

        self.rows = self.bad = self.present = self.nint = self.nfrac = self.nbool = self.ncount = 0
        self.sum = self.m2 = 0.0
        self.min = self.max = None
        self.kll = SeededKll(kll_k, seed)
        self.hll = dsk.hll_sketch(hll_lg_k, dsk.tgt_hll_type.HLL_8)
        self.topk = dsk.frequent_strings_sketch(lg_map) if lg_map else None

    def update(self, s, t, d, h, bad) -> None:
        import numpy as np
        import pyarrow.compute as pc

        n = len(t)
        self.rows += n
        self.bad += n - bad.null_count
        tv = t.fill_null(0).to_numpy(zero_copy_only=False)
        self.present += n - t.null_count
        self.nint += int(np.count_nonzero(tv == 1))
        self.nfrac += int(np.count_nonzero(tv == 2))
        self.nbool += int(np.count_nonzero(tv == 3))
        dv = pc.drop_null(d).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        if len(dv):
            # Chan et al.'s parallel update of (n, sum, M2) with this batch
            n_b, sum_b = len(dv), float(np.sum(dv))
            m2_b = float(np.sum((dv - sum_b / n_b) ** 2))
            n_a = self.ncount
            if n_a:
                delta = sum_b / n_b - self.sum / n_a
                self.m2 += m2_b + delta * delta * n_a * n_b / (n_a + n_b)
            else:
                self.m2 = m2_b
            self.ncount += n_b
            self.sum += sum_b
            lo, hi = float(dv.min()), float(dv.max())
            self.min = lo if self.min is None else min(self.min, lo)
            self.max = hi if self.max is None else max(self.max, hi)
            self.kll.update(dv)
        if h.null_count < len(h):
            # HLL ignores duplicates: feed each distinct hash once (the same register state as feeding all)
            update = self.hll.update
            for x in np.unique(pc.drop_null(h).to_numpy(zero_copy_only=False)).tolist():
                update(x)
        if self.topk is not None and s.null_count < len(s):
            update = self.topk.update
            counts = pc.value_counts(pc.drop_null(s))
            for item, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                                   strict=True):
                update(item, count)

    def as_row(self, key, partition: int) -> dict:
        return {
            "c": key, "p": partition, "rows": self.rows, "bad": self.bad, "present": self.present, "nint": self.nint,
            "nfrac": self.nfrac, "nbool": self.nbool, "ncount": self.ncount, "sum": self.sum, "m2": self.m2,
            "min": self.min, "max": self.max, "kll": self.kll.serialize(),
            "hll": bytes(self.hll.serialize_updatable()),
            "topk": bytes(self.topk.serialize()) if self.topk is not None else None,
        }


def partition_states(kll_k: int, hll_lg_k: int, max_items: int | None):
    """The ``mapInArrow`` function: batches of ``(c, s, t, d, h, bad)`` -> one state row per column key."""

    lg_map = frequent_lg_map_size(max_items) if max_items else None

    def run(batches):
        import pyarrow as pa
        import pyarrow.compute as pc
        from pyspark import TaskContext

        from monitor_lib.profile.kll import stable_seed

        context = TaskContext.get()
        partition = context.partitionId() if context is not None else 0
        partials: dict = {}
        schema = None
        for batch in batches:
            if batch.num_rows == 0:
                continue
            codes = pc.dictionary_encode(batch.column("c"), null_encoding="encode")
            keys = codes.dictionary.to_pylist()
            idx = codes.indices.to_numpy(zero_copy_only=False)
            order = idx.argsort(kind="stable")
            bounds = idx[order].searchsorted(range(len(keys) + 1))
            sorted_batch = batch.take(pa.array(order))
            for j, key in enumerate(keys):
                lo, hi = int(bounds[j]), int(bounds[j + 1])
                if lo == hi:
                    continue
                part = sorted_batch.slice(lo, hi - lo)
                p = partials.get(key)
                if p is None:
                    p = partials[key] = _Partial(kll_k, hll_lg_k, lg_map, stable_seed("kll", key, partition))
                p.update(part.column("s"), part.column("t"), part.column("d"), part.column("h"),
                         part.column("bad"))
            schema = batch.schema
        if partials:
            rows = [p.as_row(k, partition) for k, p in partials.items()]
            key_type = schema.field("c").type if schema is not None else pa.int64()
            yield pa.RecordBatch.from_pylist(rows, schema=_arrow_schema(key_type))

    return run


def _arrow_schema(key_type):
    import pyarrow as pa

    longs = [(f, pa.int64()) for f in ("rows", "bad", "present", "nint", "nfrac", "nbool", "ncount")]
    doubles = [(f, pa.float64()) for f in ("sum", "m2", "min", "max")]
    blobs = [(f, pa.binary()) for f in ("kll", "hll", "topk")]
    return pa.schema([("c", key_type), ("p", pa.int32()), *longs, *doubles, *blobs])


# --- merging the partition states -----------------------------------------------------------------

# Up to this many input partitions the driver merges the state rows itself (partitions x columns small
# rows of a few KB); beyond it they are merged by column in Spark first (a groupBy/applyInPandas in the
# same job), so the driver never holds one KLL + HLL per partition and column of a large input.
DRIVER_MERGE_MAX_PARTITIONS = 64


def _merge_partials(rows, hll_lg_k: int) -> dict:
    """Merge state rows (dicts or Rows of :func:`state_schema`) by column key, in partition order (the seeded KLL
    merge depends on the order): ``{key: accumulator}``."""
    import datasketches as dsk

    from monitor_lib.profile.kll import SeededKll, stable_seed

    acc: dict = {}
    for r in sorted(rows, key=lambda r: r["p"]):
        key = r["c"]
        a = acc.get(key)
        if a is None:
            a = acc[key] = {"rows": 0, "bad": 0, "present": 0, "nint": 0, "nfrac": 0, "nbool": 0, "ncount": 0,
                            "sum": 0.0, "m2": 0.0, "min": None, "max": None, "kll": None,
                            "hll": dsk.hll_union(hll_lg_k), "topk": None}
        for f in ("rows", "bad", "present", "nint", "nfrac", "nbool"):
            a[f] += int(r[f])
        n_b = int(r["ncount"])
        if n_b:
            n_a = a["ncount"]
            if n_a:
                delta = r["sum"] / n_b - a["sum"] / n_a
                a["m2"] += r["m2"] + delta * delta * n_a * n_b / (n_a + n_b)
            else:
                a["m2"] = float(r["m2"])
            a["ncount"] += n_b
            a["sum"] += float(r["sum"])
            a["min"] = float(r["min"]) if a["min"] is None else min(a["min"], float(r["min"]))
            a["max"] = float(r["max"]) if a["max"] is None else max(a["max"], float(r["max"]))
        kll = SeededKll.deserialize(bytes(r["kll"]), stable_seed("kll-merge", key))
        if a["kll"] is None:
            a["kll"] = kll
        else:
            a["kll"].merge(kll)
        a["hll"].update(dsk.hll_sketch.deserialize(bytes(r["hll"])))
        if r["topk"] is not None:
            fi = dsk.frequent_strings_sketch.deserialize(bytes(r["topk"]))
            if a["topk"] is None:
                a["topk"] = fi
            else:
                a["topk"].merge(fi)
    return acc


def _hll_bytes(a: dict) -> bytes:
    import datasketches as dsk

    return bytes(a["hll"].get_result(dsk.tgt_hll_type.HLL_8).serialize_updatable())


def merge_states(rows, kll_k: int, hll_lg_k: int) -> dict:
    """Merge per-partition state rows by column key into one row per key shaped like the native
    aggregation's (``present_0``, ``kll_0``, …, ``rows``, ``bad``), so the profiler reads both alike."""
    out = {}
    for key, a in _merge_partials(rows, hll_lg_k).items():
        n = a["ncount"]
        row = {
            "rows": a["rows"], "bad": a["bad"], "present_0": a["present"], "nint_0": a["nint"],
            "nfrac_0": a["nfrac"], "nbool_0": a["nbool"], "ncount_0": n, "sum_0": a["sum"] if n else None,
            "min_0": a["min"], "max_0": a["max"], "var_0": a["m2"] / n if n else None, "m2_0": a["m2"],
            "kll_0": a["kll"].serialize() if a["kll"] is not None else None,
            "hll_0": _hll_bytes(a),
        }
        if a["topk"] is not None:
            row["topk_0"] = bytes(a["topk"].serialize())
        out[key] = row
    return out


def merge_by_column(hll_lg_k: int):
    """The ``applyInPandas`` function: all state rows of one column key -> one merged state row."""

    def run(pdf):
        import pandas as pd

        rows = pdf.astype(object).where(pdf.notna(), None).to_dict("records")
        out = []
        for key, a in _merge_partials(rows, hll_lg_k).items():
            out.append({
                "c": key, "p": -1, **{f: a[f] for f in ("rows", "bad", "present", "nint", "nfrac", "nbool", "ncount",
                                               "sum", "m2", "min", "max")},
                "kll": a["kll"].serialize(), "hll": _hll_bytes(a),
                "topk": bytes(a["topk"].serialize()) if a["topk"] is not None else None,
            })
        return pd.DataFrame(out, columns=["c", *STATE_FIELDS])

    return run


def aggregate_with_python(slots, opts, with_topk: bool) -> dict:
    """One Spark job over the slot frame ``(c, s, t, d, h, bad)``: per-partition states in Python, merged
    by column (in Spark for many partitions, then here). Returns ``{column key: state row}`` shaped like
    the native aggregation's rows."""
    key_type = slots.schema["c"].dataType.simpleString()
    fn = partition_states(opts.kll_k, opts.hll_lg_k, opts.max_categories + 1 if with_topk else None)
    states = slots.mapInArrow(fn, state_schema(key_type))
    if slots.rdd.getNumPartitions() > DRIVER_MERGE_MAX_PARTITIONS:
        states = states.groupBy("c").applyInPandas(merge_by_column(opts.hll_lg_k), state_schema(key_type))
    return merge_states(states.collect(), opts.kll_k, opts.hll_lg_k)
