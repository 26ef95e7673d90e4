"""The raw-file intake planner: which files of the DATA folder hold which raw
table, and how DuckDB must read each of them.

``plan_raw_files(data_dir, contract, settings, copy_dir)`` walks the DATA
folder (never a glob), checks every file against the raw-data contract and
returns a plan (plain JSON-serialisable dict) the loader hook turns into the
views raw.orders / raw.users / raw.events; make run prints its descriptions
and notes. Every problem that would lose data or stop DuckDB with text a
user cannot act on ends in one ``IntakeError`` naming the files, the
problems and the fixes. No file is ever skipped silently: files left unread
on purpose (hidden files, ``ignore_files``, a README) are listed in the
plan's notes.

Choices worth knowing:

- Encodings. UTF-8 (with or without BOM) is read in place. Everything else
  (UTF-16 with or without BOM, Latin-1, Windows-1252, GBK/GB18030, any
  ``csv_encoding``) is converted by Python (strict decoding, streamed) to a
  UTF-8 copy ``<copy_dir>/<table>/<source_file>``, read with encoding utf-8
  and compression none: DuckDB 2.0 reads UTF-16 BE as no rows at all, so one
  path for every non-UTF-8 file is the safe one. A copy is reused while the
  original's size and modification time are unchanged (a marker file
  ``<copy>.intake.json`` beside it records them). The encoding is detected
  only from a sample (the first 1 MiB and the last 64 KiB; for .gz the first
  1 MiB decompressed); a guessed encoding is stated in the description.
- Paths. DuckDB treats ``*``, ``?`` and ``[`` in a path as a glob whenever
  the pattern matches some file, even when the literal file exists. A file
  whose absolute path holds one of ``* ? [ ] { } \\`` is therefore read
  through a symlink under ``<copy_dir>/_links/<table>/`` (the reader's root);
  the link keeps the file's relative name, with those characters written
  %XX when the name itself holds them. ``source_files`` always gives the
  original relative names; it is the one to trust in that last case.
- Partition folders. A file's relative name keeps its sub-folders
  (``date=2025-10-01/part-0.parquet``). When a contract column is missing
  from a file but named by its folders (``event_type=view/``, as pandas
  ``partition_cols`` writes), it is read from there: the reader says
  ``hive_partitioning: true`` and maps the column to the key. Otherwise
  ``hive_partitioning`` is false, and the loader should pass it so DuckDB
  never adds folder columns on its own.
- Detection never guesses a date format; a decimal comma is taken only
  when the delimiter is not ',' and no value looks like ``12.50``.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import gzip
import io
import json
import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

DEFAULT_FILE_EXTENSIONS = ["parquet", "csv", "tsv", "txt", "csv.gz", "tsv.gz", "txt.gz"]
# Extensions of files that look like table data: such a file in the DATA
# folder that is not read stops the run (ignore_files leaves it unread).
DATA_LIKE_EXTENSIONS = {
    "csv", "tsv", "txt", "psv", "dat", "parquet", "json", "jsonl", "ndjson",
    "xlsx", "xlsm", "xls", "ods", "gz", "zip", "feather", "arrow", "avro", "orc",
}  # fmt: skip
# Files left by operating systems and office programs, never table data.
JUNK_NAMES = {"thumbs.db", "desktop.ini", "__macosx"}
# Top-level documentation files, left unread with a note.
EXEMPT_PREFIXES = ("readme", "license", "licence", "notes")
DELIMITERS = [",", ";", "\t", "|"]
DATE_KEYWORDS = {"epoch_s", "epoch_ms", "excel"}
DATE_TYPES = {"date", "timestamp"}
FORMAT_KEYS = {
    "csv_encoding", "csv_delimiter", "decimal_separator", "date_format", "date_formats",
}  # fmt: skip
# Characters DuckDB may read as a glob in a path.
GLOB_CHARACTERS = set("*?[]{}\\")
HEAD_BYTES = 1 << 20
TAIL_BYTES = 64 << 10
CHUNK_BYTES = 4 << 20
SAMPLE_RECORDS = 200
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
    "gb18030": "GBK/GB18030",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
}
BINARY_MAGIC = [
    (b"PK\x03\x04", "an Excel workbook or a zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
    (b"PAR1", "a Parquet file: name it .parquet"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive: name it .csv.gz"),
]
ABSENT_MEANING = {
    "users": "users derived from orders and events",
    "events": "no events (engagement measures stay empty)",
}


class IntakeError(Exception):
    """Problems that stop the build; str() is the whole user-facing message:
    one paragraph per problem, each naming the file (relative to the DATA
    folder), the problem and the fix, never engine text."""


@dataclass
class _Table:
    """One contract table as the planner needs it."""

    name: str
    required: bool
    columns: list[dict[str, Any]]
    formats: dict[str, Any]
    found: list[str] = field(default_factory=list)  # relative paths of the claim

    def column_names(self) -> list[str]:
        return [column["name"] for column in self.columns]

    def required_columns(self) -> list[str]:
        return [c["name"] for c in self.columns if c.get("required")]

    def typed(self, types: set[str]) -> list[str]:
        return [c["name"] for c in self.columns if c.get("data_type") in types]


@dataclass
class _File:
    """One file of a table, as analysed."""

    path: str  # absolute original path
    rel: str  # relative to the reader root (the source_file)
    shown: str  # relative to the DATA folder, for messages
    version: str
    family: str  # parquet | text
    read_path: str = ""
    encoding: str = "utf-8"
    encoding_label: str = "UTF-8"
    guessed: bool = False
    converted: bool = False
    mixed_newlines: bool = False  # CRLF and LF in one file: normalised copy
    skip: int = 0  # lines above the header (Excel's "sep=;" line)
    delimiter: str = ","
    decimal: str = "."
    columns: dict[str, str] = field(default_factory=dict)
    hive_keys: tuple[str, ...] = ()  # partition keys, when they give columns
    hive_columns: tuple[str, ...] = ()  # contract columns from folder names
    empty: str = ""  # why the file holds no data row, or ""


def _listed(names: list[str]) -> str:
    """a; a and b; a, b and c."""
    return " and ".join(filter(None, [", ".join(names[:-1]), *names[-1:]]))


def _quoted(names: list[str]) -> str:
    return _listed([f"`{name}`" for name in names])


def _delimiter_label(delimiter: str) -> str:
    return "TAB" if delimiter == "\t" else f"'{delimiter}'"


def _extension(name: str) -> str:
    """The extension of a file name, lower case, with .gz kept as part of it
    (orders.CSV.GZ -> csv.gz)."""
    parts = name.lower().split(".")
    if len(parts) < 2:
        return ""
    if parts[-1] == "gz" and len(parts) > 2:
        return ".".join(parts[-2:])
    return parts[-1]


def _accepted_extension(name: str, extensions: list[str]) -> str | None:
    lower = name.lower()
    for extension in sorted(extensions, key=len, reverse=True):
        if lower.endswith("." + extension) and len(lower) > len(extension) + 1:
            return extension
    return None


def _is_junk(component: str) -> bool:
    """Hidden and system files, and the metadata files data tools write
    beside their data (``_SUCCESS``, ``_metadata``, ``_manifest.json``: a
    leading underscore, which Spark, Hive and Arrow datasets skip too)."""
    lower = component.lower()
    return lower.startswith((".", "~$", "_")) or lower in JUNK_NAMES


def _version(path: str) -> str:
    """The file's version as the loader has always written it."""
    stat = os.stat(path)
    return f"{stat.st_size} bytes, modified {stat.st_mtime_ns // 1_000_000}"


