"""The stages that decode SageMaker capture lines in Spark: column expressions, no Python UDF.

:func:`monitor_lib.io.capture.capture_entries` chains them to turn capture lines into named values (the rules
are in :mod:`monitor_lib.io.capture`'s docstring); other readers of capture-shaped records use the first ones
on their own — the ground-truth merge needs each line's verdict and ids, model quality decodes the endpoint
output and the ``groundTruthData`` of merged records as two parts.

Each stage is a separate projection (one ``select``) so that every parse runs once per value: Spark does not
eliminate common subexpressions inside CASE branches or lambda functions. A *part* is one payload of a
record (``captureData.endpointInput``, ``captureData.endpointOutput``, or anything with the same fields);
its columns carry a prefix ``p`` (``in``, ``out``, ``gt`` …) so several parts travel side by side:

=========================  ======================================================================
stage                      columns it produces
=========================  ======================================================================
:func:`parse_lines`        ``j``: the line parsed with :data:`CAPTURE_SCHEMA` (keeps ``line``, ``file``)
:func:`line_verdict`       one column: ``REJECT``/``SKIP`` + reason for a line that yields no record
:func:`part_fields`        ``{p}_has``, ``{p}_enc``, ``{p}_ct``, ``{p}_data``, ``{p}_raw``
:func:`fast_kind` …        the fast path (F1–F5): ``{p}_fkind``, ``{p}_fcsv``/``_fm``/``_fv``, ``{p}_fok``/
:func:`fast_entries`       ``_fpos``/``_fm``, then the names ``c`` and values ``s``, then the entries (null: not fast)
:func:`part_text`          ``{p}_fmt`` (csv | json | jsonl), ``{p}_text``, ``{p}_err``
:func:`part_json_documents`  ``{p}_wrapped``, ``{p}_bare``
:func:`part_record_texts`  ``{p}_fmt``, ``{p}_texts``
:func:`parse_record_texts`  ``{p}_csv``, ``{p}_json``
:func:`part_records`       ``{p}_err``, ``{p}_records`` (:data:`RECORDS_TYPE`), ``{p}_fmt``
:func:`record_entries`     one column of entries ``array<struct<c, s>>`` from ``in_*`` and ``out_*``
=========================  ======================================================================

The fast path (:func:`fast_part`, :func:`fast_entries`) decodes, without the later stages, the lines that make
up nearly all real traffic: a line whose verdict is null and whose every part is one CSV record of plain
fields (no quote, backslash, control character, empty field or line break), one JSON object by key (no
wrapper member, no ``features`` object, no key twice) or one JSON scalar — and whose record is profiled.
It reads those parts with the same Spark parsers as the stages (``from_json`` with the same schemas; a plain
CSV line's fields are exactly ``split`` by comma) and names the values by the same rules, so its entries are
the stages' entries; every other line (a reject, a skip, any other shape) takes the stages, whose inputs are
nulled for the lines the fast path decoded (they still run over every row: BENCHMARKS.md, issue 18).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor_lib.io.dataset_format import DatasetFormat
from monitor_lib.spark import is_valid_utf8

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A capture line longer than this many bytes (16 MiB) is rejected as ``record_too_large`` and never parsed
(Spark's JSON parser refuses strings over 20,000,000 characters, so a valid line of 50 MB read as
``malformed_json`` before this limit)."""

MAX_JSON_DEPTH = 1000
"""The deepest nesting Spark's JSON parser accepts (Jackson's ``StreamReadConstraints`` in Spark 4.1: 1,000
levels of objects and arrays). A line (or payload) that fails to parse and nests deeper is
``too_deeply_nested``, not ``malformed_json`` (``malformed_payload``)."""

BLANK = " \t\r\n\f\v"
"""The characters of a blank line (``blank_line``): ASCII white space, as Python's ``bytes.strip``."""

# The entries' markers (column ``c``): one per record, its group size in the profile is the record count.
RECORD = "\x00record"
REJECT = "\x00reject:"
SKIP = "\x00skip:"

