"""The bias aggregation: every metric but FT from one Spark pass, for all facets at once.

Each good record is exploded into one entry per facet (plus a few entries that carry the type statistics of
the label, the prediction and the facets), and one ``groupBy`` counts the entries by (set, facet key, label
keys, prediction keys, group variable) — Spark's partial aggregation keeps that cheap. A facet key holds
both readings Clarify may give a column (is the value one of the listed values; is it above the
threshold), since which one applies depends on the column's type, which the same pass measures (integer /
number / text, maximum, distinct integers — smclarify's ``series_datatype``). One-vs-rest facets (no values)
are keyed by their value. Rejected records are counted by kind, with examples, in the same aggregation.

The driver receives counts only and turns them into :class:`monitor_lib.bias.metrics.FacetCounts`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from monitor_lib.bias.analysis import BiasResult, FacetEntry
from monitor_lib.bias.config import BiasConfig, Facet
from monitor_lib.bias.metrics import (
    CONTINUOUS,
    FacetCounts,
    MetricError,
    column_type,
    group_order,
    interval_text,
    threshold_of,
    values_text,
)
from monitor_lib.bias.records import BiasSource
from monitor_lib.errors import InputError

log = logging.getLogger(__name__)

MAX_CELLS = 200_000  # facet keys x label keys x groups; more means a facet without values is not a category
LABEL_SET, PRED_SET, REJECT_SET, UNIQUE_BASE = 1000, 1001, -1, 2000
BITS = {"km": 1, "kg": 2, "ym": 4, "yg": 8, "pm": 16, "pg": 32}  # an entry's boolean keys, packed
# pandas' default missing-value markers (read_csv na_values): the Clarify container reads data with pandas
NA_TEXTS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
            "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


@dataclass
class ColumnStats:
    """What decides a column's type: its present values, how many are integers / numbers, its maximum and
    (integers) how many distinct values it has."""

    count: int = 0
    bools: int = 0
    ints: int = 0
    numbers: int = 0
    maximum: float | None = None
    distinct: int | None = None

    def add(self, row) -> None:
        self.count += int(row["n"])
        self.bools += int(row["nb"] or 0)
        self.ints += int(row["ni"] or 0)
        self.numbers += int(row["nn"] or 0)
        if row["mx"] is not None:
            self.maximum = row["mx"] if self.maximum is None else max(self.maximum, row["mx"])

    @property
    def kind(self) -> str:
        if self.count and self.bools == self.count:  # pandas reads true / false as bool: categorical
            return "bool"
        if self.count and self.ints == self.count:
            return "int"
        if self.count and self.numbers == self.count:
            return "float"
        return "text"

    def typed_max(self):
        if self.maximum is None:
            return None
        return int(self.maximum) if self.kind == "int" else float(self.maximum)

    def type_for(self, values: list | None) -> str:
        return column_type(self.kind, self.distinct, self.count, values)


@dataclass
class BiasTallies:
    """What the aggregation hands to the driver: counts, never rows."""

    records: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    sample: list[dict] = field(default_factory=list)
    result: BiasResult | None = None
    label_type: str | None = None
    facet_types: dict[str, str] = field(default_factory=dict)
    jobs_reading_input: int = 0


# ------------------------------------------------------------------ typed values (Spark expressions)


def present(x):
    from pyspark.sql import functions as F

    return x.isNotNull() & ~F.trim(x).isin(*NA_TEXTS)


def number(x):
    from pyspark.sql import functions as F

    from monitor_lib.spark import try_cast_double

    d = try_cast_double(F.trim(x))
    return F.when(~F.isnan(d), d)


def is_int(x):
    from pyspark.sql import functions as F

    return F.trim(x).rlike(r"^[+-]?[0-9]{1,30}$")  # longer integers are text (and fit decimal(38,0))


def matches(x, values: list):
    """Clarify's category match: the value equals a listed value as text, or as a number."""
    from pyspark.sql import functions as F

    num, lower = number(x), F.lower(F.trim(x))
    cond = F.lit(False)
    for v in values:
        cond = cond | (x == F.lit(str(v)))
        truth = _truth(v)
        if truth is not None:  # true / false columns: True, 1, "true" select the true rows
            cond = cond | (lower == F.lit(truth))
        if isinstance(v, bool):
            continue
        try:
            cond = cond | (num == F.lit(float(v)))
        except (TypeError, ValueError):
            pass
    return F.coalesce(cond, F.lit(False))