def _safe_name(rel: str) -> str:
    """The relative name itself, or, when it holds glob characters, the name
    with those (and %) written %XX."""
    if not _is_unsafe(rel):
        return rel
    unsafe = GLOB_CHARACTERS | {"%"}
    return "".join(f"%{ord(c):02X}" if c in unsafe else c for c in rel)


def _is_unsafe(path: str) -> bool:
    return any(character in GLOB_CHARACTERS for character in path)


# -- settings ---------------------------------------------------------------


def _check_settings(
    settings: dict[str, Any], contract: list[dict[str, Any]], problems: list[str]
) -> dict[str, dict[str, Any]]:
    """The effective formats per table (global settings overridden by
    raw_table_formats), validated; problems name the var to fix."""
    names = [table["name"] for table in contract]
    per_table = settings.get("raw_table_formats") or {}
    if not isinstance(per_table, dict):
        problems.append(
            "Var `raw_table_formats` must map table names "
            f"({_quoted(names)}) to their formats."
        )
        per_table = {}
    for name in sorted(set(per_table) - set(names)):
        problems.append(
            f"Var `raw_table_formats` names a table `{name}` that is not in the "
            f"raw-data contract: use {_quoted(names)}."
        )
    effective = {}
    for table in contract:
        name = table["name"]
        overrides = per_table.get(name) or {}
        if not isinstance(overrides, dict):
            problems.append(f"Var `raw_table_formats.{name}` must be a mapping.")
            overrides = {}
        for key in sorted(set(overrides) - FORMAT_KEYS):
            problems.append(
                f"Var `raw_table_formats.{name}` has an unknown key `{key}`: "
                f"use {_quoted(sorted(FORMAT_KEYS))}."
            )
        formats = {
            key: overrides.get(key, settings.get(key))
            for key in FORMAT_KEYS - {"date_formats"}
        }

        def where(key: str, name: str = name, overrides: dict = overrides) -> str:
            return f"raw_table_formats.{name}.{key}" if key in overrides else key

        encoding = formats["csv_encoding"]
        if encoding is not None:
            try:
                formats["csv_encoding"] = codecs.lookup(str(encoding)).name
            except LookupError:
                problems.append(
                    f"Var `{where('csv_encoding')}` names an unknown encoding "
                    f"{encoding!r}: use e.g. utf-8, cp1252, latin-1, gb18030 or "
                    "utf-16."
                )
                formats["csv_encoding"] = None
        delimiter = formats["csv_delimiter"]
        if delimiter is not None:
            delimiter = {"tab": "\t", "\\t": "\t"}.get(
                str(delimiter).lower(), delimiter
            )
            if not isinstance(delimiter, str) or len(delimiter) != 1:
                problems.append(
                    f"Var `{where('csv_delimiter')}` must be one character "
                    f"(e.g. ';', '|' or tab), got {formats['csv_delimiter']!r}."
                )
                delimiter = None
            formats["csv_delimiter"] = delimiter
        decimal = formats["decimal_separator"]
        if decimal is not None and decimal not in (".", ","):
            problems.append(
                f"Var `{where('decimal_separator')}` must be '.' or ',', "
                f"got {decimal!r}."
            )
            formats["decimal_separator"] = None
        date_columns = [
            c["name"] for c in table["columns"] if c.get("data_type") in DATE_TYPES
        ]
        dates = {}
        if formats["date_format"] is not None:
            if _valid_date_format(formats["date_format"]):
                dates = dict.fromkeys(date_columns, formats["date_format"])
            else:
                problems.append(_date_format_problem(where("date_format"), formats))
        per_column = overrides.get("date_formats") or {}
        if not isinstance(per_column, dict):
            problems.append(
                f"Var `raw_table_formats.{name}.date_formats` must map columns "
                f"({_quoted(date_columns)}) to formats."
            )
            per_column = {}
        for column, value in per_column.items():
            var = f"raw_table_formats.{name}.date_formats.{column}"
            if column not in date_columns:
                problems.append(
                    f"Var `{var}`: {name} has no date or timestamp column "
                    f"`{column}`; its date columns are {_quoted(date_columns)}."
                )
            elif not _valid_date_format(value):
                problems.append(_date_format_problem(var, {"date_format": value}))
            else:
                dates[column] = value
        formats["date_formats"] = dates
        effective[name] = formats
    return effective


