"""The one-pass profiler: one Spark aggregation computes every column's mergeable state.

Each column is normalised to four per-row values (a *slot*):

* ``s`` — the value as a string (null for typed numeric columns), classified by Deequ's regexes,
* ``t`` — its class code (1 Integral, 2 Fractional, 3 Boolean, 4 String; null when missing),
* ``d`` — the value as a double when it is numeric,
* ``h`` — a 64-bit hash of the value (input of the HLL distinct count).

The same aggregate expressions run over every slot: counts per class, count/sum/min/max/population
variance of ``d``, ``kll_sketch_agg_double(d)``, ``hll_sketch_agg(h)`` and
``approx_top_k_accumulate(s)``. Narrow tables aggregate all slots in one global ``agg``. Very wide
tables are cut into groups of slots and each row is exploded once per group before a single
``groupBy``, so Spark plans a bounded number of aggregate expressions and still reads the input
once. Nothing leaves Spark but one small row of states per group.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from monitor_lib.config import ProfileOptions
from monitor_lib.errors import UnreadableInputError
from monitor_lib.io.readers import Dataset
from monitor_lib.profile import types as ty
from monitor_lib.profile.state import ColumnState, Profile

log = logging.getLogger(__name__)

# Up to this many columns use one global aggregation; wider tables use groups of this many slots.
# Chosen with scripts/benchmark.py (see BENCHMARKS.md).
WIDE_AGG_MAX_COLUMNS = 200
SLOTS_PER_GROUP = 100
REJECTED_SAMPLE_SIZE = 20

_STRINGISH = ("string", "boolean", "other", "complex")


@dataclass
class ProfileRun:
    profile: Profile
    rejected_sample: list[dict] = field(default_factory=list)  # {"kind", "file", "record"}
    seconds: float = 0.0
    strategy: str = ""


def source_type(dtype) -> str:
    from pyspark.sql import types as T

    if isinstance(dtype, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return "integral"
    if isinstance(dtype, (T.FloatType, T.DoubleType, T.DecimalType)):
        return "fractional"
    if isinstance(dtype, T.BooleanType):
        return "boolean"
    if isinstance(dtype, T.StringType):
        return "string"
    if isinstance(dtype, (T.StructType, T.ArrayType, T.MapType)):
        return "complex"
    return "other"


def _string_of(col, kind: str):
    from pyspark.sql import functions as F

    if kind == "complex":
        return F.to_json(col)  # nested values are profiled as their JSON text
    return col.cast("string")  # string; boolean -> "true"/"false"; dates, timestamps, binary as text


def _slot_frame(ds: Dataset, kinds: list[str]):
    """Project the input to slot columns s{i}, t{i}, d{i}, h{i} (+ ``bad``), in two projections so the
    regex classification is evaluated once per value and reused by ``d`` and ``h``."""
    from pyspark.sql import functions as F

    df = ds.df
    valid = df[ds.corrupt_column].isNull() if ds.corrupt_column else None
    first = []
    for i, (name, kind) in enumerate(zip(ds.internal_names, kinds, strict=True)):
        c = df[name] if valid is None else F.when(valid, df[name])
        if kind in ("integral", "fractional"):
            d = c.cast("double")
            d = F.when(~F.isnan(d) & (F.abs(d) != F.lit(float("inf"))), d)  # NaN / ±Inf count as missing
            first.append(d.alias(f"d{i}"))
        else:
            first.append(_string_of(c, kind).alias(f"s{i}"))
    bad = df[ds.corrupt_column] if ds.corrupt_column else F.lit(None).cast("string")
    step1 = df.select(*first, bad.alias("bad"))

    second = []
    for i, kind in enumerate(kinds):
        if kind in ("integral", "fractional"):
            d = F.col(f"d{i}")
            code = ty.INTEGRAL if kind == "integral" else ty.FRACTIONAL
            second += [F.lit(None).cast("string").alias(f"s{i}"), F.when(d.isNotNull(), F.lit(code)).alias(f"t{i}"),
                       d.alias(f"d{i}"), F.when(d.isNotNull(), F.xxhash64(d)).alias(f"h{i}")]
        else:
            s = F.col(f"s{i}")
            t = (
                F.when(s.isNull(), F.lit(None).cast("int"))
                .when(s.rlike(ty.INTEGRAL_REGEX), F.lit(ty.INTEGRAL))
                .when(s.rlike(ty.FRACTIONAL_REGEX), F.lit(ty.FRACTIONAL))
                .when(s.rlike(ty.BOOLEAN_REGEX), F.lit(ty.BOOLEAN))
                .otherwise(F.lit(ty.STRING))
            )
            second += [s.alias(f"s{i}"), t.alias(f"t{i}"), F.when(s.isNotNull(), F.xxhash64(s)).alias(f"h{i}")]
    step2 = step1.select(*second, "bad")

    third = []
    for i, kind in enumerate(kinds):
        if kind in ("integral", "fractional"):
            third += [f"s{i}", f"t{i}", f"d{i}", f"h{i}"]
        else:
            t = F.col(f"t{i}")
            # Deequ's regexes allow one space after the sign ("- 5"); Spark's cast does not.
            d = F.when(t <= ty.FRACTIONAL, F.regexp_replace(F.col(f"s{i}"), " ", "").try_cast("double"))
            third += [f"s{i}", f"t{i}", d.alias(f"d{i}"), f"h{i}"]
    return step2.select(*third, "bad")


def _slot_aggs(j: int, s, t, d, h, opts: ProfileOptions, with_topk: bool) -> list:
    from pyspark.sql import functions as F

    aggs = [
        F.count(t).alias(f"present_{j}"),
        F.count(F.when(t == ty.INTEGRAL, 1)).alias(f"nint_{j}"),
        F.count(F.when(t == ty.FRACTIONAL, 1)).alias(f"nfrac_{j}"),
        F.count(F.when(t == ty.BOOLEAN, 1)).alias(f"nbool_{j}"),
        F.count(d).alias(f"ncount_{j}"),
        F.sum(d).alias(f"sum_{j}"),
        F.min(d).alias(f"min_{j}"),
        F.max(d).alias(f"max_{j}"),
        F.var_pop(d).alias(f"var_{j}"),
        F.kll_sketch_agg_double(d, F.lit(opts.kll_k)).alias(f"kll_{j}"),
        F.hll_sketch_agg(h, F.lit(opts.hll_lg_k)).alias(f"hll_{j}"),
    ]
    if with_topk:
        # The frequent-items sketch is exact while it holds every distinct value; max_categories + 1
        # tracked items make it exact for every column that may get categorical buckets.
        topk = F.call_function("approx_top_k_accumulate", s, F.lit(opts.max_categories + 1))
        aggs.append(topk.getField("sketch").alias(f"topk_{j}"))
    return aggs


def _state(name: str, kind: str, row, j: int) -> ColumnState:
    n_num = row[f"ncount_{j}"] or 0
    var = row[f"var_{j}"]
    topk = row[f"topk_{j}"] if f"topk_{j}" in row.__fields__ else None
    return ColumnState(
        name=name,
        source_type=kind,
        present=row[f"present_{j}"],
        n_integral=row[f"nint_{j}"],
        n_fractional=row[f"nfrac_{j}"],
        n_boolean=row[f"nbool_{j}"],
        num_count=n_num,
        num_sum=float(row[f"sum_{j}"] or 0.0),
        num_m2=float(var) * n_num if var is not None and n_num else 0.0,
        num_min=row[f"min_{j}"],
        num_max=row[f"max_{j}"],
        kll=bytes(row[f"kll_{j}"]) if row[f"kll_{j}"] is not None and n_num else None,
        hll=bytes(row[f"hll_{j}"]) if row[f"hll_{j}"] is not None else None,
        frequent=bytes(topk) if topk is not None and kind in _STRINGISH else None,
    )


def profile_dataset(ds: Dataset, opts: ProfileOptions | None = None) -> ProfileRun:
    """Profile every column of ``ds`` with one Spark aggregation over the input."""
    from pyspark.sql import functions as F

    opts = opts or ProfileOptions()
    started = time.monotonic()
    kinds = [source_type(f.dataType) for f in ds.df.schema.fields if f.name != ds.corrupt_column]
    n = len(kinds)
    slots = _slot_frame(ds, kinds)
    per_group = opts.columns_per_group or (n if n <= WIDE_AGG_MAX_COLUMNS else SLOTS_PER_GROUP)
    per_group = max(1, min(per_group, n)) if n else 1
    groups = [list(range(g, min(g + per_group, n))) for g in range(0, n, per_group)] or [[]]
    counters = [F.count(F.lit(1)).alias("rows"), F.count("bad").alias("bad")]
    strategy = "one global aggregation" if len(groups) == 1 else f"{len(groups)} groups of {per_group} slots"
    log.info("profiling %d column(s) of %s in one pass (%s)", n, ds.source, strategy)
    try:
        if len(groups) == 1:
            aggs = [a for j in range(n) for a in _slot_aggs(
                j, F.col(f"s{j}"), F.col(f"t{j}"), F.col(f"d{j}"), F.col(f"h{j}"), opts, kinds[j] in _STRINGISH)]
            rows = {0: slots.agg(*counters, *aggs).collect()[0]}
        else:
            rows = _grouped(slots, groups, kinds, counters, opts)
    except Exception as e:  # Spark read/parse failures surface here: name the dataset and the cause
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise UnreadableInputError(f"reading dataset_source {ds.source} failed: {_spark_message(e)}") from None

    columns = []
    for g, members in enumerate(groups):
        for j, i in enumerate(members):
            columns.append(_state(ds.names[i], kinds[i], rows[g], j))
    total, bad = rows[0]["rows"], rows[0]["bad"]
    rejected = {ds.reject_kind: bad} if bad else {}
    profile = Profile(total - bad, columns, rejected, opts.kll_k, opts.hll_lg_k, opts.max_categories)
    sample = _rejected_sample(ds) if bad else []
    seconds = time.monotonic() - started
    log.info("profiled %d record(s) in %.1f s%s", profile.item_count, seconds,
             f"; {bad} malformed record(s) rejected" if bad else "")
    return ProfileRun(profile, sample, seconds, strategy)


def _grouped(slots, groups, kinds, counters, opts):
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    width = max(len(g) for g in groups)
    with_topk = [any(j < len(g) and kinds[g[j]] in _STRINGISH for g in groups) for j in range(width)]
    null = {"s": F.lit(None).cast(T.StringType()), "t": F.lit(None).cast(T.IntegerType()),
            "d": F.lit(None).cast(T.DoubleType()), "h": F.lit(None).cast(T.LongType())}
    structs = []
    for g, members in enumerate(groups):
        parts = [F.lit(g).alias("g")]
        for j in range(width):
            for p in "stdh":
                parts.append((F.col(f"{p}{members[j]}") if j < len(members) else null[p]).alias(f"{p}{j}"))
        structs.append(F.struct(*parts))
    long = slots.select(F.explode(F.array(*structs)).alias("x"), "bad").select("x.*", "bad")
    aggs = [a for j in range(width) for a in _slot_aggs(
        j, F.col(f"s{j}"), F.col(f"t{j}"), F.col(f"d{j}"), F.col(f"h{j}"), opts, with_topk[j])]
    return {r["g"]: r for r in long.groupBy("g").agg(*counters, *aggs).collect()}


def _rejected_sample(ds: Dataset) -> list[dict]:
    """A few malformed records with their file (a short second job, run only when there are some)."""
    from pyspark.sql import functions as F

    rows = (
        ds.df.where(F.col(ds.corrupt_column).isNotNull())
        .select(F.input_file_name().alias("file"), F.col(ds.corrupt_column).alias("record"))
        .limit(REJECTED_SAMPLE_SIZE)
        .collect()
    )
    return [{"kind": ds.reject_kind, "file": r["file"], "record": r["record"]} for r in rows]


def _spark_message(e: Exception) -> str:
    text = str(getattr(e, "desc", None) or e)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0][:500] if lines else type(e).__name__