def _truth(v) -> str | None:
    """The true / false text a listed value selects in a boolean column (None: neither)."""
    if isinstance(v, str):
        text = v.strip().lower()
        return text if text in ("true", "false") else None
    if isinstance(v, (bool, int, float)) and v in (0, 1):
        return "true" if v else "false"
    return None


def above(x, values: list | None):
    """Clarify's continuous reading: the value is above the single threshold (false when there is none)."""
    from pyspark.sql import functions as F

    try:
        t = threshold_of(values, "threshold")
    except MetricError:
        return F.lit(False)
    return F.coalesce(number(x) > F.lit(float(t)), F.lit(False))


def is_bool(x):
    from pyspark.sql import functions as F

    return F.lower(F.trim(x)).isin("true", "false")


def value_class(x):
    """0 text, 1 true/false, 2 an integer, 3 another number: what decides the column's type."""
    from pyspark.sql import functions as F

    return (F.when(is_bool(x), F.lit(1)).when(is_int(x), F.lit(2)).when(number(x).isNotNull(), F.lit(3))
            .otherwise(F.lit(0)))


def canonical_int(x):
    from pyspark.sql import functions as F

    return F.when(is_int(x), F.trim(x).cast("decimal(38,0)").cast("string"))


def canonical(x, kind: str):
    """A one-vs-rest value as pandas would hold it: integers as numbers, true / false as True / False, text as
    written (untrimmed)."""
    from pyspark.sql import functions as F

    if kind == "int":
        return canonical_int(x)
    if kind == "bool":
        lower = F.lower(F.trim(x))
        return F.when(lower == "true", F.lit("True")).when(lower == "false", F.lit("False"))
    return x


# ------------------------------------------------------------------ the pass


@dataclass
class Plan:
    """Where things are in ``x`` and what the run needs."""

    facet_positions: list[int]
    group_position: int | None
    post: bool  # post-training metrics: predictions needed
    probability_threshold: float | None  # the predicted label is score > threshold


def prediction_text(plan: Plan):
    """The predicted label as text: the prediction, or ``1`` / ``0`` from the score and the threshold."""
    from pyspark.sql import functions as F

    if plan.probability_threshold is not None:
        return F.when(number(F.col("prob")) > F.lit(plan.probability_threshold), F.lit("1")).otherwise(F.lit("0"))
    return F.col("pred")


def _value_kind(plan: Plan, config: BiasConfig):
    """Why a record of good shape cannot be analysed (null: it can)."""
    from pyspark.sql import functions as F

    checks = [(~present(F.col("label")), "missing_label")]
    if plan.post:
        if plan.probability_threshold is not None:
            checks += [(~present(F.col("prob")), "missing_probability"),
                       (number(F.col("prob")).isNull(), "non_numeric_probability")]
        else:
            checks += [(~present(F.col("pred")), "missing_prediction")]
    for p in plan.facet_positions:
        checks.append((~present(F.try_element_at(F.col("x"), F.lit(p + 1))), "missing_facet"))
    kind = F.lit(None).cast("string")
    for condition, name in reversed(checks):
        kind = F.when(condition, F.lit(name)).otherwise(kind)
    return kind


