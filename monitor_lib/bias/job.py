"""One bias analysis: records → the aggregation → facet entries → the flip test."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from monitor_lib.bias.aggregate import (
    BiasTallies,
    Plan,
    above,
    aggregate_bias,
    canonical,
    collect,
    interpret,
    matches,
    rejected_examples,
)
from monitor_lib.bias.analysis import BiasResult
from monitor_lib.bias.config import BiasConfig
from monitor_lib.bias.records import BiasSource, bias_records
from monitor_lib.io.dataset_format import DatasetFormat

log = logging.getLogger(__name__)


@dataclass
class BiasRun:
    tallies: BiasTallies
    result: BiasResult | None = None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def analyse(ctx, params, config: BiasConfig, source: str, fmt: DatasetFormat,
            probability_threshold: float | None) -> BiasRun:
    """``ctx``: the run's context (its Spark session starts once the dataset's columns check out)."""
    src = bias_records(lambda: ctx.spark, params, config, source, fmt)
    tallies = BiasTallies()
    if src is None:
        return BiasRun(tallies)
    where = source
    plan = Plan(facet_positions=[src.position(f.name_or_index, f"facet[{i}].name_or_index", where)
                                 for i, f in enumerate(config.facets)],
                group_position=None if config.group_variable is None else src.position(
                    config.group_variable, "group_variable", where),
                post="post_training_bias" in config.methods, probability_threshold=probability_threshold)
    flip = "FT" in config.methods.get("post_training_bias", ())
    grouped, typed = aggregate_bias(src, config, plan)
    if flip:
        from pyspark import StorageLevel

        typed = typed.persist(StorageLevel.MEMORY_AND_DISK)  # the flip test reads the records again
    try:
        rows, distinct = collect(grouped, tallies)
        log.info("bias aggregation: %d cells", len(rows))
        result, readings, _, p_key = interpret(rows, distinct, config, plan, src.names, tallies)
        rejected_examples(typed, tallies)
        run = BiasRun(tallies, result, src.files)
        if flip and tallies.records:
            _flip_tests(ctx.spark, src, typed, config, plan, result, readings, p_key, params, run)
    finally:
        if flip:
            typed.unpersist()
    return run


def _flip_tests(spark, src: BiasSource, typed, config: BiasConfig, plan: Plan, result: BiasResult, readings,
                p_key: str, params, run: BiasRun) -> None:
    from pyspark.sql import functions as F

    from monitor_lib.bias.flip import flip_test

    width = len(src.names) if src.names is not None else int(
        typed.where(F.col("status").isNull()).select(F.max(F.size("x"))).first()[0] or 0)
    pred = F.col("pred")
    yhat = above(pred, config.label_values) if p_key == "pg" else matches(pred, config.label_values)
    for reading, entries in zip(readings, result.facets.values(), strict=True):
        f = F.try_element_at(F.col("x"), F.lit(reading.position + 1))
        positions = [j for j in range(width) if j != reading.position and j not in src.excluded]
        for (text, value), entry in zip(reading.entries, entries, strict=True):
            if reading.key == "k":
                d = F.coalesce(canonical(f, reading.kind) == F.lit(value), F.lit(False))
            else:
                d = matches(f, reading.facet.values) if reading.key == "km" else above(f, reading.facet.values)
            n_d, n_a = entry.counts.n(d=True), entry.counts.n(d=False)
            entry.flip, note = flip_test(typed, d, yhat, positions, n_a, n_d, params.flip_test_rows, params.seed,
                                         spark)
            if note:
                run.notes.append(f"{note} (facet {next(k for k, v in result.facets.items() if v is entries)}"
                                 f"={text})")
            log.info("FT of %s: %s", text, entry.flip)