_WRAPPERS = ("instances", "inputs", "predictions", "outputs")
_PART = "struct<observedContentType: string, mode: string, data: string, encoding: string>"
CAPTURE_SCHEMA = (
    f"captureData struct<endpointInput: {_PART}, endpointOutput: {_PART}>, "
    "eventMetadata struct<eventId: string, inferenceId: string, inferenceTime: string, invocationSource: string>, "
    "eventVersion string, __bad string"
)
"""The fields of a capture line the stages read (``__bad``: the line when it is not a JSON object)."""

_ENTRY_PART = "struct<observedContentType: string, data: string, encoding: string>"
ENTRY_SCHEMA = (
    f"captureData struct<endpointInput: {_ENTRY_PART}, endpointOutput: {_ENTRY_PART}>, "
    "eventMetadata struct<inferenceTime: string, invocationSource: string>, __bad string"
)
"""The fields :func:`monitor_lib.io.capture.capture_entries` reads: :data:`CAPTURE_SCHEMA` without the string
fields no stage of the entries uses (``mode``, the ids, ``eventVersion``). A string field accepts any JSON
value, so dropping one changes no line's verdict; Jackson still reads (and limits) every token."""

RECORDS_TYPE = ("array<struct<pos: array<string>, named: array<struct<c: string, s: string>>, bad: boolean, "
                "too_many: boolean, kind: string>>")
"""The records of one part (:func:`part_records`); ``kind`` says why a ``bad`` one is rejected."""


@dataclass(frozen=True)
class CaptureSpec:
    """How to turn capture lines into named values."""

    names: tuple[str, ...]  # baseline feature names, in order
    fmt: DatasetFormat
    start: datetime | None = None
    end: datetime | None = None
    # per-row windows (a backfill profiles many windows in one job): the names of two columns holding each row's
    # window start and end as microseconds since the epoch, compared instead of the ``start`` / ``end`` literals
    # (a single run keeps the literals)
    bounds: tuple[str, str] | None = None

    @property
    def parts(self) -> tuple[str, ...]:
        return self.fmt.capture_index_names