def aggregate_bias(src: BiasSource, config: BiasConfig, plan: Plan) -> tuple[list, object]:
    """The aggregation (not yet run) and the typed frame (for the flip test and the rejected-records sample).

    Every per-record value is computed once, in a select before the explode (an entry only references
    columns), and the aggregation's buffers are fixed-width (counts, sums, max, min), so Spark runs it as a
    hash aggregation with a partial aggregation before the shuffle."""
    from pyspark.sql import functions as F

    x = F.col("x")
    value_kind = _value_kind(plan, config)
    status = F.when(F.col("status").isNotNull(), F.col("status")).when(value_kind.isNotNull(), F.lit("reject"))
    kind = F.when(F.col("status").isNotNull(), F.col("kind")).otherwise(value_kind)
    typed = src.frame.select(status.alias("status"), kind.alias("kind"), "file", "line", "label",
                             prediction_text(plan).alias("pred"), "x",
                             F.monotonically_increasing_id().alias("ord"))
    label, pred = F.col("label"), F.col("pred")
    values = config.label_values
    cols = {"ym": matches(label, values), "yg": above(label, values)}
    if plan.post:
        cols.update(pm=matches(pred, values), pg=above(pred, values))
    cols["grp"] = (F.try_element_at(x, F.lit(plan.group_position + 1)) if plan.group_position is not None
                   else F.lit(None).cast("string"))
    label_keys = [n for n in ("ym", "yg", "pm", "pg") if n in cols]

    def typed_value(name: str, value) -> None:
        cols[f"num_{name}"], cols[f"cls_{name}"] = number(value), value_class(value)

    sets = []  # (set id, k, km, kg, with label keys and group, statistics of)
    for i, (facet, p) in enumerate(zip(config.facets, plan.facet_positions, strict=True)):
        f = F.try_element_at(x, F.lit(p + 1))
        typed_value(f"f{i}", f)
        if facet.values is None:
            cols[f"k{i}"] = f
            sets.append((i, f"k{i}", None, None, True, f"f{i}"))
        else:
            cols[f"km{i}"], cols[f"kg{i}"] = matches(f, facet.values), above(f, facet.values)
            sets.append((i, None, f"km{i}", f"kg{i}", True, f"f{i}"))
            if len(facet.values) == 1:
                cols[f"u{i}"] = canonical_int(f)
                sets.append((UNIQUE_BASE + i, f"u{i}", None, None, False, None))
    # the label's and the prediction's statistics, keyed by their integer value (the distinct count)
    single = len(values) == 1
    typed_value("label", label)
    if single:
        cols["ulabel"] = canonical_int(label)
    sets.append((LABEL_SET, "ulabel" if single else None, None, None, False, "label"))
    if plan.post:
        typed_value("pred", pred)
        if single:
            cols["upred"] = canonical_int(pred)
        sets.append((PRED_SET, "upred" if single else None, None, None, False, "pred"))
    good = F.col("status").isNull()
    values_frame = typed.select("status", "kind", "ord",
                                *[F.when(good, expr).alias(name) for name, expr in cols.items()])

    none_s, none_d = F.lit(None).cast("string"), F.lit(None).cast("double")
    none_i = F.lit(None).cast("int")

    def column(name, none):
        return F.col(name) if name else none

    def bits(flags: list[tuple[str | None, int]]):
        """The boolean keys of an entry packed into one int (fewer grouping keys to hash)."""
        packed = F.lit(0)
        for name, bit in flags:
            if name:
                packed = packed + F.when(F.col(name), F.lit(bit)).otherwise(F.lit(0))
        return packed

    def entry(s, k, km, kg, labels, of):
        flags = [(km, BITS["km"]), (kg, BITS["kg"])] + [(n, BITS[n]) for n in label_keys if labels]
        return F.struct(F.lit(s).alias("s"), column(k, none_s).alias("k"), bits(flags).alias("b"),
                        (F.col("grp") if labels else none_s).alias("g"),
                        column(of and f"num_{of}", none_d).alias("num"),
                        column(of and f"cls_{of}", none_i).alias("cls"))

    entries = [entry(*spec) for spec in sets]
    bad = F.struct(F.lit(REJECT_SET).alias("s"), F.concat(F.col("status"), F.lit(":"), F.col("kind")).alias("k"),
                   F.lit(0).alias("b"), none_s.alias("g"), none_d.alias("num"), none_i.alias("cls"))
    exploded = values_frame.select(F.explode(F.when(good, F.array(*entries)).otherwise(F.array(bad))).alias("e"),
                                   "ord")
    e = F.col("e")
    grouped = exploded.groupBy(*[e[n].alias(n) for n in ("s", "k", "b", "g")]).agg(
        F.count(F.lit(1)).alias("n"), F.max("e.num").alias("mx"),
        F.sum(F.when(e["cls"] == 1, 1).otherwise(0)).alias("nb"),
        F.sum(F.when(e["cls"] == 2, 1).otherwise(0)).alias("ni"),
        F.sum(F.when(e["cls"] >= 2, 1).otherwise(0)).alias("nn"),
        F.min("ord").alias("first"))
    return grouped, typed


