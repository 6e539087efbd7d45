"""The one-pass profiler: one Spark aggregation computes every column's mergeable state.

Each column is normalised to four per-row values (a *slot*):

* ``s`` — the value as a string (null for typed numeric columns), classified by Deequ's regexes,
* ``t`` — its class code (1 Integral, 2 Fractional, 3 Boolean, 4 String; null when missing),
* ``d`` — the value as a double when it is numeric,
* ``h`` — a 64-bit hash of the native value (input of the HLL distinct count).

The aggregates over a slot (:func:`_slot_aggs`) are the class counts (string slots only), the power sums of ``d``,
``kll_sketch_agg_double(d)``, ``hll_sketch_agg(h)`` and ``approx_top_k_accumulate(s)`` (string slots only); the
numeric count, min and max are read back from the KLL sketch and the variance from the power sums, recomputed
around the mean in a second pass for the rare column whose rounding bound asks for it (:func:`_moments`). A narrow
table of mostly typed numbers gets one global ``agg`` over per-column slots; anything else is unpivoted — one
``(column, s, number)`` row per record and column — and aggregated with a single ``groupBy(column)``, so the plan
holds one set of expressions however many columns there are, and the input is still read once
(``wide_max_columns`` overrides the choice; BENCHMARKS.md has the measurements). Nothing leaves Spark but one small
row of states per column.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from monitor_lib.errors import UnreadableInputError
from monitor_lib.io.readers import Dataset, spark_message
from monitor_lib.profile import types as ty
from monitor_lib.profile.options import ProfileOptions
from monitor_lib.profile.python_sketches import aggregate_with_python, sketch_backend
from monitor_lib.profile.sketches import kll_summary_from_bytes
from monitor_lib.profile.state import ColumnState, Profile
from monitor_lib.spark import try_cast_double

log = logging.getLogger(__name__)

# The default strategy (BENCHMARKS.md, issue 18): one global aggregation for a narrow table whose columns are mostly
# typed numbers (a typed number needs only its power sums and two sketches: 10-column Parquet measured 1.3x faster
# than the unpivot), the unpivot for everything else (10-column CSV, every value a string classified and cast: the
# unpivot measured 1.6x faster; 1,000 columns: one aggregation of thousands of expressions is far slower).
# ``wide_max_columns`` overrides it: up to that many columns the global aggregation, 0 always the unpivot.
AUTO_GLOBAL_MAX_COLUMNS = 64
REJECTED_SAMPLE_SIZE = 20

_STRINGISH = ("string", "boolean", "other", "complex")


@dataclass
class ProfileRun:
    profile: Profile
    rejected_sample: list[dict] = field(default_factory=list)  # {"kind", "file", "record"}
    seconds: float = 0.0
    strategy: str = ""
    reads: int = 1  # passes over the input: 2 when a column's variance had to be recomputed around its mean


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


def _finite_double(col):
    from pyspark.sql import functions as F

    d = col.cast("double")
    return F.when(~F.isnan(d) & (F.abs(d) != F.lit(float("inf"))), d)  # NaN / ±Inf count as missing


def _classify(s):
    """Deequ's per-value class of a string (null stays null), with at most one regex for most values.

    Every Deequ pattern starts with a sign, a space, a digit (numbers) or ``t``/``f`` (booleans), so a value
    starting with anything else is a String without running a regex. The Integral and Fractional patterns are
    one pattern (:data:`~monitor_lib.profile.types.NUMBER_REGEX`) whose optional suffix is the fractional part
    or exponent: a number matching it is Fractional exactly when it holds ``.``, ``e`` or ``E``."""
    from pyspark.sql import functions as F

    number = s.rlike(ty.NUMBER_REGEX)
    fractional = (F.instr(s, ".") > 0) | (F.instr(s, "e") > 0) | (F.instr(s, "E") > 0)
    return (
        F.when(s.isNull(), F.lit(None).cast("int"))
        .when(~F.substring(s, 1, 1).isin(*ty.CLASS_FIRST_CHARACTERS), F.lit(ty.STRING))
        .when(number & fractional, F.lit(ty.FRACTIONAL))
        .when(number, F.lit(ty.INTEGRAL))
        .when(s.rlike(ty.BOOLEAN_REGEX), F.lit(ty.BOOLEAN))
        .otherwise(F.lit(ty.STRING))
    )


def _numeric_of(s, t):
    """The double of a numeric string. Deequ's regexes allow one space after the sign ("- 5"); Spark's cast does not."""
    from pyspark.sql import functions as F

    return F.when(t <= ty.FRACTIONAL,
                  try_cast_double(F.when(F.instr(s, " ") > 0, F.regexp_replace(s, " ", "")).otherwise(s)))


def _masked_columns(ds: Dataset):
    """Each input column with malformed records masked to null, and the malformed-record column."""
    from pyspark.sql import functions as F

    df = ds.df
    valid = df[ds.corrupt_column].isNull() if ds.corrupt_column else None
    columns = [df[name] if valid is None else F.when(valid, df[name]) for name in ds.internal_names]
    bad = df[ds.corrupt_column] if ds.corrupt_column else F.lit(None).cast("string")
    return columns, bad


def _slot_frame(ds: Dataset, kinds: list[str]):
    """Project the input to slot columns s{i}, t{i}, d{i}, h{i} (+ ``bad``), in two projections so the
    regex classification is evaluated once per value and reused by ``d`` and ``h``."""
    from pyspark.sql import functions as F

    columns, bad = _masked_columns(ds)
    first = []
    for i, (c, kind) in enumerate(zip(columns, kinds, strict=True)):
        if kind in ("integral", "fractional"):
            first.append(_finite_double(c).alias(f"d{i}"))
        else:
            first.append(_string_of(c, kind).alias(f"s{i}"))
    step1 = ds.df.select(*first, bad.alias("bad"))

    second = []
    for i, kind in enumerate(kinds):
        if kind in ("integral", "fractional"):
            d = F.col(f"d{i}")
            code = ty.INTEGRAL if kind == "integral" else ty.FRACTIONAL
            second += [F.lit(None).cast("string").alias(f"s{i}"), F.when(d.isNotNull(), F.lit(code)).alias(f"t{i}"),
                       d.alias(f"d{i}"), F.when(d.isNotNull(), F.xxhash64(d)).alias(f"h{i}")]
        else:
            s = F.col(f"s{i}")
            second += [s.alias(f"s{i}"), _classify(s).alias(f"t{i}"),
                       F.when(s.isNotNull(), F.xxhash64(s)).alias(f"h{i}")]
    step2 = step1.select(*second, "bad")

    third = []
    for i, kind in enumerate(kinds):
        if kind in ("integral", "fractional"):
            third += [f"s{i}", f"t{i}", f"d{i}", f"h{i}"]
        else:
            third += [f"s{i}", f"t{i}", _numeric_of(F.col(f"s{i}"), F.col(f"t{i}")).alias(f"d{i}"), f"h{i}"]
    return step2.select(*third, "bad")


def _slot_aggs(j: int, s, t, d, h, opts: ProfileOptions, with_topk: bool, typed: bool = False) -> list:
    """The aggregates of one slot. Only cheap ones besides the sketches: Spark evaluates every aggregate of a
    query holding a sketch in its object-hash fallback, where a central-moment aggregate (``var_pop``) costs
    several times a sum (BENCHMARKS.md). So the moments are the power sums of ``d`` (the variance is derived on
    the driver, checked against a rounding bound, see :func:`_moments`), and the numeric count, min and max are
    read from the KLL sketch, which holds them exactly. ``typed``: a typed numeric column of a global
    aggregation, whose class counts are its numeric count."""
    from pyspark.sql import functions as F

    aggs = []
    if not typed:
        aggs += [
            F.count(t).alias(f"present_{j}"),
            F.count(F.when(t == ty.INTEGRAL, 1)).alias(f"nint_{j}"),
            F.count(F.when(t == ty.FRACTIONAL, 1)).alias(f"nfrac_{j}"),
            F.count(F.when(t == ty.BOOLEAN, 1)).alias(f"nbool_{j}"),
        ]
    aggs += [
        F.sum(d).alias(f"sum_{j}"),
        F.sum(d * d).alias(f"sq_{j}"),
        F.kll_sketch_agg_double(d, F.lit(opts.kll_k)).alias(f"kll_{j}"),
        F.hll_sketch_agg(h, F.lit(opts.hll_lg_k)).alias(f"hll_{j}"),
    ]
    if with_topk:
        # The frequent-items sketch is exact while it holds every distinct value; max_categories + 1
        # tracked items make it exact for every column that may get categorical buckets.
        topk = F.call_function("approx_top_k_accumulate", s, F.lit(opts.max_categories + 1))
        aggs.append(topk.getField("sketch").alias(f"topk_{j}"))
    return aggs


# The relative rounding error accepted for the second central moment computed from power sums (see _moments).
M2_TOLERANCE = 1e-10
_UNIT_ROUNDOFF = 2.0 ** -53


def _moments(n: int, s1: float, s2: float) -> tuple[float, bool]:
    """The second central moment ``M2 = S2 - S1²/n`` of ``n`` values with power sums ``S1``, ``S2``, and whether
    its estimated rounding error is within :data:`M2_TOLERANCE` (relative).

    ``S2`` sums non-negative terms, so its computed value is off by about ``√n·u·S2`` (u = 2⁻⁵³; a sequential
    sum's error grows like a random walk, ``n·u`` at worst), and the subtraction turns that into a relative error
    of ``M2`` multiplied by ``κ = S2 / M2 = 1 + mean² / variance``. Accepted when ``2·κ·√n·u <= M2_TOLERANCE``:
    a mean up to ~300 standard deviations from zero at a million values. Anything worse (a large offset with a
    tiny spread, a constant column) is recomputed exactly around the mean by :func:`_recentred_m2`."""
    if n <= 1:
        return 0.0, True
    m2 = s2 - s1 * (s1 / n)
    if not m2 > 0.0:
        return 0.0, s2 == 0.0  # exactly 0 only when every value is 0; else cancellation: recompute
    kappa = s2 / m2
    return m2, 2.0 * kappa * math.sqrt(n) * _UNIT_ROUNDOFF <= M2_TOLERANCE


def _state(name: str, kind: str, row, j: int, typed: bool = False) -> tuple[ColumnState, tuple | None]:
    """A column's state from an aggregation row — a Spark Row of the native aggregates (power sums, sketches),
    or the dict of the Python sketch fallback (which carries the count, min, max and M2 itself) — and, when the
    power sums' M2 is not accurate enough, ``(mean, n)`` to recompute it around (else None)."""
    fields = row.__fields__ if hasattr(row, "__fields__") else row.keys()
    topk = row[f"topk_{j}"] if f"topk_{j}" in fields else None
    kll = row[f"kll_{j}"]
    if f"m2_{j}" in fields:  # the Python fallback
        n_num, m2, lo, hi, redo = row[f"ncount_{j}"] or 0, float(row[f"m2_{j}"]), row[f"min_{j}"], row[f"max_{j}"], None
        s1 = float(row[f"sum_{j}"] or 0.0)
    else:
        n_num, lo, hi = kll_summary_from_bytes(kll)
        s1 = float(row[f"sum_{j}"] or 0.0)
        m2, accurate = _moments(n_num, s1, float(row[f"sq_{j}"] or 0.0))
        redo = None if accurate else (s1 / n_num, n_num)
    if typed:
        present, nint = n_num, (n_num if kind == "integral" else 0)
        counts = (present, nint, n_num - nint, 0)
    else:
        counts = (row[f"present_{j}"], row[f"nint_{j}"], row[f"nfrac_{j}"], row[f"nbool_{j}"])
    state = ColumnState(
        name=name,
        source_type=kind,
        present=counts[0],
        n_integral=counts[1],
        n_fractional=counts[2],
        n_boolean=counts[3],
        num_count=n_num,
        num_sum=s1,
        num_m2=m2,
        num_min=lo,
        num_max=hi,
        kll=bytes(kll) if kll is not None and n_num else None,
        hll=bytes(row[f"hll_{j}"]) if row[f"hll_{j}"] is not None else None,
        frequent=bytes(topk) if topk is not None and kind in _STRINGISH else None,
    )
    return state, redo


def auto_global_max(kinds: list[str]) -> int:
    """The default ``wide_max_columns`` for columns of these source types: :data:`AUTO_GLOBAL_MAX_COLUMNS` when at
    least half of them are typed numbers, else 0 (always unpivot)."""
    typed = sum(k in ("integral", "fractional") for k in kinds)
    return AUTO_GLOBAL_MAX_COLUMNS if kinds and 2 * typed >= len(kinds) else 0


def profile_dataset(ds: Dataset, opts: ProfileOptions | None = None) -> ProfileRun:
    """Profile every column of ``ds`` with one Spark aggregation over the input."""
    from pyspark.sql import functions as F

    opts = opts or ProfileOptions()
    started = time.monotonic()
    kinds = [source_type(f.dataType) for f in ds.df.schema.fields if f.name != ds.corrupt_column]
    n = len(kinds)
    wide = opts.wide_max_columns if opts.wide_max_columns is not None else auto_global_max(kinds)
    backend = sketch_backend(ds.df.sparkSession, opts.sketches)
    if backend == "python":
        wide = -1  # the Python sketches read the unpivoted frame
    strategy = "one global aggregation" if n <= wide else "unpivoted aggregation by column"
    if backend == "python":
        strategy += ", sketches in Python"
    counters = [F.count(F.lit(1)).alias("rows"), F.count("bad").alias("bad")]
    log.info("profiling %d column(s) of %s in one pass (%s)", n, ds.source, strategy)
    try:
        if n <= wide:
            slots = _slot_frame(ds, kinds)
            typed = [k in ("integral", "fractional") for k in kinds]
            aggs = [a for j in range(n) for a in _slot_aggs(
                j, F.col(f"s{j}"), F.col(f"t{j}"), F.col(f"d{j}"), F.col(f"h{j}"), opts, kinds[j] in _STRINGISH,
                typed[j])]
            row = slots.agg(*counters, *aggs).collect()[0]
            states = {i: _state(ds.names[i], kinds[i], row, i, typed[i]) for i in range(n)}
            total, bad = row["rows"], row["bad"]
            reads = 1 + _recentre_wide(slots, states)
        else:
            long = _long(ds, kinds)
            rows = _aggregate_long(long, counters, opts, any(k in _STRINGISH for k in kinds), backend)
            states = {i: _state(ds.names[i], kinds[i], rows[i], 0) for i in rows}
            first = next(iter(rows.values()), None)
            total, bad = (first["rows"], first["bad"]) if first else (0, 0)
            reads = 1 + _recentre_long(_long_slots(long), ("c",), states)
    except Exception as e:  # Spark read/parse failures surface here: name the dataset and the cause
        raise UnreadableInputError(f"reading dataset_source {ds.source} failed: {spark_message(e)}") from None

    columns = [states[i][0] if i in states else ColumnState(ds.names[i], kinds[i]) for i in range(n)]
    rejected = {ds.reject_kind: bad} if bad else {}
    profile = Profile(total - bad, columns, rejected, opts.kll_k, opts.hll_lg_k, opts.max_categories)
    sample = _rejected_sample(ds) if bad else []
    seconds = time.monotonic() - started
    log.info("profiled %d record(s) in %.1f s%s", profile.item_count, seconds,
             f"; {bad} malformed record(s) rejected" if bad else "")
    return ProfileRun(profile, sample, seconds, strategy, reads)


def _to_recentre(states: dict) -> dict:
    """``{key: (mean, n)}`` of the states whose M2 needs the second pass (see :func:`_state`), logged when any."""
    redo = {k: r for k, (_, r) in states.items() if r is not None}
    if redo:
        log.info("recomputing the variance of %d column(s) around their mean (a large mean for their spread): "
                 "one more pass over the input", len(redo))
    return redo


def _recentre_wide(slots, states: dict) -> int:
    """Recompute, in one more pass over ``slots`` (a global-aggregation slot frame), the M2 of the columns whose
    power sums were not accurate enough (:func:`_moments`): ``Σ(d-m)²`` and ``Σ(d-m)`` around the first pass's
    mean ``m``, ``M2 = Σ(d-m)² - (Σ(d-m))²/n``. Returns the number of extra passes (0 or 1)."""
    from pyspark.sql import functions as F

    redo = _to_recentre(states)
    if not redo:
        return 0
    aggs = []
    for j, (mean, _) in redo.items():
        x = F.col(f"d{j}") - F.lit(mean)
        aggs += [F.sum(x).alias(f"a{j}"), F.sum(x * x).alias(f"b{j}")]
    row = slots.agg(*aggs).collect()[0]
    for j, (_, n) in redo.items():
        states[j][0].num_m2 = _recentred_m2(n, row[f"a{j}"], row[f"b{j}"])
    return 1


def _recentre_long(slots, keys: tuple[str, ...], states: dict) -> int:
    """:func:`_recentre_wide` for a long slot frame aggregated by ``keys``: the means travel in a small broadcast
    frame joined on the keys. ``states`` maps a key value (a tuple for several keys) to ``(state, redo)``."""
    from pyspark.sql import functions as F

    redo = _to_recentre(states)
    if not redo:
        return 0
    spark = slots.sparkSession
    key_types = {f.name: f.dataType.simpleString() for f in slots.schema.fields if f.name in keys}
    schema = ", ".join(f"{k} {key_types[k]}" for k in keys) + ", m double"
    means = spark.createDataFrame([(*(k if isinstance(k, tuple) else (k,)), mean) for k, (mean, _) in redo.items()],
                                  schema)
    x = F.col("d") - F.col("m")
    got = (slots.where(F.col("d").isNotNull()).join(F.broadcast(means), list(keys))
           .groupBy(*keys).agg(F.sum(x).alias("a"), F.sum(x * x).alias("b")).collect())
    for r in got:
        k = tuple(r[c] for c in keys) if len(keys) > 1 else r[keys[0]]
        states[k][0].num_m2 = _recentred_m2(redo[k][1], r["a"], r["b"])
    return 1


def _recentred_m2(n: int, a: float | None, b: float | None) -> float:
    """M2 from sums around a nearby centre ``m``: ``a = Σ(d-m)``, ``b = Σ(d-m)²`` (the corrected two-pass formula)."""
    if not n or a is None or b is None:
        return 0.0
    return max(float(b) - float(a) * float(a) / n, 0.0)


def _long(ds: Dataset, kinds: list[str]):
    """Unpivot to one row per (record, column) — ``(c, k, s, n, bad)`` — so that one aggregation by column holds
    one set of aggregate expressions whatever the number of columns, and the input is still read once."""
    from pyspark.sql import functions as F

    columns, bad = _masked_columns(ds)
    structs = []
    for i, (c, kind) in enumerate(zip(columns, kinds, strict=True)):
        if kind in ("integral", "fractional"):
            code = ty.INTEGRAL if kind == "integral" else ty.FRACTIONAL
            s, n = F.lit(None).cast("string"), _finite_double(c)
        else:
            code, s, n = 0, _string_of(c, kind), F.lit(None).cast("double")
        structs.append(F.struct(F.lit(i).alias("c"), F.lit(code).alias("k"), s.alias("s"), n.alias("n")))
    return ds.df.select(F.explode(F.array(*structs)).alias("x"), bad.alias("bad")).select("x.*", "bad")


def _aggregate_long(long, counters, opts: ProfileOptions, with_topk: bool = True, backend: str = "native") -> dict:
    """Aggregate a long frame ``(c, k, s, n, bad)`` — column key, class code of a typed number, string value,
    typed number — by ``c`` with the slot aggregations: ``{c: state row}``. The ``python`` backend builds
    the same states in one ``mapInArrow`` pass over the same projection (see python_sketches)."""
    from pyspark.sql import functions as F

    slots = _long_slots(long)
    if backend == "python":
        return aggregate_with_python(slots, opts, with_topk)
    aggs = _slot_aggs(0, F.col("s"), F.col("t"), F.col("d"), F.col("h"), opts, with_topk)
    return {r["c"]: r for r in slots.groupBy("c").agg(*counters, *aggs).collect()}


def _long_slots(long, carry: tuple[str, ...] = ()):
    """The slot projection ``(c, s, t, d, h, bad)`` of a long frame (plus the ``carry`` columns, as they are)."""
    from pyspark.sql import functions as F

    s, n = F.col("s"), F.col("n")
    classified = long.select("c", *carry, "s", F.when(n.isNotNull(), F.col("k")).otherwise(_classify(s)).alias("t"),
                             "n", "bad")
    t = F.col("t")
    return classified.select(
        "c", *carry, "s", "t",
        F.coalesce(n, _numeric_of(s, t)).alias("d"),
        F.when(n.isNotNull(), F.xxhash64(n)).when(s.isNotNull(), F.xxhash64(s)).alias("h"),
        "bad",
    )


def profile_entries(entries, names: list[str], source: str, opts: ProfileOptions | None = None,
                    markers: tuple[str, ...] = ()) -> tuple[Profile, dict[str, int]]:
    """Profile a frame of ``entries: array<struct<c: name, s: value>>`` (capture records decoded to named
    string values) in one aggregation. Entries whose name starts with one of ``markers`` are counters,
    not columns: their group sizes are returned by name. Columns come in ``names`` order, then the
    other names sorted; the record count is the size of the ``markers[0]`` group."""
    from pyspark.sql import functions as F

    opts = opts or ProfileOptions()
    started = time.monotonic()
    # explode_outer, not explode: for explode Spark infers a `size(entries) > 0` filter and pushes it
    # through the staged projections, inlining every stage into it (a plan of millions of nodes).
    # Every line has at least one entry, so the two produce the same rows.
    long = entries.select(F.explode_outer("entries").alias("x")).select(
        F.col("x.c").alias("c"), F.lit(0).alias("k"), F.col("x.s").alias("s"),
        F.lit(None).cast("double").alias("n"), F.lit(None).cast("string").alias("bad"))
    counters = [F.count(F.lit(1)).alias("rows"), F.count("bad").alias("bad")]
    log.info("profiling the decoded records of %s in one pass", source)
    backend = sketch_backend(entries.sparkSession, opts.sketches)
    rows = _aggregate_long(long, counters, opts, True, backend)  # the caller explains failures
    profile, counts, states = _entries_profile(rows, names, opts, markers)
    _recentre_long(_long_slots(long), ("c",), states)
    log.info("profiled %d record(s), %d column(s) in %.1f s", profile.item_count, len(profile.columns),
             time.monotonic() - started)
    return profile, counts


def _entries_profile(rows: dict, names: list[str], opts: ProfileOptions,
                     markers: tuple[str, ...]) -> tuple[Profile, dict[str, int], dict]:
    """The profile, the marker counts and the ``{name: (state, redo)}`` (see :func:`_state`) of the state rows
    ``{name: row}`` of one aggregation of entries."""
    counts = {c: r["rows"] for c, r in rows.items() if c is not None and c.startswith(markers)}
    found = [c for c in rows if c is not None and not c.startswith(markers)]
    order = [n for n in names if n in rows] + sorted(c for c in found if c not in set(names))
    states = {c: _state(c, "string", rows[c], 0) for c in order}
    item_count = counts.get(markers[0], 0) if markers else 0
    columns = [states[c][0] for c in order]
    return Profile(item_count, columns, {}, opts.kll_k, opts.hll_lg_k, opts.max_categories), counts, states


@dataclass
class WindowedProfiles:
    """What :func:`profile_entries_by_window` computes: per window index, its profile, its marker counts and the
    first rejected records (``{"kind", "file", "record"}``, at most ``REJECTED_SAMPLE_SIZE``)."""

    profiles: dict[int, Profile]
    counts: dict[int, dict[str, int]]
    samples: dict[int, list[dict]]


def profile_entries_by_window(entries, names: list[str], source: str, opts: ProfileOptions | None = None,
                              markers: tuple[str, ...] = (), reject: str | None = None,
                              order: tuple[str, ...] = ()) -> WindowedProfiles:
    """:func:`profile_entries` for many windows in one aggregation: ``entries`` has a window index ``w`` (an int
    column) and each window gets exactly the states, counts and profile :func:`profile_entries` gives over its
    rows alone — the aggregation groups by ``(w, name)`` instead of ``name``, so the input is read once.

    ``reject``: the marker prefix of rejected records; the same aggregation then keeps, per window, the first
    :data:`REJECTED_SAMPLE_SIZE` of them with their ``file`` and ``line`` (columns of ``entries``) in the order of
    the ``order`` columns, then the entry's position in its line. (It collects a window's rejected lines to pick
    them: memory grows with the rejected records of a window.) Native sketch aggregates only (Spark 4.1+)."""
    from pyspark.sql import functions as F

    opts = opts or ProfileOptions()
    started = time.monotonic()
    sample_cols = ("file", "line", *order) if reject else ()
    # explode_outer, not explode: see profile_entries
    long = entries.select("w", *sample_cols, F.posexplode_outer("entries").alias("pos", "x")).select(
        "w", F.col("x.c").alias("c"), F.lit(0).alias("k"), F.col("x.s").alias("s"),
        F.lit(None).cast("double").alias("n"), F.lit(None).cast("string").alias("bad"),
        *([F.when(F.col("x.c").startswith(reject), F.struct(*[F.col(o) for o in order], F.col("pos"),
                                                             F.col("x.c").alias("kind"), "file", "line"))
           .alias("smp")] if reject else []))
    slots = _long_slots(long, ("w", "smp") if reject else ("w",))
    counters = [F.count(F.lit(1)).alias("rows"), F.count("bad").alias("bad")]
    aggs = _slot_aggs(0, F.col("s"), F.col("t"), F.col("d"), F.col("h"), opts, True)
    if reject:
        aggs.append(F.slice(F.array_sort(F.collect_list("smp")), 1, REJECTED_SAMPLE_SIZE).alias("sample"))
    log.info("profiling the decoded records of %s in one pass, grouped by window", source)
    by_window: dict[int, dict] = {}
    for r in slots.groupBy("w", "c").agg(*counters, *aggs).collect():  # the caller explains failures
        by_window.setdefault(r["w"], {})[r["c"]] = r
    profiles: dict[int, Profile] = {}
    counts: dict[int, dict[str, int]] = {}
    samples: dict[int, list[dict]] = {}
    states: dict[tuple, tuple] = {}
    for w, rows in by_window.items():
        profiles[w], counts[w], by_name = _entries_profile(rows, names, opts, markers)
        states.update({(w, c): st for c, st in by_name.items()})
        if reject:
            picked = sorted((x for c, r in rows.items() if c is not None and c.startswith(reject)
                             for x in r["sample"]), key=lambda x: tuple(x[o] for o in (*order, "pos")))
            samples[w] = [{"kind": x["kind"][len(reject):], "file": x["file"], "record": x["line"]}
                          for x in picked[:REJECTED_SAMPLE_SIZE]]
    _recentre_long(slots, ("w", "c"), states)
    log.info("profiled %d window(s), %d record(s) in %.1f s", len(profiles),
             sum(p.item_count for p in profiles.values()), time.monotonic() - started)
    return WindowedProfiles(profiles, counts, samples)


def _rejected_sample(ds: Dataset) -> list[dict]:
    """A few malformed records with their file (a short second job, run only when there are some)."""
    from pyspark.sql import functions as F

    # Spark refuses queries that read only the corrupt-record column, so every column is selected.
    frame, file = ds.frame_with_file()
    rows = (
        frame.select(*[c for c in frame.columns if c != "__file"], file.alias("__file"))
        .where(F.col(ds.corrupt_column).isNotNull())
        .limit(REJECTED_SAMPLE_SIZE)
        .collect()
    )
    return [{"kind": ds.reject_kind, "file": r["__file"], "record": r[ds.corrupt_column]} for r in rows]