def _valid_date_format(value: Any) -> bool:
    return isinstance(value, str) and ("%" in value or value in DATE_KEYWORDS)


def _date_format_problem(var: str, formats: dict[str, Any]) -> str:
    return (
        f"Var `{var}` must be a strptime format such as %d.%m.%Y or %m/%d/%Y, "
        f"or one of epoch_s, epoch_ms, excel; got {formats['date_format']!r}."
    )


# -- discovery --------------------------------------------------------------


def _walk(folder: str, prune: Any = None) -> list[tuple[str, bool]]:
    """(relative path, is_dir) of everything below folder, sorted, without
    descending into junk folders or those prune(rel) is true for (they are
    returned once, as is_dir)."""
    found = []

    def visit(path: str, prefix: str) -> None:
        with os.scandir(path) as entries:
            listing = sorted(entries, key=lambda entry: entry.name)
        for entry in listing:
            rel = prefix + entry.name
            is_dir = entry.is_dir()
            found.append((rel, is_dir))
            if is_dir and not _is_junk(entry.name) and not (prune and prune(rel)):
                visit(entry.path, rel + "/")

    visit(folder, "")
    return found


def _ignored(rel: str, patterns: list[str]) -> bool:
    lower = rel.lower()
    return any(
        fnmatch.fnmatchcase(lower, p.lower())
        or fnmatch.fnmatchcase(lower + "/", p.lower())
        for p in patterns
    )


def _discover(
    data_dir: str,
    tables: dict[str, _Table],
    extensions: list[str],
    patterns: list[str],
    notes: list[str],
    problems: list[str],
) -> None:
    """Fill each table's `found` (top-level files and table folders) and
    report every other file: notes for those left unread on purpose,
    problems for table-like files that would be skipped."""
    unread = []

    def prune(rel: str) -> bool:  # table folders are walked per table
        return rel.lower() in tables or _ignored(rel, patterns)

    for rel, is_dir in _walk(data_dir, prune):
        parts = rel.split("/")
        shown = rel + ("/" if is_dir else "")
        if _is_junk(parts[-1]):
            kind = "folder" if is_dir else "file"
            notes.append(f"ignored hidden or system {kind} {shown}")
            continue
        if _ignored(rel, patterns):
            notes.append(f"ignored {shown} (ignore_files)")
            continue
        if is_dir:
            if len(parts) == 1 and rel.lower() in tables:
                tables[rel.lower()].found.append(shown)
            continue
        extension = _accepted_extension(rel, extensions)
        stem = rel.lower()[: -len(extension) - 1] if extension else None
        if len(parts) == 1 and stem in tables:
            tables[stem].found.append(rel)
            continue
        data_like = _extension(rel).split(".")[-1] in DATA_LIKE_EXTENSIONS
        if data_like and not parts[-1].lower().startswith(EXEMPT_PREFIXES):
            unread.append(rel)
        else:
            notes.append(f"left unread {rel} (not table data)")
    if unread:
        names = ", ".join(f"{t}.<ext>" for t in tables)
        problems.append(
            f"The DATA folder holds {_listed(unread)}, which "
            f"{'is' if len(unread) == 1 else 'are'} not read: raw tables are read "
            f"only from {names} or a folder named after the table, with the "
            f"extensions {', '.join('.' + e for e in extensions)} (any case). "
            "Rename or move the file(s), or list them in `ignore_files` to leave "
            "them unread on purpose." + _unread_hints(unread, tables)
        )


# What to do with a file of an unread format named after a table.
FORMAT_HINTS = {
    ("xlsx", "xlsm", "xls", "ods"): "an Excel or OpenDocument workbook: save it "
    "as CSV UTF-8 or Parquet",
    ("json", "jsonl", "ndjson"): "JSON: export the table as CSV or Parquet",
    ("zip",): "a zip archive: unzip it into the DATA folder",
    ("feather", "arrow", "avro", "orc"): "a binary table format: convert it to Parquet",
}


def _unread_hints(unread: list[str], tables: dict[str, Any]) -> str:
    """Hints for unread files that are clearly meant as a raw table: a table's
    name with a format the loader does not read, or the tables one folder
    down (DATA pointing at the folder above the data)."""
    hints = []
    for rel in unread:
        name = rel.split("/")[-1].lower()
        stem, _, last = name.rpartition(".")
        for extensions, hint in FORMAT_HINTS.items():
            if stem.split(".")[0] in tables and last in extensions:
                hints.append(f" {rel} is {hint}.")
    folders = set()
    for rel in unread:
        parts = rel.split("/")
        if len(parts) > 2 and parts[-2].lower() in tables:  # x/orders/part.csv
            folders.add("/".join(parts[:-2]))
        elif len(parts) > 1 and parts[-1].lower().split(".")[0] in tables:
            folders.add("/".join(parts[:-1]))  # x/orders.csv
    if len(folders) == 1:
        (folder,) = folders
        hints.append(
            f" The tables seem to be in the sub-folder {folder}/: point DATA at it."
        )
    return "".join(hints)


