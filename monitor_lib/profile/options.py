"""Knobs of the profiler."""

from __future__ import annotations

from dataclasses import dataclass

from monitor_lib.errors import ConfigError

DEFAULT_MAX_CATEGORIES = 120  # Deequ ColumnProfiler.DEFAULT_CARDINALITY_THRESHOLD


@dataclass(frozen=True)
class ProfileOptions:
    """Knobs of the profiler. The defaults reproduce what SageMaker's analyzer does."""

    max_categories: int = DEFAULT_MAX_CATEGORIES  # categorical buckets / domains only up to this many distinct values
    kll_k: int = 2048  # KLL sketch size; Deequ's default sketch size, normalized rank error ~0.14 %
    hll_lg_k: int = 14  # HLL precision: 2^14 registers, relative standard error ~0.8 %
    wide_max_columns: int | None = None  # up to this many columns one global aggregation (None: auto, see profiler)
    # where the KLL / frequent-items sketches are built: "auto" (native Spark aggregates when the running
    # Spark has them, else Python per partition), "native", "python"; $MODEL_MONITOR_SKETCHES when "auto"
    sketches: str = "auto"

    def __post_init__(self) -> None:
        if not 1 <= self.max_categories <= 100_000:
            raise ConfigError(f"max_categories must be between 1 and 100000, got {self.max_categories}")
        if not 8 <= self.kll_k <= 65535:
            raise ConfigError(f"kll_k must be between 8 and 65535, got {self.kll_k}")
        if not 4 <= self.hll_lg_k <= 21:
            raise ConfigError(f"hll_lg_k must be between 4 and 21, got {self.hll_lg_k}")
        if self.wide_max_columns is not None and self.wide_max_columns < 0:
            raise ConfigError(f"wide_max_columns must be >= 0, got {self.wide_max_columns}")
        if self.sketches not in ("auto", "native", "python"):
            raise ConfigError(f"sketches must be one of auto, native, python, got {self.sketches!r}")
