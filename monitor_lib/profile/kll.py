"""A KLL sketch of doubles whose coin flips come from a seed: the same updates and merges, in the same order, give
the same bytes.

Both DataSketches libraries flip their compaction coins with a generator nobody can seed: the Java library
(Spark's ``kll_sketch_agg_double``) with one static ``java.util.Random`` shared by every task of the JVM, the C++
library (Python ``datasketches``) with a thread-local generator seeded from the clock. Two runs over the same data
then keep different items, and statistics.json's bucket counts and sketch differ within the rank error.

This is the same algorithm — DataSketches' level capacities (``k``, ``m = 8``, the 2/3 decay), compaction of the
lowest full level, an odd item left behind, level 0 sorted before it is halved, sorted higher levels — with the coin
drawn from ``numpy``'s PCG64 seeded by the caller. It reads and writes DataSketches' compact serialisation (the
format Spark's Java sketches and the C++ library share), so every reader of profile states takes its bytes, and it
merges sketches of either origin.
"""

from __future__ import annotations

import functools
import struct
import zlib

import numpy as np

from monitor_lib.profile.sketches import kll_levels_from_bytes

M = 8  # DataSketches' minimum level width
_FAMILY = 15
_EMPTY, _LEVEL_ZERO_SORTED, _SINGLE = 1, 2, 4


def stable_seed(*parts) -> int:
    """A 64-bit seed from the parts' text (Python's ``hash`` of a string changes from process to process)."""
    text = "\x1f".join(repr(p) for p in parts).encode("utf-8")
    return (zlib.crc32(text) << 32) | zlib.adler32(text)


