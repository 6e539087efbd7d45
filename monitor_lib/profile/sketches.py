"""Sketch decoding: DataSketches KLL / HLL / frequent items produced by Spark, and the Deequ layout.

SageMaker serialises its KLL sketch as Deequ's compactor levels: ``data[i]`` holds the items of level
``i``, each weighing ``2**i``. Our KLL is Apache DataSketches' (Spark's native ``kll_sketch_agg_double``),
whose retained items also carry power-of-two weights, so it maps onto that layout without loss, and a
:class:`WeightedItems` built from either layout answers the rank queries buckets and drift need.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import datasketches as ds
import numpy as np

DEEQU_SHRINKING_FACTOR = 0.64  # the "c" SageMaker writes in sketch.parameters


def kll_from_bytes(blob: bytes | None):
    return ds.kll_doubles_sketch.deserialize(bytes(blob)) if blob else None


def hll_from_bytes(blob: bytes | None):
    return ds.hll_sketch.deserialize(bytes(blob)) if blob else None


def frequent_from_bytes(blob: bytes | None):
    return ds.frequent_strings_sketch.deserialize(bytes(blob)) if blob else None


def kll_levels(sketch) -> list[list[float]]:
    """The sketch's retained items as Deequ levels: ``levels[i]`` are the items of weight ``2**i``.

    Read from the compact serialisation (the format Spark's Java sketches and the C++ library share):
    the Python iterator of ``datasketches`` 5.2 reports wrong weights when level 0 is empty.
    """
    if sketch is None or sketch.is_empty():
        return []
    return kll_levels_from_bytes(bytes(sketch.serialize()))


_KLL_FAMILY = 15
_FLAG_EMPTY, _FLAG_SINGLE = 1, 4


def kll_levels_from_bytes(blob: bytes) -> list[list[float]]:
    """Decode a compact DataSketches KLL-doubles serialisation into Deequ levels.

    Layout: preamble (8 bytes: preamble ints, serial version, family 15, flags, k, m, unused), then for
    a full sketch n (8), min k (2), number of levels (1), unused (1), the level offsets (4 each, the
    last one implied), min and max item, and the retained items level by level.
    """
    if len(blob) < 8 or blob[2] != _KLL_FAMILY:
        raise ValueError("not a DataSketches KLL sketch")
    flags = blob[3]
    if flags & _FLAG_EMPTY:
        return []
    if flags & _FLAG_SINGLE:
        return [[struct.unpack_from("<d", blob, 8)[0]]]
    n = struct.unpack_from("<Q", blob, 8)[0]
    num_levels = blob[18]
    offsets = list(struct.unpack_from(f"<{num_levels}I", blob, 20))
    items_at = 20 + 4 * num_levels + 16  # after min and max
    count = (len(blob) - items_at) // 8
    items = struct.unpack_from(f"<{count}d", blob, items_at)
    offsets.append(offsets[0] + count)
    base = offsets[0]
    levels = [list(items[offsets[i] - base: offsets[i + 1] - base]) for i in range(num_levels)]
    while levels and not levels[-1]:
        levels.pop()
    weight = sum(len(lv) << i for i, lv in enumerate(levels))
    if weight != n:
        raise ValueError(f"KLL sketch levels weigh {weight}, expected n = {n}")
    return levels


def kll_summary_from_bytes(blob: bytes | None) -> tuple[int, float | None, float | None]:
    """``(n, min, max)`` of a compact DataSketches KLL-doubles serialisation (none: ``(0, None, None)``), read from
    its header (the sketch keeps the count and the extremes exactly): the profiler takes a numeric column's count,
    min and max from it."""
    if blob is None:
        return 0, None, None
    blob = bytes(blob)
    if len(blob) < 8 or blob[2] != _KLL_FAMILY:
        raise ValueError("not a DataSketches KLL sketch")
    flags = blob[3]
    if flags & _FLAG_EMPTY:
        return 0, None, None
    if flags & _FLAG_SINGLE:
        x = struct.unpack_from("<d", blob, 8)[0]
        return 1, x, x
    n = struct.unpack_from("<Q", blob, 8)[0]
    at = 20 + 4 * blob[18]  # after n, min k, the number of levels and the level offsets
    lo, hi = struct.unpack_from("<2d", blob, at)
    return n, lo, hi


@dataclass(frozen=True)
class WeightedItems:
    """A sorted weighted sample (a KLL sketch's retained items) with exact rank queries over it."""

    items: np.ndarray  # sorted
    cum_weights: np.ndarray  # cum_weights[j] = total weight of items[0..j]

    @staticmethod
    def from_levels(levels: list[list[float]]) -> WeightedItems:
        items = np.concatenate([np.asarray(lv, dtype=float) for lv in levels]) if levels else np.empty(0)
        weights = (np.concatenate([np.full(len(lv), float(1 << i)) for i, lv in enumerate(levels)])
                   if levels else np.empty(0))
        order = np.argsort(items, kind="stable")
        return WeightedItems(items[order], np.cumsum(weights[order]))

    @property
    def total_weight(self) -> float:
        return float(self.cum_weights[-1]) if len(self.cum_weights) else 0.0

    def rank_exclusive(self, x: float) -> float:
        """Total weight of the items strictly below ``x``."""
        j = int(np.searchsorted(self.items, x, side="left"))
        return float(self.cum_weights[j - 1]) if j else 0.0

    def rank_inclusive(self, x: float) -> float:
        """Total weight of the items at or below ``x``."""
        j = int(np.searchsorted(self.items, x, side="right"))
        return float(self.cum_weights[j - 1]) if j else 0.0

    def cdf(self, xs: np.ndarray) -> np.ndarray:
        """Inclusive normalised CDF at each x (``rank(x) / n``)."""
        if not len(self.items):
            return np.zeros(len(xs))
        j = np.searchsorted(self.items, xs, side="right")
        cw = np.concatenate([[0.0], self.cum_weights])
        return cw[j] / self.total_weight


def equal_width_buckets(lo: float, hi: float, ranks: WeightedItems,
                        n_buckets: int = 10) -> list[tuple[float, float, float]]:
    """SageMaker's 10 equal-width buckets over [min, max] (Deequ KLLSketch.computeMetricFrom).

    Bucket i is ``[lo_i, hi_i)`` counted as ``rank_exclusive(hi_i) - rank_exclusive(lo_i)``; the last one
    is closed: ``rank_inclusive(hi) - rank_exclusive(lo_i)``.
    """
    out = []
    for i in range(n_buckets):
        low = lo + (hi - lo) * i / float(n_buckets)
        high = lo + (hi - lo) * (i + 1) / float(n_buckets)
        upper_rank = ranks.rank_inclusive(high) if i == n_buckets - 1 else ranks.rank_exclusive(high)
        out.append((low, high, upper_rank - ranks.rank_exclusive(low)))
    return out


def hll_estimate(sketch) -> float:
    """Distinct-count estimate rounded to a whole number, as SageMaker prints it (e.g. ``4811.0``)."""
    return float(round(sketch.get_estimate())) if sketch is not None else 0.0


def frequent_items_exact(sketch) -> list[tuple[str, int]] | None:
    """All items with exact counts, or None when the sketch has purged (more distinct values than it holds)."""
    if sketch is None or sketch.is_empty():
        return []
    rows = sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
    if any(ub != lb for _, _, lb, ub in rows) or sum(est for _, est, _, _ in rows) != sketch.total_weight:
        return None
    return [(item, int(est)) for item, est, _, _ in rows]


def kll_rank_error(k: int) -> float:
    """DataSketches' normalized single-rank error of a KLL sketch of parameter k (99 % confidence)."""
    return 2.296 / math.pow(k, 0.9723)
