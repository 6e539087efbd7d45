"""Issue 17 in the pure checks: the extra-column cap (one summarising violation, exact count, names cut) and the
String baseline under ``string_accepts_numeric`` with the examples of values that failed a type check.
References: the values the tests build (counted here), the texts written out."""

from __future__ import annotations

from collections import Counter

from test_checks import NO_STATS, column, constraints, found, profile

from monitor_lib.checks.data_quality import (
    EXTRA_COLUMNS_CAP,
    NAME_SHOWN_CHARS,
    TYPE_EXAMPLES,
    check_data_quality,
    extra_column_violations,
    feature_measurements,
    type_mismatch_examples,
)
from monitor_lib.profile.state import Profile, bounded_profile


def test_up_to_the_cap_one_violation_each_above_one_summary():
    names = [f"k{i}" for i in range(EXTRA_COLUMNS_CAP + 1)]
    assert [v.feature_name for v in extra_column_violations(names[:-1])] == names[:-1]
    (summary,) = extra_column_violations(names)
    assert summary.feature_name == f"({len(names)} extra columns)"
    assert summary.description.endswith(f"the first 10: {', '.join(names[:10])} and {len(names) - 10} more.")
    assert f"Observed: {len(names)} columns are not in the baseline" in summary.description


def test_long_names_are_cut_in_the_summary():
    long = "x" * 5000
    (summary,) = extra_column_violations([long] + [f"k{i}" for i in range(EXTRA_COLUMNS_CAP)])
    assert "x" * (NAME_SHOWN_CHARS - 1) + "…," in summary.description
    assert len(summary.description) < 600


def test_check_counts_every_extra_column_and_the_profile_keeps_the_first():
    extra = {f"e{i:03d}": ["1"] for i in range(150)}
    p = profile({"a": ["1"], **extra})
    outcome = check_data_quality(constraints([{"name": "a", "inferred_type": "Integral"}]), NO_STATS, p)
    assert found(outcome) == [("(150 extra columns)", "extra_column_check", outcome.violations[0].description)]
    kept = bounded_profile(p, list(extra)[EXTRA_COLUMNS_CAP:])
    assert [c.name for c in kept.columns] == ["a"] + list(extra)[:EXTRA_COLUMNS_CAP]
    assert kept.item_count == p.item_count and bounded_profile(p, []) is p
    assert isinstance(kept, Profile)


def test_string_baseline_accepts_numbers_only_with_the_key():
    values = ["85086.0"] * 6 + ["85001.0"] * 3 + ["85254"] * 2 + ["1e5", "Unknown"]
    p = profile({"zipcode": values})
    feature = [{"name": "zipcode", "inferred_type": "String"}]
    default = check_data_quality(constraints(feature), NO_STATS, p)
    assert [v.description for v in default.violations] == [
        "Data type match requirement is not met. Expected data type: String, Expected match: 100.0%. "
        f"Observed: Only {1 / len(values) * 100}% of data is String."]
    counts = Counter(v for v in values if v != "Unknown")
    expected = [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:TYPE_EXAMPLES]
    (measured,) = feature_measurements(constraints(feature), default)
    assert measured["type_mismatch_examples"] == expected
    accepted = check_data_quality(constraints(feature, string_accepts_numeric=True), NO_STATS, p)
    assert accepted.violations == [] and accepted.features[0].type_match == 1.0
    assert accepted.features[0].type_examples == []
    per_feature = [{"name": "zipcode", "inferred_type": "String",
                    "monitoringConfigOverrides": {"string_accepts_numeric": True}}]
    assert check_data_quality(constraints(per_feature), NO_STATS, p).violations == []
    # a feature override can switch it off again under a global true
    off = [{"name": "zipcode", "inferred_type": "String",
            "monitoringConfigOverrides": {"string_accepts_numeric": False}}]
    assert len(check_data_quality(constraints(off, string_accepts_numeric=True), NO_STATS, p).violations) == 1


def test_examples_for_numeric_baselines_and_their_limits():
    col = column("age", ["35"] * 5 + ["35.5", "n/a", "n/a", "unknown"])
    assert type_mismatch_examples("Integral", col) == ["n/a", "35.5", "unknown"]
    assert type_mismatch_examples("Fractional", col) == ["n/a", "unknown"]
    assert type_mismatch_examples("Unknown", col) == []
    # a purged frequent-items sketch keeps only frequent (or recent) values: an early rare failure is gone
    gone = column("id", ["oops"] + [str(i) for i in range(3000)])
    assert type_mismatch_examples("Integral", gone) == []
    assert gone.present - gone.n_integral == 1  # while the counts still see it
    long = column("t", ["x" * 500])
    (value,) = type_mismatch_examples("Integral", long)
    assert len(value) == 100 and value.endswith("…")