def _micros(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def too_large(line):
    """A line over :data:`MAX_LINE_BYTES` (its bytes, not its characters)."""
    from pyspark.sql import functions as F

    return F.octet_length(line) > F.lit(MAX_LINE_BYTES)


def too_deep(text):
    """Whether a JSON ``text`` nests objects / arrays deeper than :data:`MAX_JSON_DEPTH` (string literals do
    not count). Meant for texts that failed to parse: the cheap test (enough opening brackets) guards the
    exact one (the running depth over the text's brackets)."""
    from pyspark.sql import functions as F

    opening = F.length(text) - F.length(F.translate(text, "[{", ""))
    no_strings = F.regexp_replace(text, r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', "")
    brackets = F.split(F.regexp_replace(no_strings, r"[^\[\]{}]", ""), "")
    start = F.struct(F.lit(0).alias("d"), F.lit(0).alias("m"))

    def step(acc, ch):
        d = acc["d"] + F.when(ch.isin("[", "{"), F.lit(1)).otherwise(F.lit(-1))
        return F.struct(d.alias("d"), F.greatest(acc["m"], d).alias("m"))

    depth = F.aggregate(brackets, start, step, lambda acc: acc["m"])
    return F.coalesce((opening > F.lit(MAX_JSON_DEPTH)) & (depth > F.lit(MAX_JSON_DEPTH)), F.lit(False))


def parse_lines(lines, carry: tuple[str, ...] = (), schema: str = CAPTURE_SCHEMA):
    """Stage 1: ``line, file, j`` — each capture line parsed with ``schema`` (:data:`CAPTURE_SCHEMA`, or
    :data:`ENTRY_SCHEMA`; permissive: a line that is not a JSON object gets ``j.__bad`` set or ``j`` null;
    :func:`line_verdict` names it). A line over :data:`MAX_LINE_BYTES` is not parsed (``j`` null). ``carry``:
    more columns of ``lines`` kept as they are."""
    from pyspark.sql import functions as F

    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "__bad"}
    line = F.col("line")
    return lines.select("line", "file", *carry, F.from_json(F.when(~too_large(line), line), schema, options)
                        .alias("j"))


def line_verdict(spec: CaptureSpec, j):
    """Stage 2, one column: why a parsed line (``j``, from :func:`parse_lines`) yields no record, else null.

    ``SKIP + blank_line`` (nothing but white space); ``REJECT +`` ``record_too_large`` (over
    :data:`MAX_LINE_BYTES`) | ``invalid_utf8`` | ``too_deeply_nested`` (does not parse, nests deeper than
    :data:`MAX_JSON_DEPTH`) | ``malformed_json`` | ``not_a_capture_record`` | ``missing_inference_time``;
    ``SKIP +`` ``shadow_experiment`` | ``outside_window`` (``inferenceTime`` outside ``[spec.start,
    spec.end)``, or outside the row's own window when ``spec.bounds`` names its columns), tested in this order.
    """
    from pyspark.sql import functions as F

    line = F.col("line")
    ts = F.try_to_timestamp(j["eventMetadata"]["inferenceTime"])
    us = F.unix_micros(ts)
    unparsed = j.isNull() | j["__bad"].isNotNull() | ~F.ltrim(line).startswith("{")
    kind = (
        F.when(F.length(F.trim(line, F.lit(BLANK))) == 0, F.lit(SKIP + "blank_line"))
        .when(too_large(line), F.lit(REJECT + "record_too_large"))
        .when(~is_valid_utf8(line), F.lit(REJECT + "invalid_utf8"))
        .when(unparsed & too_deep(line), F.lit(REJECT + "too_deeply_nested"))
        .when(unparsed, F.lit(REJECT + "malformed_json"))
        .when(j["captureData"].isNull(), F.lit(REJECT + "not_a_capture_record"))
        .when(F.coalesce(j["eventMetadata"]["invocationSource"], F.lit("")) == "ShadowExperiment",
              F.lit(SKIP + "shadow_experiment"))
        .when(ts.isNull(), F.lit(REJECT + "missing_inference_time"))
    )
    if spec.bounds is not None:  # a backfill: each row's own window
        lo, hi = spec.bounds
        return kind.when((us < F.col(lo)) | (us >= F.col(hi)), F.lit(SKIP + "outside_window"))
    if spec.start is not None:
        kind = kind.when(us < F.lit(_micros(spec.start)), F.lit(SKIP + "outside_window"))
    if spec.end is not None:
        kind = kind.when(us >= F.lit(_micros(spec.end)), F.lit(SKIP + "outside_window"))
    return kind


def part_fields(p: str, part) -> list:
    """Stage 3, the columns of one part (``part``: a struct column shaped like ``captureData.endpointInput``):
    ``{p}_has`` (the part is present), ``{p}_enc`` (encoding, upper case), ``{p}_ct`` (observed content
    type, lower case), ``{p}_data`` (the payload as captured) and ``{p}_raw`` (a BASE64 payload's bytes,
    null when it does not decode)."""
    from pyspark.sql import functions as F

    enc = F.upper(F.trim(part["encoding"]))
    return [
        part.isNotNull().alias(f"{p}_has"),
        enc.alias(f"{p}_enc"),
        F.lower(F.coalesce(part["observedContentType"], F.lit(""))).alias(f"{p}_ct"),
        part["data"].alias(f"{p}_data"),
        F.when(enc == "BASE64", F.try_to_binary(part["data"], F.lit("base64"))).alias(f"{p}_raw"),
    ]


_NOT_PLAIN_CSV = '"\\' + "".join(chr(i) for i in range(32)) + "\x7f\ufeff"
"""Characters a CSV payload on the fast path never holds: a quote or backslash (quoting, escaping), a control
character (line breaks, NUL), DEL, a byte-order mark. Without them Spark's ``from_csv`` reads exactly the
comma-separated fields."""


def _is_jsonl(ctype):
    return ctype.contains("jsonl") | ctype.contains("json-lines") | ctype.contains("jsonlines")


def fast_kind(p: str) -> list:
    """Fast path, stage F1 for one part, from :func:`part_fields`' columns: ``{p}_ft`` (the payload trimmed as
    :func:`part_text` trims it) and ``{p}_fkind``: ``csv`` for a one-line CSV payload of plain fields, none
    empty (what ``from_csv`` reads is then exactly ``split`` by comma), ``obj`` for a JSON text starting with
    ``{``, ``scalar`` for one starting with neither ``{`` nor ``[`` — only when the part is present and decodes
    to text (:func:`part_text` would give no error); null otherwise."""
    from pyspark.sql import functions as F

    has, enc, ctype, data = (F.col(f"{p}_{x}") for x in ("has", "enc", "ct", "data"))
    t = F.trim(data)
    usable = has & data.isNotNull() & is_valid_utf8(data)
    plain = (F.length(t) > 0) & (F.length(F.translate(t, _NOT_PLAIN_CSV, "")) == F.length(t)) & ~F.concat(
        F.lit(","), t, F.lit(",")).contains(",,")
    json = (enc == "JSON") & ~_is_jsonl(ctype)
    kind = (F.when(~F.coalesce(usable, F.lit(False)), F.lit(None).cast("string"))
            .when((enc == "CSV") & plain, F.lit("csv"))
            .when(json & t.startswith("{"), F.lit("obj"))
            .when(json & ~t.startswith("["), F.lit("scalar")))
    return [t.alias(f"{p}_ft"), kind.alias(f"{p}_fkind")]


def fast_parse(p: str) -> list:
    """Fast path, stage F2: each part parsed once, as the stages parse it: ``{p}_fcsv`` (the CSV fields),
    ``{p}_fm`` (a JSON object as ``from_json(text, map<string,string>)``), ``{p}_fv`` (a JSON scalar as
    ``from_json('[' + text + ']', array<string>)``); ``{p}_fkind`` carried on."""
    from pyspark.sql import functions as F

    t, kind = F.col(f"{p}_ft"), F.col(f"{p}_fkind")
    return [
        kind,
        F.when(kind == "csv", F.split(t, ",", -1)).alias(f"{p}_fcsv"),
        F.when(kind == "obj", F.from_json(t, "map<string,string>")).alias(f"{p}_fm"),
        F.when(kind == "scalar", F.from_json(F.concat(F.lit("["), t, F.lit("]")), "array<string>")).alias(f"{p}_fv"),
    ]


def fast_part(p: str) -> list:
    """Fast path, stage F3: ``{p}_fok`` when the part holds exactly one record the stages would read without
    rejecting it — a CSV line of F1, a JSON object by key (parsed, no wrapper member, not the ``features``
    object, no key twice) or a parsed JSON scalar —, its values by position ``{p}_fpos`` or, for an object,
    its map ``{p}_fm`` (the stages' ``(name, value)`` pairs are its entries, in its order)."""
    from pyspark.sql import functions as F

    kind, fcsv, m, v = (F.col(f"{p}_{x}") for x in ("fkind", "fcsv", "fm", "fv"))
    keys = F.map_keys(m)
    features = F.when(F.size(m) == 1, F.try_element_at(m, F.lit("features")))
    positional_object = F.coalesce(F.trim(features).startswith("["), F.lit(False))
    by_key = (m.isNotNull() & ~positional_object & ~F.arrays_overlap(keys, F.array(*map(F.lit, _WRAPPERS)))
              & (F.size(F.array_distinct(keys)) == F.size(m)))
    named = (kind == "obj") & by_key
    positional = (kind == "csv") | ((kind == "scalar") & v.isNotNull())
    return [
        F.coalesce(named | positional, F.lit(False)).alias(f"{p}_fok"),
        F.when(kind == "csv", fcsv).when(kind == "scalar", v).alias(f"{p}_fpos"),
        F.when(named, m).alias(f"{p}_fm"),
    ]


def fast_pairs(spec: CaptureSpec, chosen: list[str]) -> list:
    """Fast path, stage F4, two columns ``c`` and ``s``: the names and values of a line's record, in the order
    :func:`record_entries` gives its pairs, when its verdict (column ``verdict``) is null, every part in
    ``chosen`` is ``{p}_fok`` and the field counts fit (no ``wrong_field_count``); null for every other line,
    and always when ``spec.names`` is empty or names one feature twice. ``named``: whether a part is by key."""
    from pyspark.sql import functions as F

    names = spec.names
    if not names or len(set(names)) != len(names) or not chosen:
        none = F.lit(None).cast("array<string>")
        return [none.alias("c"), none.alias("s"), F.lit(False).alias("named")]
    n_names = len(names)
    all_names = F.array(*[F.lit(n) for n in names])
    start = spec.fmt.output_columns_position == "START"
    first = {"out": start, "in": not start}  # outputs take the first names when START, inputs the other end
    empty = F.array().cast("array<string>")

    def part_names(p: str):
        pos, m = F.col(f"{p}_fpos"), F.col(f"{p}_fm")
        n = F.size(pos)
        offset = F.lit(0) if first[p] else F.lit(n_names) - n
        return F.when(pos.isNotNull(), F.slice(all_names, F.greatest(offset + 1, F.lit(1)), n)).otherwise(
            F.map_keys(m))

    def part_values(p: str):
        return F.coalesce(F.col(f"{p}_fpos"), F.map_values(F.col(f"{p}_fm")), empty)

    ok = F.col("verdict").isNull()
    for p in chosen:
        ok = ok & F.col(f"{p}_fok")
    positional = [F.col(f"{p}_fpos") for p in chosen]
    too_many = [pos.isNotNull() & (F.size(pos) > n_names) for pos in positional]
    wrong = too_many[0] if len(too_many) == 1 else F.when(
        positional[0].isNotNull() & positional[1].isNotNull(),
        F.size(positional[0]) + F.size(positional[1]) != n_names).otherwise(too_many[0] | too_many[1])
    ordered = [p for p in ("out", "in") if p in chosen]  # record_entries' order: output pairs first
    take = ok & ~wrong
    named = F.lit(False)
    for p in ordered:
        named = named | F.col(f"{p}_fm").isNotNull()
    return [F.when(take, F.concat(*[part_names(p) for p in ordered])).alias("c"),
            F.when(take, F.concat(*[part_values(p) for p in ordered])).alias("s"), named.alias("named")]


def fast_entries():
    """Fast path, stage F5, one column from F4's ``c``, ``s`` and ``named``: the entries of a line whose
    record names no feature twice (else ``duplicate_key``, left to the stages) — a :data:`RECORD` marker and
    the ``(c, s)`` pairs; null for every other line. Only a record with a part by key can name one twice."""
    from pyspark.sql import functions as F

    c, s = F.col("c"), F.col("s")
    once = ~F.col("named") | (F.size(F.array_distinct(c)) == F.size(c))
    return F.when(c.isNotNull() & once, F.concat(marker(RECORD), F.arrays_zip(c, s)))


def part_text(p: str) -> list:
    """Stage 4, from :func:`part_fields`' columns: ``{p}_fmt`` (``csv`` | ``json`` | ``jsonl``, by encoding
    and content type), ``{p}_text`` (the decoded payload, trimmed) and ``{p}_err`` (``unsupported_encoding`` |
    ``malformed_payload`` | ``invalid_base64`` | ``invalid_utf8`` | ``unsupported_content_type``). Format and
    text are null when the part is absent or has an error; the error is null when the part is absent."""
    from pyspark.sql import functions as F

    has, enc, ctype, data, raw = (F.col(f"{p}_{x}") for x in ("has", "enc", "ct", "data", "raw"))
    text = F.when(enc.isin("CSV", "JSON"), data).when(enc == "BASE64", raw.cast("string"))
    is_jsonl = _is_jsonl(ctype)
    fmt = (
        F.when(enc == "CSV", F.lit("csv"))
        .when((enc == "JSON") & is_jsonl, F.lit("jsonl"))
        .when(enc == "JSON", F.lit("json"))
        .when((enc == "BASE64") & ctype.contains("csv"), F.lit("csv"))
        .when((enc == "BASE64") & is_jsonl, F.lit("jsonl"))
        .when((enc == "BASE64") & ctype.contains("json"), F.lit("json"))
    )
    error = (
        F.when(~has, F.lit(None).cast("string"))
        .when(enc.isNull() | ~enc.isin("CSV", "JSON", "BASE64"), F.lit("unsupported_encoding"))
        .when(data.isNull(), F.lit("malformed_payload"))
        .when((enc == "BASE64") & raw.isNull(), F.lit("invalid_base64"))
        .when(~is_valid_utf8(text), F.lit("invalid_utf8"))
        .when(fmt.isNull(), F.lit("unsupported_content_type"))
    )
    ok = has & error.isNull()
    return [F.when(ok, fmt).alias(f"{p}_fmt"), F.when(ok, F.trim(text)).alias(f"{p}_text"), error.alias(f"{p}_err")]


def part_json_documents(p: str) -> list:
    """Stage 5, for JSON payloads, parsed once: ``{p}_wrapped`` (the value of an ``instances`` / ``inputs`` /
    ``predictions`` / ``outputs`` member) and ``{p}_bare`` (a top-level array's elements as texts)."""
    from pyspark.sql import functions as F

    fmt, t = F.col(f"{p}_fmt"), F.col(f"{p}_text")
    wrapped = F.coalesce(*[F.get_json_object(t, f"$.{w}") for w in _WRAPPERS])
    return [
        F.when((fmt == "json") & t.startswith("{"), F.trim(wrapped)).alias(f"{p}_wrapped"),
        F.when((fmt == "json") & t.startswith("["), F.from_json(t, "array<string>")).alias(f"{p}_bare"),
    ]


def part_record_texts(p: str) -> list:
    """Stage 6: ``{p}_texts``, the part's record texts — CSV lines, JSON lines, or the JSON records of one
    document (see the capture module's rule 3) — and ``{p}_fmt`` carried on."""
    from pyspark.sql import functions as F

    fmt, t, wrapped, bare = (F.col(f"{p}_{x}") for x in ("fmt", "text", "wrapped", "bare"))
    first = F.trim(F.try_element_at(bare, F.lit(1)))
    nested = F.coalesce(first.startswith("[") | first.startswith("{"), F.lit(False))
    lines = F.filter(F.split(t, r"\r?\n"), lambda x: F.length(F.trim(x)) > 0)
    texts = (
        F.when(fmt.isin("csv", "jsonl"), lines)
        .when(wrapped.startswith("["), F.from_json(wrapped, "array<string>"))
        .when(wrapped.isNotNull(), F.array(wrapped))
        .when(nested, bare)
        .when(fmt == "json", F.array(t))
    )
    return [fmt.alias(f"{p}_fmt"), texts.alias(f"{p}_texts")]


def parse_record_texts(p: str, width: int) -> list:
    """Stage 7, every record text parsed once: ``{p}_csv`` (CSV fields up to ``width`` and their count) or
    ``{p}_json`` (the text as a JSON map, as an array, and as a scalar)."""
    from pyspark.sql import functions as F

    fmt, texts = F.col(f"{p}_fmt"), F.col(f"{p}_texts")
    schema = ", ".join(f"f{i} STRING" for i in range(width))

    def csv_line(x):
        unquoted = F.regexp_replace(x, '"[^"]*"', "")
        n = F.length(unquoted) - F.length(F.regexp_replace(unquoted, ",", "")) + 1
        return F.struct(F.from_csv(x, schema).alias("p"), n.alias("n"))

    def json_text(x):
        t = F.trim(x)
        return F.struct(
            t.alias("t"),
            F.when(t.startswith("{"), F.from_json(t, "map<string,string>")).alias("m"),
            F.when(t.startswith("["), F.from_json(t, "array<string>")).alias("a"),
            F.when(~t.startswith("{") & ~t.startswith("["),
                   F.from_json(F.concat(F.lit("["), t, F.lit("]")), "array<string>")).alias("v"),
        )

    return [
        F.when(fmt == "csv", F.transform(texts, csv_line)).alias(f"{p}_csv"),
        F.when(fmt.isin("json", "jsonl"), F.transform(texts, json_text)).alias(f"{p}_json"),
    ]


def part_records(p: str, width: int) -> list:
    """Stage 8: ``{p}_records`` (:data:`RECORDS_TYPE`: per record its values by position ``pos`` or its
    ``(name, value)`` pairs ``named``, ``bad`` when it cannot be used and ``kind`` why — ``malformed_payload``,
    ``too_deeply_nested``, or ``duplicate_key`` for an object naming a key twice, which would count the
    feature twice —, ``too_many`` for more CSV fields than ``width - 1``), with ``{p}_err`` and ``{p}_fmt``
    carried on."""
    from pyspark.sql import functions as F

    csv, js = F.col(f"{p}_csv"), F.col(f"{p}_json")
    no_pairs = F.lit(None).cast("array<struct<c: string, s: string>>")

    def from_csv(x):
        values = F.array(*[x["p"][f"f{i}"] for i in range(width)])
        n = x["n"]
        return F.struct(F.when(n < width, F.slice(values, 1, n)).alias("pos"), no_pairs.alias("named"),
                        F.lit(False).alias("bad"), (n >= width).alias("too_many"),
                        F.lit(None).cast("string").alias("kind"))

    def from_json(x):
        m, a, v = x["m"], x["a"], x["v"]
        features = F.when(F.size(m) == 1, F.try_element_at(m, F.lit("features")))
        positional_object = F.coalesce(F.trim(features).startswith("["), F.lit(False))
        pos = F.when(m.isNotNull() & positional_object, F.from_json(features, "array<string>")).otherwise(
            F.coalesce(a, v))
        named = F.when(m.isNotNull() & ~positional_object, F.transform(
            F.map_entries(m), lambda e: F.struct(e["key"].alias("c"), e["value"].alias("s"))))
        unparsed = F.when(x["t"].startswith("{"), m.isNull()).otherwise(pos.isNull())
        duplicate = F.coalesce(F.size(F.array_distinct(F.map_keys(m))) < F.size(m), F.lit(False))
        kind = (F.when(unparsed & too_deep(x["t"]), F.lit("too_deeply_nested"))
                .when(unparsed, F.lit("malformed_payload"))
                .when(duplicate, F.lit("duplicate_key")))
        bad = kind.isNotNull()
        return F.struct(F.when(~bad, pos).alias("pos"), F.when(~bad, named).alias("named"), bad.alias("bad"),
                        F.lit(False).alias("too_many"), kind.alias("kind"))

    records = F.coalesce(F.transform(csv, from_csv), F.transform(js, from_json))
    return [F.col(f"{p}_err"), records.alias(f"{p}_records"), F.col(f"{p}_fmt")]


def record_entries(spec: CaptureSpec):
    """Stage 9, one column of entries ``array<struct<c, s>>`` from the ``in_*`` and ``out_*`` columns of
    :func:`part_records` and a ``verdict`` column (:func:`line_verdict`): input and output records paired
    by index, their values named after ``spec.names``, one :data:`RECORD` / :data:`REJECT` / :data:`SKIP`
    marker per record (or per line that yields none). A record that would give one name two values (a key
    twice, or a positional value named like a key of the other part) is ``duplicate_key``."""
    from pyspark.sql import functions as F

    names = F.array(*[F.lit(n) for n in spec.names]) if spec.names else F.array().cast("array<string>")
    n_names = len(spec.names)
    start = spec.fmt.output_columns_position == "START"
    empty_pairs = F.array().cast("array<struct<c: string, s: string>>")
    ins, outs = F.col("in_records"), F.col("out_records")

    def name_pairs(pos, first: bool):
        """Positional values named from the first (``first``) or the last baseline names."""
        offset = F.lit(0) if first else F.lit(n_names) - F.size(pos)
        return F.coalesce(F.transform(pos, lambda v, i: F.struct(
            F.try_element_at(names, offset + i + 1).alias("c"), v.alias("s"))), empty_pairs)

    def entries(pair):
        i, o = pair["i"], pair["o"]
        n_ip = F.coalesce(F.size(i["pos"]), F.lit(0))
        n_op = F.coalesce(F.size(o["pos"]), F.lit(0))
        both_positional = i["pos"].isNotNull() & o["pos"].isNotNull()
        wrong = (
            F.coalesce(i["too_many"], F.lit(False)) | F.coalesce(o["too_many"], F.lit(False))
            | F.when(both_positional, n_ip + n_op != n_names).otherwise((n_ip > n_names) | (n_op > n_names))
        )
        bad = F.coalesce(i["bad"], F.lit(False)) | F.coalesce(o["bad"], F.lit(False))
        why = F.coalesce(F.when(i["bad"], i["kind"]), F.when(o["bad"], o["kind"]), F.lit("malformed_payload"))
        pairs = F.concat(
            name_pairs(o["pos"], start), F.coalesce(o["named"], empty_pairs),
            name_pairs(i["pos"], not start), F.coalesce(i["named"], empty_pairs),
        )
        names_given = F.transform(pairs, lambda e: e["c"])
        # one name twice in a record (an output value named like a key of the input object): never counted twice
        twice = F.size(F.array_distinct(names_given)) < F.size(names_given)
        kind = (F.when(bad, F.concat(F.lit(REJECT), why))
                .when(wrong, F.lit(REJECT + "wrong_field_count"))
                .when(twice, F.lit(REJECT + "duplicate_key"))
                .otherwise(F.lit(RECORD)))
        head = F.array(F.struct(kind.alias("c"), F.lit(None).cast("string").alias("s")))
        return F.when(kind == RECORD, F.concat(head, pairs)).otherwise(head)

    n_in, n_out = F.size(ins), F.size(outs)
    empty_records = F.array().cast(RECORDS_TYPE)
    zipped = F.arrays_zip(F.coalesce(ins, empty_records).alias("i"), F.coalesce(outs, empty_records).alias("o"))
    part_error = F.coalesce(F.col("in_err"), F.col("out_err"))
    return (
        F.when(F.col("verdict").isNotNull(), marker(F.col("verdict")))
        .when(part_error.isNotNull(), marker(F.concat(F.lit(REJECT), part_error)))
        .when((F.col("in_fmt").isNotNull() & ins.isNull()) | (F.col("out_fmt").isNotNull() & outs.isNull()),
              marker(REJECT + "malformed_payload"))
        .when(ins.isNotNull() & outs.isNotNull() & (n_in != n_out), marker(REJECT + "record_count_mismatch"))
        .when(F.coalesce(n_in, F.lit(0)) + F.coalesce(n_out, F.lit(0)) == 0, marker(SKIP + "empty_payload"))
        .otherwise(F.flatten(F.transform(zipped, entries)))
    )



def marker(c):
    """Entries holding one marker and no value (``c``: a marker string or a string column)."""
    from pyspark.sql import functions as F

    c = F.lit(c) if isinstance(c, str) else c
    return F.array(F.struct(c.alias("c"), F.lit(None).cast("string").alias("s")))

