"""Roll-ups: the profiles of several runs (hours, days, shards of a backfill) merged into one baseline.

(The schedules' ``model-monitor rollup``, which merges a schedule's hours into days and weeks and checks them
against the baseline, is :mod:`monitor_lib.schedule.rollup`; it merges with :func:`merged_profile`.)

:func:`merge_profile_files` reads ``profile.json`` state files (local or ``s3://``), merges them (the merge is
exact for counts and moments and within the sketch error for quantiles and distinct counts, see
:func:`monitor_lib.profile.state.merge_profiles`), and writes the baseline files of the union —
SageMaker's ``statistics.json`` and suggested ``constraints.json``, plus the merged ``profile.json`` to roll
up further — into a local folder or an ``s3://`` prefix. No Spark: the profiles are small.

It sits above :mod:`monitor_lib.profile` and :mod:`monitor_lib.checks` (suggestion), which is why it is not in
either package.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from monitor_lib.checks.suggest import suggest_constraints
from monitor_lib.errors import ConfigError, FormatError
from monitor_lib.formats.constraints import write_constraints
from monitor_lib.formats.statistics import write_statistics
from monitor_lib.io import s3
from monitor_lib.io.storage import INCOMPLETE, incomplete_run, local_path, output_location
from monitor_lib.preflight import check_input, check_output
from monitor_lib.profile.state import PROFILE_FILE_NAME, Profile, merge_profiles, read_profile, write_profile
from monitor_lib.profile.summarize import statistics_from_profile

log = logging.getLogger(__name__)

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"


@dataclass
class MergedProfiles:
    """What :func:`merge_profile_files` wrote."""

    profiles: int  # how many profile files were merged
    item_count: int  # records of the union
    features: int  # columns of the union
    output_path: str  # as given: a local folder or an s3:// URI
    # statistics / constraints / profile -> where it is: a local path or an s3:// URI
    files: dict[str, str] = field(default_factory=dict)


def merge_profile_files(paths: list[str], output_path: str, categorical_drift_method: str | None,
                        kms_key: str | None = None) -> MergedProfiles:
    """Merge the profile state files ``paths`` and write the union's baseline into ``output_path``.

    ``categorical_drift_method`` is the suggested constraints' method for categorical drift (None: the
    default); ``kms_key`` encrypts ``s3://`` outputs with SSE-KMS. Nothing is written when a file cannot be
    read or the profiles cannot be merged (different sketch sizes): the error names the file.
    """
    if not paths:
        raise ConfigError("merge-profiles needs at least one profile file (profile.json of a baseline or "
                          "monitoring run)")
    check_output(output_path, "--output")
    merged = merged_profile(paths)
    statistics = statistics_from_profile(merged)
    constraints = suggest_constraints(statistics, categorical_drift_method)
    with output_location(output_path, kms_key, run=True) as out:  # whole or absent, one writer
        local = {"statistics": os.path.join(out, STATISTICS_FILE),
                 "constraints": os.path.join(out, CONSTRAINTS_FILE),
                 "profile": os.path.join(out, PROFILE_FILE_NAME)}
        write_statistics(statistics, local["statistics"])
        write_constraints(constraints, local["constraints"])
        write_profile(merged, local["profile"])
        files = {name: out.public(path) for name, path in local.items()}
    log.info("merged %d profile(s): %d records, %d features, written to %s", len(paths), merged.item_count,
             len(merged.columns), output_path)
    return MergedProfiles(len(paths), merged.item_count, len(merged.columns), output_path, files)


def merged_profile(paths: list[str]) -> Profile:
    """The profile state files ``paths`` (local or ``s3://``) read and merged; a file in an incomplete run folder,
    one that cannot be read and profiles of different sketch sizes are errors naming the file. ``merge-profiles``
    and the schedules' roll-ups (:mod:`monitor_lib.schedule.rollup`) merge with it."""
    for p in paths:
        folder = p.rsplit("/", 1)[0] if s3.is_s3(p) else os.path.dirname(os.path.abspath(local_path(p)))
        if incomplete_run(folder):
            raise ConfigError(f"{p} is in an incomplete run folder ({INCOMPLETE}: its run was killed while "
                              "being written): re-run that window first")
    for p in paths:
        check_input(p, "profile", file=True)
    return _merged([(p, _read_profile(p)) for p in paths])


def _read_profile(path: str) -> Profile:
    try:
        return read_profile(path)
    except UnicodeDecodeError as e:
        raise FormatError(path, "", f"not UTF-8 text (byte {e.start}): not a profile state file") from None


def _merged(profiles: list[tuple[str, Profile]]) -> Profile:
    first_path, merged = profiles[0]
    for path, profile in profiles[1:]:
        if (profile.kll_k, profile.hll_lg_k) != (merged.kll_k, merged.hll_lg_k):
            raise FormatError(path, "parameters",
                              f"sketch sizes kll_k {profile.kll_k}, hll_lg_k {profile.hll_lg_k} differ from "
                              f"{first_path}'s (kll_k {merged.kll_k}, hll_lg_k {merged.hll_lg_k}): profiles "
                              "merge only with the same sketch sizes")
        merged = merge_profiles(merged, profile)
    return merged
