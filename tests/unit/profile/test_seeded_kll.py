"""The seeded KLL (monitor_lib/profile/kll.py) against the DataSketches C++ library (Python ``datasketches``):
the same compact bytes, the same level layout for the same items, its own sketches readable and mergeable by the
library, ranks within DataSketches' error bound of numpy's exact ranks, and the same bytes for the same seed."""

from __future__ import annotations

import struct

import datasketches as dsk
import numpy as np
import pytest

from monitor_lib.profile.kll import SeededKll, merge_kll_bytes, stable_seed, total_capacity
from monitor_lib.profile.sketches import kll_levels_from_bytes, kll_rank_error

CASES = [(2048, 50_000), (200, 300_000), (8, 5_000), (2048, 3_000), (2048, 2_048), (2048, 2_049), (2048, 1)]


def _worst_rank_error(sketch, values: np.ndarray) -> float:
    v = np.sort(values)
    worst = 0.0
    for q in np.linspace(0.01, 0.99, 99):
        x = float(np.quantile(values, q))
        worst = max(worst, abs(sketch.get_rank(x, True) - np.searchsorted(v, x, "right") / len(v)))
    return worst


@pytest.mark.parametrize("k,n", CASES)
def test_reads_and_writes_the_libraries_bytes(k, n):
    values = np.random.default_rng(n).normal(size=n)
    real = dsk.kll_doubles_sketch(k)
    real.update(values)
    blob = bytes(real.serialize())
    if n > 1:  # the offsets end at DataSketches' total capacity for that many levels
        levels = blob[18]
        first = struct.unpack_from("<I", blob, 20)[0]
        assert first + real.num_retained == total_capacity(k, levels)
    mine = SeededKll.deserialize(blob, 1).serialize()
    assert mine[:3] + mine[4:] == blob[:3] + blob[4:]  # byte 3: the library may flag level 0 as sorted


@pytest.mark.parametrize("k,n", CASES)
def test_own_sketches_are_valid_bounded_and_reproducible(k, n):
    values = np.random.default_rng(k + n).lognormal(size=n)

    def build(seed):
        s = SeededKll(k, seed)
        for chunk in np.array_split(values, 7):
            s.update(chunk)
        return s

    a = build(42)
    blob = a.serialize()
    assert build(42).serialize() == blob  # same seed, same updates: same bytes
    lib = dsk.kll_doubles_sketch.deserialize(blob)
    assert (lib.n, lib.get_min_value(), lib.get_max_value()) == (n, values.min(), values.max())
    assert sum(len(level) << i for i, level in enumerate(kll_levels_from_bytes(blob))) == n
    if n >= 100:
        assert _worst_rank_error(lib, values) <= kll_rank_error(k)
    # the same items, level by level, as the library's sketch of the same values (only which ones differ)
    real = dsk.kll_doubles_sketch(k)
    for chunk in np.array_split(values, 7):
        real.update(chunk)
    assert [len(x) for x in kll_levels_from_bytes(blob)] == [len(x) for x in kll_levels_from_bytes(
        bytes(real.serialize()))]


def test_merges_with_the_librarys_sketches_in_a_fixed_order():
    rng = np.random.default_rng(3)
    parts = [rng.normal(i, 1, 20_000) for i in range(4)]
    blobs = []
    for i, p in enumerate(parts):
        if i % 2:  # half of them built by the C++ library, as Spark's native partials are by the Java one
            s = dsk.kll_doubles_sketch(2048)
            s.update(p)
            blobs.append(bytes(s.serialize()))
        else:
            s = SeededKll(2048, i)
            s.update(p)
            blobs.append(s.serialize())
    seed = stable_seed("merge")
    merged = merge_kll_bytes(blobs, seed)
    assert merged == merge_kll_bytes(blobs, seed)
    lib = dsk.kll_doubles_sketch.deserialize(merged)
    everything = np.concatenate(parts)
    assert lib.n == len(everything) and lib.get_min_value() == everything.min()
    assert _worst_rank_error(lib, everything) <= kll_rank_error(2048)
    assert merge_kll_bytes([], seed) is None


def test_empty_and_single_item_formats():
    empty = SeededKll(2048, 0).serialize()
    assert dsk.kll_doubles_sketch.deserialize(empty).is_empty()
    assert bytes(dsk.kll_doubles_sketch(2048).serialize()) == empty
    one = SeededKll(2048, 0)
    one.update(np.array([2.5]))
    real = dsk.kll_doubles_sketch(2048)
    real.update(2.5)
    assert one.serialize() == bytes(real.serialize())
    both = SeededKll.deserialize(one.serialize(), 1)
    both.merge(SeededKll.deserialize(empty, 1))
    assert both.serialize() == one.serialize()


def test_stable_seed_is_the_same_in_every_process():
    import subprocess
    import sys

    assert stable_seed("kll", 3, 0) == stable_seed("kll", 3, 0) != stable_seed("kll", 3, 1)
    code = "from monitor_lib.profile.kll import stable_seed; print(stable_seed('kll', 'a', 0))"
    seeds = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONHASHSEED": str(h), "PATH": ""}).stdout.strip() for h in (1, 2)}
    assert seeds == {str(stable_seed("kll", "a", 0))}  # not Python's per-process string hash