def _table_files(
    data_dir: str,
    table: _Table,
    extensions: list[str],
    patterns: list[str],
    notes: list[str],
    problems: list[str],
) -> tuple[str, list[tuple[str, str]]] | None:
    """The table's root and its files [(absolute path, relative name)], or
    None when it has none (or a problem was reported)."""
    if not table.found:
        return None
    if len(table.found) > 1:
        problems.append(
            f"The DATA folder holds {_listed(table.found)} for the {table.name} "
            "table: keep one file, or one folder of files, per table (move the "
            "others out, or list them in `ignore_files`)."
        )
        return None
    (found,) = table.found
    if not found.endswith("/"):
        return data_dir, [(os.path.join(data_dir, found), found)]
    root = os.path.join(data_dir, found.rstrip("/"))
    files, odd = [], []
    for rel, is_dir in _walk(root, lambda rel: _ignored(found + rel, patterns)):
        shown = found + rel + ("/" if is_dir else "")
        if _is_junk(rel.split("/")[-1]):
            kind = "folder" if is_dir else "file"
            notes.append(f"ignored hidden or system {kind} {shown}")
            continue
        if _ignored(found + rel, patterns):
            notes.append(f"ignored {shown} (ignore_files)")
            continue
        if is_dir:
            continue
        if _accepted_extension(rel, extensions):
            files.append((os.path.join(root, rel), rel))
        else:
            odd.append(shown)
    if odd:
        problems.append(
            f"The {found} folder holds {_listed(odd)}, which "
            f"{'is' if len(odd) == 1 else 'are'} not read: a table folder may "
            f"hold only files with the extensions "
            f"{', '.join('.' + e for e in extensions)} (any case). Rename or move "
            "the file(s), or list them in `ignore_files`."
        )
    families = {
        family: [rel for _, rel in files if _family(rel) == family]
        for family in ("parquet", "text")
    }
    if families["parquet"] and families["text"]:
        minority, majority = sorted(families, key=lambda f: len(families[f]))
        problems.append(
            f"The {found} folder mixes Parquet and delimited-text files: "
            f"{_listed([found + rel for rel in families[minority]])} "
            f"{'is' if len(families[minority]) == 1 else 'are'} "
            f"{'Parquet' if minority == 'parquet' else 'text'} while the other "
            f"files are {'Parquet' if majority == 'parquet' else 'text'}. Keep one "
            "format per table (convert or move the odd files, or list them in "
            "`ignore_files`)."
        )
        return None
    return root, files


def _family(name: str) -> str:
    return "parquet" if _extension(name) == "parquet" else "text"


# -- text files -------------------------------------------------------------


def _open_binary(path: str) -> io.BufferedIOBase:
    if path.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _samples(path: str) -> tuple[bytes, bytes, bool]:
    """(head, tail, whole): the first 1 MiB (decompressed for .gz), the last
    64 KiB (b'' for .gz or when the head holds the whole file), and whether
    the head is the whole file."""
    with _open_binary(path) as handle:
        head = handle.read(HEAD_BYTES)
        whole = len(head) < HEAD_BYTES or not handle.read(1)
    tail = b""
    if not whole and not path.lower().endswith(".gz"):
        with open(path, "rb") as handle:
            handle.seek(max(os.path.getsize(path) - TAIL_BYTES, HEAD_BYTES))
            tail = handle.read()
    return head, tail, whole


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 4:
        return None
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _decodes(data: bytes, encoding: str, final: bool, skip_partial: bool) -> bool:
    if skip_partial:  # a tail sample may start inside a UTF-8 character
        start = 0
        while start < min(3, len(data)) and 0x80 <= data[start] < 0xC0:
            start += 1
        data = data[start:]
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


HIGH_BYTES = re.compile(rb"[\x80-\xff]+")


def _looks_chinese(head: bytes) -> bool:
    """Nearly all high bytes come in high-high pairs, as GBK text does
    (a run of n high bytes holds n // 2 pairs)."""
    runs = [len(run) for run in HIGH_BYTES.findall(head)]
    high = sum(runs)
    return high > 0 and sum(n - n % 2 for n in runs) >= 0.95 * high


def _encoding(
    file: _File, head: bytes, tail: bytes, whole: bool, override: str | None
) -> str | None:
    """Set the file's encoding; return a problem (binary file) or None."""
    for magic, what in BINARY_MAGIC:
        if head.startswith(magic):
            fix = "" if ": " in what else ": save it as CSV UTF-8 or Parquet"
            return f"{file.shown} is not a text file (it looks like {what}){fix}."
    boms = [
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ]
    detected = next((enc for bom, enc in boms if head.startswith(bom)), None)
    detected = detected or _utf16_without_bom(head)
    if override is not None:
        file.encoding = override
        file.encoding_label = (
            f"{ENCODING_LABELS.get(override, override)} (csv_encoding)"
        )
    elif detected is not None:
        file.encoding = detected
        file.encoding_label = ENCODING_LABELS[detected]
    elif b"\x00" in head or b"\x00" in tail:
        return (
            f"{file.shown} is not a text file (it holds NUL bytes): save it as CSV "
            "UTF-8 or Parquet, or set `csv_encoding` if it is UTF-16 text."
        )
    elif _decodes(head, "utf-8", whole, False) and _decodes(tail, "utf-8", True, True):
        file.encoding = "utf-8"
    else:
        if _decodes(head, "gb18030", whole, False) and _looks_chinese(head):
            file.encoding = "gb18030"
        elif any(byte in head + tail for byte in b"\x81\x8d\x8f\x90\x9d"):
            file.encoding = "latin-1"
        else:
            file.encoding = "cp1252"
        file.encoding_label = ENCODING_LABELS[file.encoding]
        file.guessed = True
    file.converted = codecs.lookup(file.encoding).name != "utf-8"
    return None


def _bom_length(encoding: str, head: bytes) -> int:
    for bom in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF8,
                codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # fmt: skip
        if head.startswith(bom) and codecs.lookup(encoding).name.startswith(
            ("utf-8", "utf-16-", "utf-32-")
        ):
            return len(bom)
    return 0


def _decoded_head(file: _File, head: bytes, whole: bool) -> str:
    """The head sample as text (a broken last character dropped)."""
    data = head[_bom_length(file.encoding, head) :]
    try:
        return codecs.getincrementaldecoder(file.encoding)().decode(data, final=whole)
    except UnicodeDecodeError as error:  # reported by the conversion
        return data[: error.start].decode(file.encoding, errors="replace")