def _int_cap_aux_aux(k: int, depth: int) -> int:
    return ((2 * k << depth) // 3 ** depth + 1) >> 1


def _int_cap_aux(k: int, depth: int) -> int:
    if depth <= 30:
        return _int_cap_aux_aux(k, depth)
    half = depth // 2
    return _int_cap_aux_aux(_int_cap_aux_aux(k, half), depth - half)


@functools.cache
def level_capacity(k: int, num_levels: int, height: int) -> int:
    """DataSketches ``kll_helper::level_capacity``: about ``k·(2/3)^depth``, at least ``M``."""
    return max(M, _int_cap_aux(k, num_levels - height - 1))


@functools.cache
def total_capacity(k: int, num_levels: int) -> int:
    return sum(level_capacity(k, num_levels, h) for h in range(num_levels))


class SeededKll:
    """A KLL sketch of doubles (NaN-free values) with seeded compaction."""

    def __init__(self, k: int, seed: int, min_k: int | None = None):
        self.k = k
        self.min_k = min_k if min_k is not None else k
        self.n = 0
        self.min: float | None = None
        self.max: float | None = None
        self.levels: list[np.ndarray] = [np.empty(0)]  # level 0 in update order; higher levels sorted
        self._rng = np.random.Generator(np.random.PCG64(seed))

    # ------------------------------------------------------------------ updates

    @property
    def retained(self) -> int:
        return sum(len(level) for level in self.levels)

    def update(self, values: np.ndarray) -> None:
        """Add the values (finite doubles) in order."""
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            return
        self.n += len(values)
        self._extend_range(float(values.min()), float(values.max()))
        self._insert(values)

    def _extend_range(self, lo: float | None, hi: float | None) -> None:
        if lo is not None:
            self.min = lo if self.min is None else min(self.min, lo)
        if hi is not None:
            self.max = hi if self.max is None else max(self.max, hi)

    def _insert(self, values: np.ndarray) -> None:
        """Append to level 0, compacting whenever the sketch is full (DataSketches ``compress_while_updating``)."""
        pos, retained = 0, self.retained
        while pos < len(values):
            free = total_capacity(self.k, len(self.levels)) - retained
            if free <= 0:
                retained -= self._compact(self._level_to_compact())
                continue
            take = values[pos:pos + free]
            self.levels[0] = np.concatenate([self.levels[0], take])
            pos += len(take)
            retained += len(take)

    def _level_to_compact(self) -> int:
        n_levels = len(self.levels)
        for h, level in enumerate(self.levels):
            if len(level) >= level_capacity(self.k, n_levels, h):
                return h
        raise AssertionError("a full KLL sketch has a full level")

    def _compact(self, h: int) -> int:
        """Halve level ``h`` into level ``h + 1``: sort it (level 0), leave an odd first item, keep every other one.
        Returns the number of items dropped."""
        if h == len(self.levels) - 1:
            self.levels.append(np.empty(0))
        level = self.levels[h]
        odd = len(level) % 2
        body = level[odd:]
        if h == 0:
            body = np.sort(body, kind="stable")
        offset = int(self._rng.integers(2))
        promoted = body[offset::2]
        self.levels[h] = level[:odd].copy()
        above = self.levels[h + 1]
        self.levels[h + 1] = (np.sort(np.concatenate([above, promoted]), kind="stable") if len(above)
                              else promoted.copy())
        return len(body) - len(promoted)

    def merge(self, other: SeededKll) -> None:
        """Add ``other``'s items (its level 0 as updates, its higher levels level by level), then compact the lowest
        full levels until the items fit (DataSketches ``merge`` / ``general_compress``)."""
        if other.n == 0:
            return
        self.min_k = min(self.min_k, other.min_k)
        self._extend_range(other.min, other.max)
        self.n += other.n
        self._insert(other.levels[0])
        for h in range(1, len(other.levels)):
            if not len(other.levels[h]):
                continue
            while len(self.levels) <= h:
                self.levels.append(np.empty(0))
            mine = self.levels[h]
            self.levels[h] = np.sort(np.concatenate([mine, other.levels[h]]), kind="stable")
        while self.retained > total_capacity(self.k, len(self.levels)):
            self._compact(self._level_to_compact())

    # ------------------------------------------------------------------ bytes

    def serialize(self) -> bytes:
        """DataSketches' compact KLL-doubles serialisation (the layout ``kll_levels_from_bytes`` reads)."""
        if self.n == 0:
            return struct.pack("<BBBBHBB", 2, 1, _FAMILY, _EMPTY, self.k, M, 0)
        if self.n == 1:
            return struct.pack("<BBBBHBBd", 2, 2, _FAMILY, _SINGLE, self.k, M, 0, float(self.levels[0][0]))
        levels = list(self.levels)
        while len(levels) > 1 and not len(levels[-1]):
            levels.pop()
        n_levels = len(levels)
        capacity = total_capacity(self.k, n_levels)
        offsets, at = [], capacity - sum(len(level) for level in levels)
        for level in levels:
            offsets.append(at)
            at += len(level)
        head = struct.pack("<BBBBHBBQHBB", 5, 1, _FAMILY, 0, self.k, M, 0, self.n, self.min_k, n_levels, 0)
        return (head + struct.pack(f"<{n_levels}I", *offsets) + struct.pack("<dd", self.min, self.max)
                + np.concatenate(levels).astype("<f8").tobytes())

    @staticmethod
    def deserialize(blob: bytes, seed: int) -> SeededKll:
        """A sketch from compact KLL-doubles bytes (ours, Spark's Java sketches or the C++ library's)."""
        blob = bytes(blob)
        levels = kll_levels_from_bytes(blob)  # checks the family and that the levels weigh n
        k = struct.unpack_from("<H", blob, 4)[0]
        flags = blob[3]
        sketch = SeededKll(k, seed)
        if flags & _EMPTY:
            return sketch
        if flags & _SINGLE:
            sketch.n = 1
            sketch.min = sketch.max = levels[0][0]
        else:
            sketch.n, sketch.min_k = struct.unpack_from("<QH", blob, 8)
            n_levels = blob[18]
            sketch.min, sketch.max = struct.unpack_from("<dd", blob, 20 + 4 * n_levels)
        sketch.levels = [np.asarray(level, dtype=np.float64) for level in levels] or [np.empty(0)]
        for h in range(1, len(sketch.levels)):  # the format keeps higher levels sorted; make sure
            sketch.levels[h] = np.sort(sketch.levels[h], kind="stable")
        return sketch


def merge_kll_bytes(blobs: list[bytes], seed: int) -> bytes | None:
    """The seeded merge of serialised KLL sketches, in the order given (None when there are none)."""
    if not blobs:
        return None
    acc = SeededKll.deserialize(blobs[0], seed)
    for blob in blobs[1:]:
        acc.merge(SeededKll.deserialize(blob, seed))
    return acc.serialize()

