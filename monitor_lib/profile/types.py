"""Deequ's data-type inference, as SageMaker's analyzer applies it (spec §4.2).

Each non-null value of a string column is classified by regular expression; the column's type is
decided afterwards from the counts, so classification runs inside the one Spark aggregation and the
decision is plain Python.
"""

from __future__ import annotations

import re

# Deequ StatefulDataType regexes (Java regex syntax; Spark's rlike uses java.util.regex).
FRACTIONAL_REGEX = r"^(-|\+)? ?\d+((\.\d+)|((?:\.\d+)?[Ee][-+]?\d+))$"
INTEGRAL_REGEX = r"^(-|\+)? ?\d+$"
BOOLEAN_REGEX = r"^(true|false)$"
# Integral or Fractional in one pattern: FRACTIONAL_REGEX with its suffix (fraction or exponent) optional.
NUMBER_REGEX = r"^(-|\+)? ?\d+((\.\d+)|((?:\.\d+)?[Ee][-+]?\d+))?$"
# The characters a value matching any of the three patterns can start with (the profiler's cheap pre-test).
CLASS_FIRST_CHARACTERS = ("-", "+", " ", *"0123456789", "t", "f")

# Codes of the per-value class computed in Spark.
INTEGRAL, FRACTIONAL, BOOLEAN, STRING = 1, 2, 3, 4

# Deequ type names.
T_INTEGRAL, T_FRACTIONAL, T_STRING, T_BOOLEAN, T_UNKNOWN = "Integral", "Fractional", "String", "Boolean", "Unknown"
NUMERIC_TYPES = (T_INTEGRAL, T_FRACTIONAL)


_PATTERNS = [(re.compile(INTEGRAL_REGEX, re.ASCII), INTEGRAL), (re.compile(FRACTIONAL_REGEX, re.ASCII), FRACTIONAL),
             (re.compile(BOOLEAN_REGEX), BOOLEAN)]


def value_class(value: str) -> int:
    """The class code of one string value, as the Spark expression computes it (for the few values a report shows;
    ``re.ASCII`` because Java's ``\\d`` matches ASCII digits only)."""
    for pattern, code in _PATTERNS:
        if pattern.search(value):
            return code
    return STRING


def decide_type(present: int, n_integral: int, n_fractional: int, n_boolean: int) -> str:
    """Deequ's DataTypeHistogram.determineType over the counts of one column."""
    n_string = present - n_integral - n_fractional - n_boolean
    if present == 0:
        return T_UNKNOWN
    if n_string > 0 or (n_boolean > 0 and n_integral + n_fractional > 0):
        return T_STRING
    if n_boolean > 0:
        return T_BOOLEAN
    if n_fractional > 0:
        return T_FRACTIONAL
    return T_INTEGRAL


def sagemaker_type(deequ_type: str) -> str:
    """The ``inferred_type`` written to SageMaker files.

    SageMaker documents only Integral, Fractional, String and Unknown, so a column holding only
    ``true``/``false`` (Deequ's Boolean) is reported as ``String``, with the two values as its
    categorical buckets and domain.
    """
    return T_STRING if deequ_type == T_BOOLEAN else deequ_type