def _records(text: str, delimiter: str, whole: bool) -> list[list[str]]:
    """The sample's records (quoted newlines kept in their field), without
    blank lines and, unless the sample is the whole file, without the last
    (maybe cut) record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = []
    try:
        for record in reader:
            records.append(record)
            if len(records) > SAMPLE_RECORDS * 5:
                break
    except csv.Error:
        pass
    if not whole and records:
        records.pop()
    return [r for r in records if any(value.strip() for value in r)]


def _detect_delimiter(text: str, whole: bool) -> str:
    best, best_score = ",", -1
    for delimiter in DELIMITERS:
        records = _records(text, delimiter, whole)[:SAMPLE_RECORDS]
        if not records or len(records[0]) < 2:
            continue
        score = sum(len(record) == len(records[0]) for record in records)
        if score > best_score:
            best, best_score = delimiter, score
    return best


COMMA_DECIMAL = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
POINT_DECIMAL = re.compile(r"\.\d{1,2}$")


def _detect_decimal(values: list[str], delimiter: str) -> str:
    separated = [v.strip() for v in values if "," in v or "." in v]
    if delimiter == "," or not separated:
        return "."
    if any(POINT_DECIMAL.search(value) for value in separated):
        return "."
    comma = sum(bool(COMMA_DECIMAL.match(value)) for value in separated)
    return "," if comma > len(separated) / 2 else "."


def _partition_keys(rel: str) -> dict[str, str]:
    """Hive-style partition keys of a relative name (a=1/b=2/f.parquet):
    lower-case key -> key as written."""
    keys: dict[str, str] = {}
    for part in rel.split("/")[:-1]:
        if "=" in part:
            key = part.split("=", 1)[0].strip()
            keys.setdefault(key.lower(), key)
    return keys


SEPARATORS = re.compile(r"[\s.\-]+")


def _column_key(name: str) -> str:
    """A header name as it is matched to the contract: case, surrounding
    spaces and the separators of words ignored (`User ID`, `user-id` and
    `USER_ID` are user_id)."""
    return SEPARATORS.sub("_", name.strip().lower())


def _split_by_spelling(
    groups: dict[tuple, list[_File]],
) -> dict[tuple, list[_File]]:
    """DuckDB unites the files of one reader by column name ignoring case
    only: a group whose files spell a contract column otherwise (User ID in
    one, user_id in another) is read as one reader per spelling."""
    split: dict[tuple, list[_File]] = {}
    for key, files in groups.items():
        spellings: dict[str, set[str]] = {}
        for file in files:
            for column, name in file.columns.items():
                spellings.setdefault(column, set()).add(name.lower())
        if all(len(names) == 1 for names in spellings.values()):
            split[key] = files
            continue
        for file in files:
            signature = tuple(sorted((c, n.lower()) for c, n in file.columns.items()))
            split.setdefault((*key, signature), []).append(file)
    return split


def _header_columns(
    file: _File, header: list[str], table: _Table, problems: list[str]
) -> bool:
    """Map the header to contract columns; report problems. True when fine."""
    names = [name.strip().lstrip("\ufeff").strip() for name in header]
    by_lower: dict[str, list[str]] = {}
    for name in names:
        by_lower.setdefault(_column_key(name), []).append(name)
    contract = table.column_names()
    ok = True
    for column in contract:
        if len(by_lower.get(column, [])) > 1:
            problems.append(
                f"{file.shown} has the column {column} "
                f"{len(by_lower[column])} times "
                f"({_listed(by_lower[column])}): ambiguous; rename or drop one."
            )
            ok = False
    file.columns = {c: by_lower[c][0] for c in contract if c in by_lower}
    partitions = _partition_keys(file.rel)
    from_folders = [c for c in contract if c not in file.columns and c in partitions]
    if from_folders:
        file.columns.update({c: partitions[c] for c in from_folders})
        file.hive_keys = tuple(partitions.values())
        file.hive_columns = tuple(from_folders)
    missing = [c for c in table.required_columns() if c not in file.columns]
    if not missing:
        return ok
    others = [d for d in DELIMITERS if d != file.delimiter]
    inside = [d for d in others if len(names) == 1 and d in names[0]]
    found = ", ".join(names) if names else "nothing"
    if inside:
        problems.append(
            f"{file.shown} seems to be separated by {_delimiter_label(inside[0])}, "
            f"not {_delimiter_label(file.delimiter)}: its first line is the one "
            f"field {names[0]!r}. Set `csv_delimiter` to "
            f"{_delimiter_label(inside[0])} (or per table in `raw_table_formats`)."
        )
    elif not file.columns:
        problems.append(
            f"{file.shown} has no header row: its first line ({found}) names none "
            f"of the {table.name} columns. Add a first line naming the columns "
            f"({', '.join(contract)}; required: {', '.join(missing)})."
        )
    else:
        problems.append(
            f"{file.shown} lacks the required {table.name} column(s) "
            f"{', '.join(missing)}. Columns found: {found}. Rename the columns "
            "in the file's first line (names are matched ignoring case, "
            "surrounding spaces and word separators: User ID is user_id)."
        )
    return False


def _invalid_utf8_window(file: _File, copy_dir: str) -> bytes | None:
    """Around the first byte sequence of the whole file that is not UTF-8
    (64 KiB either side), or None when all of it is UTF-8. A file the
    samples found UTF-8 is checked whole before it is read in place:
    DuckDB checks the encoding only of the columns a query reads, so an
    invalid line would count as a row in one query and be dropped in
    another. The result is remembered per file version (a marker under
    ``<copy_dir>/_checked``), so an unchanged file is decoded once."""
    marker = os.path.join(copy_dir, "_checked", _safe_name(file.shown) + ".json")
    stamp = {"source": file.path, "version": file.version}
    try:
        with open(marker, encoding="utf-8") as handle:
            if json.load(handle) == stamp:
                return None
    except (OSError, ValueError):
        pass
    decoder = codecs.getincrementaldecoder("utf-8")()
    with _open_binary(file.path) as source:
        while True:
            chunk = source.read(CHUNK_BYTES)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                start = max(error.start - TAIL_BYTES, 0)
                return error.object[start : error.start + TAIL_BYTES]
            if not chunk:
                break
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    with open(marker, "w", encoding="utf-8") as handle:
        json.dump(stamp, handle)
    return None


def _check_whole_utf8(
    file: _File, head: bytes, override: str | None, copy_dir: str
) -> str | None:
    """For a file to be read in place as UTF-8 whose samples did not cover
    it: check the whole file; when a later part is not UTF-8, guess the
    encoding from that part as for a file that is not UTF-8 at all (and
    convert it), or, when the encoding was given or a BOM says UTF-8, return
    the problem."""
    window = _invalid_utf8_window(file, copy_dir)
    if window is None:
        return None
    if override is not None or head.startswith(codecs.BOM_UTF8):
        return (
            f"{file.shown} is not valid UTF-8 text throughout (its start is): "
            "set `csv_encoding` to the file's encoding (e.g. cp1252, latin-1, "
            "gb18030), or save the file as CSV UTF-8."
        )
    if _decodes(window, "gb18030", False, False) and _looks_chinese(window):
        file.encoding = "gb18030"
    elif any(byte in window for byte in b"\x81\x8d\x8f\x90\x9d"):
        file.encoding = "latin-1"
    else:
        file.encoding = "cp1252"
    file.encoding_label = ENCODING_LABELS[file.encoding]
    file.guessed = True
    file.converted = True
    return None


def _analyse_text(
    file: _File,
    table: _Table,
    formats: dict[str, Any],
    problems: list[str],
    copy_dir: str,
) -> None:
    try:
        head, tail, whole = _samples(file.path)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        problems.append(
            f"{file.shown} cannot be read as a gzip file: decompress it, or "
            "re-compress it with gzip."
        )
        return
    except OSError as error:
        problems.append(f"{file.shown} cannot be read ({error.strerror}).")
        return
    if not head:
        file.empty = "is empty (0 bytes)"
        return
    problem = _encoding(file, head, tail, whole, formats["csv_encoding"])
    if not problem and not whole and not file.converted:
        problem = _check_whole_utf8(file, head, formats["csv_encoding"], copy_dir)
    if problem:
        problems.append(problem)
        return
    if _mixed_newlines(head + tail):
        # DuckDB's CSV reader cannot read a file whose lines end in both CRLF
        # and LF (e.g. rows appended on another system): read a copy with
        # LF throughout.
        file.mixed_newlines = file.converted = True
    text = _decoded_head(file, head, whole)
    excel_separator = EXCEL_SEPARATOR_LINE.match(text)
    if excel_separator:
        # Excel's "sep=;" line names the delimiter above the header.
        file.skip = 1
        text = text[excel_separator.end() :]
    if formats["csv_delimiter"] is not None:
        file.delimiter = formats["csv_delimiter"]
    elif excel_separator:
        file.delimiter = excel_separator.group(1)
    elif _extension(file.rel).startswith("tsv"):
        file.delimiter = "\t"
    else:
        file.delimiter = _detect_delimiter(text, whole)
    records = _records(text, file.delimiter, whole)
    if not records:
        file.empty = "has only blank lines" if whole else ""
        if whole:
            return
    if not _header_columns(file, records[0] if records else [], table, problems):
        return
    if whole and len(records) == 1:
        file.empty = "has no rows (header only)"
        return
    if formats["decimal_separator"] is not None:
        file.decimal = formats["decimal_separator"]
        return
    header = [name.strip().lstrip("\ufeff").strip() for name in records[0]]
    positions = [
        header.index(file.columns[c])
        for c in table.typed({"decimal"})
        if c in file.columns and c not in file.hive_columns
    ]
    values = [r[i] for r in records[1:SAMPLE_RECORDS] for i in positions if i < len(r)]
    file.decimal = _detect_decimal(values, file.delimiter)


EXCEL_SEPARATOR_LINE = re.compile(r'\A"?sep=(.)"?[ \t]*\r?\n', re.IGNORECASE)


def _mixed_newlines(sample: bytes) -> bool:
    """Lines ending in CRLF and in LF alone in one sample."""
    crlf = sample.count(b"\r\n")
    return crlf > 0 and sample.count(b"\n") > crlf


def _convert(
    file: _File, table: str, copy_dir: str, head: bytes, problems: list[str]
) -> None:
    """Write (or reuse) the UTF-8 copy of a converted file, its line endings
    LF throughout."""
    target = os.path.join(copy_dir, table, _safe_name(file.rel))
    marker = target + ".intake.json"
    stamp = {
        "source": file.path,
        "version": file.version,
        "encoding": file.encoding,
        "newlines": "lf",
    }
    try:
        with open(marker, encoding="utf-8") as handle:
            if json.load(handle) == stamp and os.path.isfile(target):
                file.read_path = target
                return
    except (OSError, ValueError):
        pass
    os.makedirs(os.path.dirname(target), exist_ok=True)
    decoder = codecs.getincrementaldecoder(file.encoding)()
    lines = 0
    held = ""  # a CR at the end of a chunk, until the next shows what follows
    partial = target + ".partial"
    with _open_binary(file.path) as source, open(partial, "wb") as copy:
        skip = _bom_length(file.encoding, head)
        source.read(skip)
        while True:
            chunk = source.read(CHUNK_BYTES)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                before = error.object[: error.start].decode(
                    file.encoding, errors="replace"
                )
                line = lines + before.count("\n") + 1
                bad = error.object[error.start : error.end].hex(" ")
                copy.close()
                os.remove(partial)
                problems.append(
                    f"{file.shown} is not valid {file.encoding_label} text: line "
                    f"{line} holds the byte(s) {bad}, which that encoding does not "
                    "define. Set `csv_encoding` to the file's encoding (e.g. utf-8, "
                    "cp1252, latin-1, gb18030), or save the file as CSV UTF-8."
                )
                return
            lines += text.count("\n")
            text = held + text
            held = "\r" if chunk and text.endswith("\r") else ""
            text = text[: len(text) - len(held)].replace("\r\n", "\n")
            copy.write(text.encode("utf-8"))
            if not chunk:
                break
    os.replace(partial, target)
    with open(marker, "w", encoding="utf-8") as handle:
        json.dump(stamp, handle)
    file.read_path = target


# -- Parquet files ----------------------------------------------------------


def _analyse_parquet(
    file: _File, table: _Table, connection: duckdb.DuckDBPyConnection,
    problems: list[str],
) -> None:  # fmt: skip
    try:
        with open(file.path, "rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        problems.append(f"{file.shown} cannot be read ({error.strerror}).")
        return
    if not magic:
        file.empty = "is empty (0 bytes)"
        return
    if magic != b"PAR1":
        problems.append(
            f"{file.shown} is not a Parquet file: if it is CSV text, name it "
            ".csv; else export it again as Parquet."
        )
        return
    try:
        (rows,) = connection.execute(
            "select num_rows from parquet_file_metadata([?])", [file.read_path]
        ).fetchone()
        described = connection.execute(
            "describe select * from read_parquet([?], hive_partitioning = false)",
            [file.read_path],
        ).fetchall()
    except duckdb.Error:
        problems.append(
            f"{file.shown} is not a readable Parquet file (DuckDB cannot read its "
            "metadata): export it again, or save it as CSV UTF-8."
        )
        return
    _header_columns(file, [row[0] for row in described], table, problems)
    if rows == 0:
        file.empty = "has no rows (a Parquet file with 0 rows)"


# -- plan -------------------------------------------------------------------


def _link(file: _File, table: str, copy_dir: str) -> tuple[str, str]:
    """(read path, root) of a file read through a symlink with a safe path."""
    root = os.path.join(copy_dir, "_links", table)
    link = os.path.join(root, _safe_name(file.rel))
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link) and os.readlink(link) == file.path:
        return link, root
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(file.path, link)
    return link, root


def _reader(files: list[_File], root: str, table: _Table, dates: dict) -> dict:
    first = files[0]
    columns: dict[str, str] = {}
    for file in files:
        for column, name in file.columns.items():
            columns.setdefault(column, name)
    reader: dict[str, Any] = {
        "format": "parquet" if first.family == "parquet" else "csv",
        "root": root,
        "files": [file.read_path for file in files],
        "source_files": [file.rel for file in files],
        "file_versions": [file.version for file in files],
    }
    if first.family == "text":
        reader["options"] = {
            "encoding": "utf-8",
            "delimiter": first.delimiter,
            "quote": '"',
            "escape": '"',
            "compression": "none" if first.converted else "auto",
            "skip": first.skip,
        }
    reader["columns"] = {c: columns[c] for c in table.column_names() if c in columns}
    reader["hive_partitioning"] = bool(first.hive_keys)
    reader["decimal_separator"] = first.decimal
    reader["date_formats"] = dict(sorted(dates.items()))
    return reader


def _description(table: _Table, found: str, files: list[_File], dates: dict) -> str:
    if found.endswith("/"):
        count = f"{len(files)} file{'s' if len(files) != 1 else ''} in {found}"
    else:
        count = found
    parts = []
    if files[0].family == "parquet":
        parts.append("parquet")
        folders = {os.path.dirname(f.rel) for f in files} - {""}
        if folders:
            s = "s" if len(folders) != 1 else ""
            parts.append(f"{len(folders)} partition folder{s}")
    else:
        gzipped = any(f.rel.lower().endswith(".gz") for f in files)
        parts.append("csv, gzip" if gzipped else "csv")
        encodings = []
        for file in files:
            label = file.encoding_label
            if file.converted and codecs.lookup(file.encoding).name != "utf-8":
                label += " converted to UTF-8"
            if file.mixed_newlines:
                label += " (mixed line endings, read from a copy with LF)"
            if file.guessed:
                label += " (guessed; set csv_encoding to override)"
            if label not in encodings:
                encodings.append(label)
        parts.append(_listed(encodings))
        delimiters = []
        for file in files:
            if _delimiter_label(file.delimiter) not in delimiters:
                delimiters.append(_delimiter_label(file.delimiter))
        parts.append(_listed(delimiters))
        if any(f.decimal == "," for f in files):
            parts.append("decimal ','")
    hive = sorted({c for file in files for c in file.hive_columns})
    if hive:
        parts.append(f"{', '.join(hive)} from folder names")
    values = sorted(set(dates.values()))
    if len(values) == 1 and set(dates) == set(table.typed(DATE_TYPES)):
        parts.append(f"dates {values[0]}")
    elif dates:
        parts.append(", ".join(f"{c} {v}" for c, v in sorted(dates.items())))
    return f"{table.name}: {count} ({', '.join(parts)})"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def plan_raw_files(
    data_dir: str, contract: list[dict], settings: dict, copy_dir: str
) -> dict:
    """The plan of how to read the DATA folder's raw files (see the module
    docstring); raises IntakeError with every problem found, and with the
    path and the system's reason when a file or folder cannot be read or
    written (permissions, a full disk)."""
    try:
        return _plan_raw_files(data_dir, contract, settings, copy_dir)
    except OSError as error:
        raise IntakeError(
            f"{error.filename or data_dir} cannot be read or written "
            f"({error.strerror or error}): check its permissions and the free "
            "disk space."
        ) from None


def _plan_raw_files(
    data_dir: str, contract: list[dict], settings: dict, copy_dir: str
) -> dict:
    """plan_raw_files, without the translation of system errors.

    contract: the raw tables in order, each {"name", "required", "columns":
    [{"name", "required", "data_type"}]}. settings: file_extensions,
    csv_encoding, csv_delimiter, decimal_separator, date_format,
    raw_table_formats, ignore_files (all optional). copy_dir: a folder for
    converted copies and safe links, created when needed."""
    data_dir = os.path.abspath(os.path.expanduser(str(data_dir).strip()))
    if not os.path.isdir(data_dir):
        what = "is not a folder" if os.path.exists(data_dir) else "does not exist"
        raise IntakeError(f"DATA folder {data_dir} {what}.")
    copy_dir = os.path.abspath(copy_dir)
    # An empty string is an unset var; one string is a list of one.
    settings = {k: v for k, v in (settings or {}).items() if v != ""}
    problems: list[str] = []
    notes: list[str] = []
    extensions = [
        str(e).lower().lstrip(".")
        for e in _as_list(settings.get("file_extensions")) or DEFAULT_FILE_EXTENSIONS
    ]
    patterns = [str(p) for p in _as_list(settings.get("ignore_files"))]
    formats = _check_settings(settings, contract, problems)
    tables = {
        t["name"]: _Table(t["name"], bool(t.get("required")), t["columns"],
                          formats[t["name"]])
        for t in contract
    }  # fmt: skip
    _discover(data_dir, tables, extensions, patterns, notes, problems)
    plan: dict[str, Any] = {"data_dir": data_dir, "tables": {}, "notes": notes}
    connection = duckdb.connect()
    try:
        for table in tables.values():
            plan["tables"][table.name] = _plan_table(
                data_dir, table, extensions, patterns, copy_dir, connection,
                notes, problems,
            )  # fmt: skip
    finally:
        connection.close()
    if problems:
        raise IntakeError("\n\n".join(problems))
    return plan


def _plan_table(
    data_dir: str,
    table: _Table,
    extensions: list[str],
    patterns: list[str],
    copy_dir: str,
    connection: duckdb.DuckDBPyConnection,
    notes: list[str],
    problems: list[str],
) -> dict[str, Any]:
    before = len(problems)
    listing = _table_files(data_dir, table, extensions, patterns, notes, problems)
    found = table.found[0] if len(table.found) == 1 else ""
    files: list[_File] = []
    if listing is not None:
        root, paths = listing
        prefix = found if found.endswith("/") else ""
        for path, rel in paths:
            try:
                version = _version(path)
            except OSError as error:
                problems.append(f"{prefix + rel} cannot be read ({error.strerror}).")
                continue
            file = _File(path, rel, prefix + rel, version, _family(rel))
            file.read_path = path
            if file.family == "parquet":
                if _is_unsafe(path):
                    file.read_path, _ = _link(file, table.name, copy_dir)
                _analyse_parquet(file, table, connection, problems)
            else:
                _analyse_text(file, table, table.formats, problems, copy_dir)
            files.append(file)
    if len(problems) > before:
        return {"readers": [], "description": f"{table.name}: not read (see errors)"}
    empty = [f for f in files if f.empty]
    data = [f for f in files if not f.empty]
    if not data:
        if empty and table.required:
            for file in empty:
                problems.append(
                    f"{file.shown} {file.empty}: the {table.name} table is "
                    f"required and has no data row. Export it again with its rows."
                )
        elif found.endswith("/") and not files and table.required:
            problems.append(
                f"The {found} folder holds no {table.name} file: put the "
                f"{table.name} files there (extensions "
                f"{', '.join('.' + e for e in extensions)})."
            )
        elif table.required:
            problems.append(_no_file_problem(data_dir, table, extensions))
        else:
            for file in empty:
                notes.append(f"{file.shown} {file.empty}: {table.name} read as absent")
            if found.endswith("/") and not files:
                notes.append(f"{found} holds no file: {table.name} read as absent")
        meaning = ABSENT_MEANING.get(table.name, "the table is empty")
        return {
            "readers": [],
            "description": f"{table.name}: no file (optional): {meaning}",
        }
    for file in empty:
        notes.append(f"{file.shown} {file.empty}: skipped, the other files are read")
    groups: dict[tuple, list[_File]] = {}
    for file in data:
        root = listing[0] if listing else data_dir
        if file.converted:
            if _is_unsafe(copy_dir):
                problems.append(f"The copy folder {copy_dir} holds glob characters.")
                continue
            head, _, _ = _samples(file.path)
            _convert(file, table.name, copy_dir, head, problems)
            root = os.path.join(copy_dir, table.name)
        elif file.family == "text" and _is_unsafe(file.path):
            file.read_path, root = _link(file, table.name, copy_dir)
        elif file.read_path != file.path:
            root = os.path.join(copy_dir, "_links", table.name)
        key = (
            root,
            file.family,
            file.delimiter,
            file.converted,
            file.decimal,
            file.hive_keys,
            file.skip,
        )
        groups.setdefault(key, []).append(file)
    groups = _split_by_spelling(groups)
    if len(problems) > before:
        return {"readers": [], "description": f"{table.name}: not read (see errors)"}
    dates = table.formats["date_formats"]
    readers = [
        _reader(sorted(group, key=lambda f: f.rel), key[0], table, dates)
        for key, group in groups.items()
    ]
    readers.sort(key=lambda reader: reader["source_files"][0])
    return {"readers": readers, "description": _description(table, found, data, dates)}


def _no_file_problem(data_dir: str, table: _Table, extensions: list[str]) -> str:
    return (
        f"DATA folder {data_dir} has no {table.name} file: expected "
        f"{table.name}.csv or {table.name}.parquet (or another of the extensions "
        f"{', '.join('.' + e for e in extensions)}, any case), or a folder "
        f"{table.name}/ of such files (the {table.name} table is required)."
    )


# The dbt vars that override what the planner detects (the loader hook's
# macro raw_read_settings passes the same names).
SETTING_VARS = (
    "csv_encoding",
    "csv_delimiter",
    "decimal_separator",
    "date_format",
    "raw_table_formats",
    "ignore_files",
)


def copy_dir_for(database_path: str | None) -> Path:
    """Where converted copies and links of raw files go: ``raw_copies``
    beside the warehouse file (a temporary folder for an in-memory
    database), for make run and the dbt plugin alike."""
    if not database_path or database_path == ":memory:":
        return Path(tempfile.gettempdir()) / "segments_raw_copies"
    return Path(database_path).resolve().parent / "raw_copies"