def collect(grouped, tallies: BiasTallies) -> list:
    """The small rows of the aggregation — facet cells and rejections as they are; the label's, the prediction's
    and the uniqueness sets' rows summed per set in Spark, with their number of distinct integers — from one
    read of the input (the aggregation is persisted)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    grouped = grouped.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        cells = grouped.where(F.col("s") < LABEL_SET).limit(MAX_CELLS + 1).collect()
        tallies.jobs_reading_input += 1
        if len(cells) > MAX_CELLS:
            raise InputError(f"more than {MAX_CELLS} distinct (facet value, label, prediction, group) cells: a "
                             "facet without value_or_threshold must be a category (give a threshold for a numeric "
                             "facet), and the group variable must be a category")
        sums = grouped.where(F.col("s") >= LABEL_SET).groupBy("s").agg(
            *[F.sum(c).alias(c) for c in ("n", "nb", "ni", "nn")], F.max("mx").alias("mx"),
            F.count("k").alias("distinct")).collect()
    finally:
        grouped.unpersist()
    rows = [_unpacked(r.asDict()) for r in cells]
    rows += [_unpacked({**r.asDict(), "k": None, "b": 0, "g": None, "first": None}) for r in sums
             if r["s"] < UNIQUE_BASE]
    distinct = {int(r["s"]) % UNIQUE_BASE: int(r["distinct"]) for r in sums
                if r["s"] >= UNIQUE_BASE or r["distinct"]}
    return [rows, distinct]


def _unpacked(row: dict) -> dict:
    b = int(row.pop("b") or 0)
    row.update({name: bool(b & bit) for name, bit in BITS.items()})
    return row


def rejected_examples(typed, tallies: BiasTallies) -> None:
    """Up to two example records of each rejected / skipped kind: a second, filtered read of the input, run only
    when the aggregation counted such records (a string-valued example in the main aggregation would turn
    Spark's hash aggregation into a sort of every entry)."""
    from pyspark.sql import functions as F

    from monitor_lib.quality.aggregate import add_examples

    if not tallies.rejected and not tallies.skipped:
        return
    bad = F.col("status").isNotNull()
    record, order = F.struct("file", "line"), F.xxhash64("line")
    rows = typed.where(bad).groupBy("status", "kind").agg(
        F.min_by(record, order).alias("ex1"), F.max_by(record, order).alias("ex2")).collect()
    tallies.jobs_reading_input += 1
    for row in sorted(rows, key=lambda r: (r["status"], r["kind"])):
        add_examples(tallies.sample, row["kind"], (row["ex1"], row["ex2"]))


def _split_rejects(rows, tallies: BiasTallies) -> list:
    from monitor_lib.quality.aggregate import add_verdicts

    add_verdicts(tallies, ((*str(row["k"]).split(":", 1), row["n"]) for row in rows if row["s"] == REJECT_SET))
    return [row for row in rows if row["s"] != REJECT_SET]


# ------------------------------------------------------------------ from counts to facet entries


@dataclass
class FacetReading:
    """How a facet's entries are told apart: by ``km`` (a category match), ``kg`` (above the threshold) or by
    value (one-vs-rest, ``value`` the entry's canonical text)."""

    facet: Facet
    position: int
    type: str
    key: str  # km | kg | k
    entries: list[tuple[str, str | None]]  # (value_or_threshold text, one-vs-rest value)
    kind: str = "text"


def _stats(rows, s: int, distinct: dict[int, int]) -> ColumnStats:
    st = ColumnStats()
    for r in rows:
        if r["s"] == s:
            st.add(r)
    st.distinct = distinct.get(s)
    return st


def _canonical(value: str, kind: str) -> str:
    """Python twin of :func:`canonical`."""
    if kind == "int":
        return str(int(value.strip()))
    if kind == "bool":
        return "True" if value.strip().lower() == "true" else "False"
    return value


def _group_keys(texts) -> dict:
    """Group-variable values as pandas reads them: integers, else numbers (``1`` and ``1.0`` are one group),
    else text."""
    present = [t for t in texts if t is not None]
    for convert in (lambda t: int(t.strip()), lambda t: float(t.strip())):
        try:
            return {t: convert(t) for t in present} | {None: None}
        except ValueError:
            continue
    return {t: t for t in present} | {None: None}


def interpret(rows, distinct: dict[int, int], config: BiasConfig, plan: Plan, names: list[str] | None,
              tallies: BiasTallies) -> tuple[BiasResult, list[FacetReading], str, str | None]:
    """Facet entries with their counts, from the aggregation's rows."""
    good = _split_rejects(rows, tallies)
    label_stats = _stats(good, LABEL_SET, distinct)
    tallies.records = label_stats.count
    label_type = label_stats.type_for(config.label_values)
    tallies.label_type = label_type
    y_key = "yg" if label_type == CONTINUOUS else "ym"
    if label_type == CONTINUOUS:
        t = _threshold(config.label_values, "label_values_or_threshold", config.source)
        label_text = interval_text(t, label_stats.typed_max()) if label_stats.count else ""
    else:
        label_text = values_text(config.label_values)
    p_key = None
    if plan.post:
        pred_stats = _stats(good, PRED_SET, distinct)
        pred_type = pred_stats.type_for(config.label_values)
        if tallies.records and pred_type != label_type:
            raise InputError(f"Predicted Label Column series datatype is not the same as Label Column series: the "
                             f"labels are {label_type}, the predicted labels {pred_type} (label_values_or_threshold "
                             f"{config.label_values!r})")
        p_key = "pg" if label_type == CONTINUOUS else "pm"
    group_keys = _group_keys({r["g"] for r in good if r["s"] < LABEL_SET})
    groups = group_order(set(group_keys.values()))
    result = BiasResult(config.label_name, label_text)
    readings = []
    for i, (facet, position) in enumerate(zip(config.facets, plan.facet_positions, strict=True)):
        name = _facet_name(facet, position, names)
        cells = [r for r in good if r["s"] == i]
        stats = _stats(good, i, distinct)
        if facet.values is None:
            stats.distinct = len({_canonical(r["k"], stats.kind) for r in cells})
        ftype = stats.type_for(facet.values)
        tallies.facet_types[name] = ftype
        if ftype == CONTINUOUS:
            if facet.values is None:
                raise InputError(f"facet {name!r} is continuous ({stats.kind} values, {stats.distinct} distinct of "
                                 f"{stats.count}): give value_or_threshold with exactly one threshold (the "
                                 "sensitive group is the values above it)")
            t = _threshold(facet.values, f"facet {name!r} value_or_threshold", config.source)
            reading = FacetReading(facet, position, ftype, "kg", [(interval_text(t, stats.typed_max()), None)],
                                   stats.kind)
        elif facet.values is not None:
            reading = FacetReading(facet, position, ftype, "km", [(values_text(facet.values), None)], stats.kind)
        else:
            order: dict[str, int] = {}
            for r in cells:
                v = _canonical(r["k"], stats.kind)
                order[v] = min(order.get(v, r["first"]), r["first"])
            reading = FacetReading(facet, position, ftype, "k",
                                   [(v, v) for v in sorted(order, key=lambda v: order[v])], stats.kind)
        readings.append(reading)
        entries = []
        for text, value in reading.entries:
            counts = FacetCounts(groups=groups, has_group_variable=plan.group_position is not None)
            for r in cells:
                d = (_canonical(r["k"], stats.kind) == value) if reading.key == "k" else bool(r[reading.key])
                counts.add(d, bool(r[y_key]), None if p_key is None else bool(r[p_key]), group_keys[r["g"]],
                           r["n"])
            entries.append(FacetEntry(text, counts))
        result.facets[name] = entries
    if plan.post and tallies.records:
        any_entry = next(iter(result.facets.values()))[0].counts
        if any_entry.n(yhat=True) == 0:
            if label_type == CONTINUOUS:
                why = (f"the labels are continuous ({label_stats.kind} values, {label_stats.distinct} distinct of "
                       f"{label_stats.count}: Clarify reads integers with at least 5 % distinct values as numbers), "
                       f"so a positive prediction is one above {config.label_values[0]!r} and there is none")
            else:
                why = f"no prediction is one of {config.label_values!r}"
            raise InputError("No Label values are present in the predicted Label Column,Positive Predicted Index "
                             f"Series contains all False values ({why})")
    return result, readings, y_key, p_key


def _threshold(values: list, what: str, source: str):
    try:
        return threshold_of(values, what)
    except MetricError as e:
        raise InputError(f"{source}: {e}") from None


def _facet_name(facet: Facet, position: int, names: list[str] | None) -> str:
    if isinstance(facet.name_or_index, str):
        return facet.name_or_index
    return names[position] if names and position < len(names) else str(facet.name_or_index)
