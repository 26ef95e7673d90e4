"""The raw-file intake planner (segmentation.intake): hostile DATA folders
written into tmp_path, no dbt build. Each test asserts the plan (files,
readers, options, columns, decimal separator, description) or the
IntakeError text (the file and the fix named); converted copies are read
back with DuckDB's read_csv and the returned options."""

from __future__ import annotations

import gzip
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from segmentation.intake import IntakeError, plan_raw_files


def _columns(*specs: str) -> list[dict[str, Any]]:
    """name:type[!] (! = required) -> contract columns."""
    columns = []
    for spec in specs:
        name, kind = spec.rstrip("!").split(":")
        columns.append(
            {"name": name, "required": spec.endswith("!"), "data_type": kind}
        )
    return columns


CONTRACT = [
    {
        "name": "orders",
        "required": True,
        "columns": _columns(
            "order_id:varchar!",
            "user_id:varchar!",
            "ordered_at:timestamp!",
            "amount:decimal!",
            "status:varchar",
            "product_category:varchar",
        ),
    },
    {
        "name": "users",
        "required": False,
        "columns": _columns(
            "user_id:varchar!",
            "signed_up_at:timestamp",
            "birth_date:date",
            "gender:varchar",
            "region:varchar",
            "city:varchar",
        ),
    },
    {
        "name": "events",
        "required": False,
        "columns": _columns(
            "event_id:varchar!",
            "user_id:varchar!",
            "session_id:varchar!",
            "occurred_at:timestamp!",
            "event_type:varchar!",
            "duration_seconds:decimal",
        ),
    },
]

ORDERS = (
    "order_id,user_id,ordered_at,amount,status\n"
    "o1,u1,2025-10-01,12.50,paid\n"
    "o2,u2,2025-10-02,7.00,paid\n"
)
SEMICOLON = "order_id;user_id;ordered_at;amount\n"
EVENTS_COLUMNS = "event_id,user_id,session_id,occurred_at,event_type"


def write(folder: Path, rel: str, content: str | bytes) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def write_parquet(path: Path, select: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"copy ({select}) to '{path}' (format parquet)")


def plan(data: Path, **settings: Any) -> dict[str, Any]:
    copies = data.parent / "copies"
    return plan_raw_files(str(data), CONTRACT, settings, str(copies))


def error(data: Path, **settings: Any) -> str:
    with pytest.raises(IntakeError) as raised:
        plan(data, **settings)
    return str(raised.value)


def read_back(reader: dict[str, Any]) -> dict[str, list[tuple]]:
    """Rows per source_file, read as the loader will: DuckDB read_csv (or
    read_parquet) over the reader's files with its options."""
    connection = duckdb.connect()
    if reader["format"] == "parquet":
        relation = connection.execute(
            "select * from read_parquet(?, filename = '_f', hive_partitioning = ?)",
            [reader["files"], reader["hive_partitioning"]],
        )
    else:
        options = reader["options"]
        relation = connection.execute(
            "select * from read_csv(?, header = true, all_varchar = true,"
            " filename = '_f', union_by_name = true, encoding = ?, delim = ?,"
            " quote = ?, escape = ?, compression = ?, hive_partitioning = ?,"
            " skip = ?)",
            [
                reader["files"],
                options["encoding"],
                options["delimiter"],
                options["quote"],
                options["escape"],
                options["compression"],
                reader["hive_partitioning"],
                options["skip"],
            ],
        )
    names = [column[0] for column in relation.description]
    rows: dict[str, list[tuple]] = {}
    for row in relation.fetchall():
        record = dict(zip(names, row, strict=True))
        source = reader["source_files"][reader["files"].index(record.pop("_f"))]
        assert reader["files"][reader["source_files"].index(source)].startswith(
            reader["root"] + "/"
        )
        rows.setdefault(source, []).append(
            tuple(record[reader["columns"][c]] for c in reader["columns"])
        )
    return rows


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


# -- 1. discovery -------------------------------------------------------------


def test_the_data_folder_must_exist_and_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(IntakeError, match="does not exist"):
        plan(tmp_path / "missing")
    write(tmp_path, "file.csv", ORDERS)
    with pytest.raises(IntakeError, match="is not a folder"):
        plan(tmp_path / "file.csv")


def test_a_top_level_file_keeps_todays_naming(data: Path) -> None:
    write(data, "orders.csv", ORDERS)
    result = plan(data)
    (reader,) = result["tables"]["orders"]["readers"]
    assert result["data_dir"] == str(data)
    assert reader["root"] == str(data)
    assert reader["files"] == [str(data / "orders.csv")]
    assert reader["source_files"] == ["orders.csv"]
    stat = (data / "orders.csv").stat()
    assert reader["file_versions"] == [
        f"{stat.st_size} bytes, modified {stat.st_mtime_ns // 1_000_000}"
    ]
    assert reader["options"] == {
        "encoding": "utf-8",
        "delimiter": ",",
        "quote": '"',
        "escape": '"',
        "compression": "auto",
        "skip": 0,
    }
    assert reader["columns"] == {
        "order_id": "order_id",
        "user_id": "user_id",
        "ordered_at": "ordered_at",
        "amount": "amount",
        "status": "status",
    }
    assert reader["decimal_separator"] == "."
    assert reader["date_formats"] == {}
    assert reader["hive_partitioning"] is False
    assert result["tables"]["orders"]["description"] == (
        "orders: orders.csv (csv, UTF-8, ',')"
    )
    assert result["tables"]["users"] == {
        "readers": [],
        "description": "users: no file (optional): users derived from orders "
        "and events",
    }
    assert result["tables"]["events"]["readers"] == []
    assert result["notes"] == []


def test_names_and_extensions_match_ignoring_case(data: Path) -> None:
    """Users.csv, events.TSV and orders/PART-2.CSV were skipped silently."""
    write(data, "orders/part-1.csv", ORDERS)
    write(data, "orders/PART-2.CSV", ORDERS.replace("o1", "o3"))
    write(data, "Users.csv", "User_ID,City\nu1,Paris\n")
    write(data, "events.TSV", EVENTS_COLUMNS.replace(",", "\t") + "\n1\tu1\ts\tt\tv\n")
    result = plan(data)
    (orders,) = result["tables"]["orders"]["readers"]
    assert orders["root"] == str(data / "orders")
    assert orders["source_files"] == ["PART-2.CSV", "part-1.csv"]
    assert orders["files"] == [str(data / "orders" / n) for n in orders["source_files"]]
    assert result["tables"]["orders"]["description"].startswith(
        "orders: 2 files in orders/ (csv"
    )
    (users,) = result["tables"]["users"]["readers"]
    assert users["source_files"] == ["Users.csv"]
    assert users["columns"] == {"user_id": "User_ID", "city": "City"}
    (events,) = result["tables"]["events"]["readers"]
    assert events["options"]["delimiter"] == "\t"
    assert len(read_back(orders)["PART-2.CSV"]) == 2


def test_partitioned_parquet_folders_are_read(data: Path) -> None:
    select = (
        "select 'e1' as event_id, 'u1' as user_id, 's1' as session_id,"
        " timestamp '2025-10-01' as occurred_at, 'view' as event_type"
    )
    write_parquet(data / "events/date=2025-10-01/part-0.parquet", select)
    write_parquet(data / "events/date=2025-10-02/part-0.parquet", select)
    write(data, "orders.csv", ORDERS)
    result = plan(data)
    (events,) = result["tables"]["events"]["readers"]
    assert events["format"] == "parquet"
    assert "options" not in events
    assert events["root"] == str(data / "events")
    assert events["source_files"] == [
        "date=2025-10-01/part-0.parquet",
        "date=2025-10-02/part-0.parquet",
    ]
    assert result["tables"]["events"]["description"] == (
        "events: 2 files in events/ (parquet, 2 partition folders)"
    )
    assert sum(len(rows) for rows in read_back(events).values()) == 2


def test_partition_folders_can_hold_a_column(data: Path) -> None:
    """pandas to_parquet(partition_cols=...) drops the column from the files
    and writes it in the folder names: it is read from there."""
    select = (
        "select 'e1' as event_id, 'u1' as user_id, 's1' as session_id,"
        " timestamp '2025-10-01' as occurred_at"
    )
    write_parquet(data / "events/Event_Type=view/part-0.parquet", select)
    write_parquet(data / "events/Event_Type=click/part-0.parquet", select)
    write(data, "orders/Status=paid/part-1.csv", SEMICOLON + "o1;u1;2025;12,50\n")
    result = plan(data)
    (orders,) = result["tables"]["orders"]["readers"]
    assert orders["hive_partitioning"] is True
    assert orders["columns"]["status"] == "Status"
    assert orders["decimal_separator"] == ","
    assert read_back(orders) == {
        "Status=paid/part-1.csv": [("o1", "u1", "2025", "12,50", "paid")]
    }
    (events,) = result["tables"]["events"]["readers"]
    assert events["hive_partitioning"] is True
    assert events["columns"]["event_type"] == "Event_Type"
    assert result["tables"]["events"]["description"] == (
        "events: 2 files in events/ (parquet, 2 partition folders,"
        " event_type from folder names)"
    )
    read = read_back(events)
    assert read["Event_Type=view/part-0.parquet"][0][4] == "view"
    assert read["Event_Type=click/part-0.parquet"][0][4] == "click"
    # Without the folder names the column is missing.
    write_parquet(data / "events/part-9.parquet", select)
    message = error(data)
    assert "events/part-9.parquet lacks the required events column(s) event_type" in (
        message
    )


def test_a_file_and_a_folder_or_two_files_of_one_table_stop(data: Path) -> None:
    write(data, "orders.csv", ORDERS)
    write(data, "orders/part-1.csv", ORDERS)
    message = error(data)
    assert "orders/ and orders.csv for the orders table" in message
    assert "`ignore_files`" in message
    (data / "orders/part-1.csv").unlink()
    (data / "orders").rmdir()
    write_parquet(data / "orders.parquet", "select 1 as order_id")
    assert "orders.csv and orders.parquet for the orders table" in error(data)


def test_a_table_folder_holds_one_format(data: Path) -> None:
    write(data, "orders/part-1.csv", ORDERS)
    write(data, "orders/part-2.csv", ORDERS)
    write_parquet(data / "orders/part-3.parquet", "select 1 as order_id")
    message = error(data)
    assert "orders/ folder mixes Parquet and delimited-text files" in message
    assert "orders/part-3.parquet is Parquet" in message


def test_hidden_and_system_files_are_ignored_with_a_note(data: Path) -> None:
    write(data, "orders/part-1.csv", ORDERS)
    write(data, "orders/._part-1.csv", b"\x00\x05\x16\x07Mac OS X junk")
    write(data, ".DS_Store", b"\x00\x00\x00\x01Bud1")
    write(data, ".git/config", "[core]\n")
    write(data, "~$orders.xlsx", b"lock")
    write(data, "Thumbs.db", b"\x00")
    write(data, "__MACOSX/orders/._part-1.csv", b"\x00")
    write(data, "README.md", "# my export\n")
    # Metadata files data tools write beside their data (Spark, Hive).
    write(data, "_manifest.json", "{}")
    write(data, "orders/_SUCCESS", "")
    result = plan(data)
    assert result["tables"]["orders"]["readers"][0]["source_files"] == ["part-1.csv"]
    assert result["notes"] == [
        "ignored hidden or system file .DS_Store",
        "ignored hidden or system folder .git/",
        "left unread README.md (not table data)",
        "ignored hidden or system file Thumbs.db",
        "ignored hidden or system folder __MACOSX/",
        "ignored hidden or system file _manifest.json",
        "ignored hidden or system file ~$orders.xlsx",
        "ignored hidden or system file orders/._part-1.csv",
        "ignored hidden or system file orders/_SUCCESS",
    ]


def test_tables_one_folder_down_say_where_data_should_point(data: Path) -> None:
    write(data, "export/orders/part-1.csv", ORDERS)
    write(data, "export/users.csv", "user_id\nu1\n")
    write(data, "orders.json", '{"order_id": 1}\n')
    message = error(data)
    assert "The tables seem to be in the sub-folder export/: point DATA at it" in (
        message
    )
    assert "orders.json is JSON: export the table as CSV or Parquet" in message


def test_a_table_like_file_that_is_not_read_stops(data: Path) -> None:
    write(data, "orders.csv", ORDERS)
    write(data, "customers.csv", "user_id\nu1\n")
    write(data, "users.xlsx", b"PK\x03\x04")
    write(data, "archive/orders-2024.csv", ORDERS)
    write(data, "orders.csv.bak", ORDERS)
    message = error(data)
    assert "archive/orders-2024.csv, customers.csv and users.xlsx" in message
    assert "orders.<ext>, users.<ext>, events.<ext>" in message
    assert ".parquet, .csv, .tsv, .txt, .csv.gz, .tsv.gz, .txt.gz" in message
    assert "`ignore_files`" in message
    assert "users.xlsx is an Excel or OpenDocument workbook: save it as CSV" in message
    assert "point DATA at" not in message  # one table file one folder down only
    result = plan(
        data,
        ignore_files=["CUSTOMERS.csv", "archive/*", "users.xlsx"],
        csv_encoding="",  # an unset var
    )
    assert result["notes"] == [
        "ignored archive/ (ignore_files)",
        "ignored customers.csv (ignore_files)",
        "left unread orders.csv.bak (not table data)",
        "ignored users.xlsx (ignore_files)",
    ]
    assert result["tables"]["users"]["readers"] == []
    # One string is a list of one.
    message = error(data, ignore_files="archive/*", file_extensions="CSV")
    assert message.startswith("The DATA folder holds customers.csv and users.xlsx")
    assert "with the extensions .csv (any case)" in message


def test_a_non_table_file_inside_a_table_folder_stops(data: Path) -> None:
    write(data, "orders/part-1.csv", ORDERS)
    write(data, "orders/part-2.json", "{}")
    write(data, "orders/notes.md", "x")
    message = error(data)
    assert "orders/ folder holds orders/notes.md and orders/part-2.json" in message
    assert "`ignore_files`" in message
    result = plan(data, ignore_files=["orders/*.md", "orders/part-2.json"])
    assert result["tables"]["orders"]["readers"][0]["source_files"] == ["part-1.csv"]
    assert "ignored orders/part-2.json (ignore_files)" in result["notes"]


def test_a_broken_link_is_named(data: Path) -> None:
    write(data, "orders/part-1.csv", ORDERS)
    (data / "orders/part-2.csv").symlink_to(data / "gone.csv")
    assert "orders/part-2.csv cannot be read (No such file or directory)" in error(data)


def test_a_missing_required_table_names_what_is_read(data: Path) -> None:
    write(data, "users.csv", "user_id\nu1\n")
    message = error(data)
    assert f"DATA folder {data} has no orders file" in message
    assert "a folder orders/" in message
    assert "(the orders table is required)" in message


def test_problems_of_several_files_come_in_one_message(data: Path) -> None:
    write(data, "orders.csv", "order_id,user_id\n1,u1\n")
    write(data, "users.csv", b"PK\x03\x04rest")
    paragraphs = error(data).split("\n\n")
    assert len(paragraphs) == 2
    assert paragraphs[0].startswith("orders.csv lacks the required orders column")
    assert paragraphs[1].startswith("users.csv is not a text file")


# -- 2. empty inputs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "orders.csv is empty (0 bytes)"),
        (b"\n\r\n  \n", "orders.csv has only blank lines"),
        (b"order_id,user_id,ordered_at,amount\r\n\r\n", "orders.csv has no rows"),
    ],
)
def test_an_empty_required_csv_says_it_has_no_rows(
    data: Path, content: bytes, says: str
) -> None:
    write(data, "orders.csv", content)
    message = error(data)
    assert says in message
    assert "the orders table is required and has no data row" in message
    assert "invalid_ordered_at" not in message


def test_a_zero_row_parquet_says_it_has_no_rows(data: Path) -> None:
    write_parquet(
        data / "orders.parquet",
        "select 'o' as order_id, 'u' as user_id, now() as ordered_at,"
        " 1.0 as amount where false",
    )
    assert "orders.parquet has no rows (a Parquet file with 0 rows)" in error(data)


def test_empty_optional_tables_and_files_are_noted(data: Path) -> None:
    write(data, "orders/part-1.csv", ORDERS)
    write(data, "orders/part-2.csv", "order_id,user_id,ordered_at,amount\n")
    write(data, "users.csv", "user_id,city\n\n")
    result = plan(data)
    (orders,) = result["tables"]["orders"]["readers"]
    assert orders["source_files"] == ["part-1.csv"]
    assert result["tables"]["users"]["readers"] == []
    assert result["notes"] == [
        "orders/part-2.csv has no rows (header only): skipped, the other files "
        "are read",
        "users.csv has no rows (header only): users read as absent",
    ]


# -- 3. binary files and encodings -------------------------------------------

PEOPLE = "order_id,user_id,ordered_at,amount,product_category\r\n"


def _orders_in(encoding: str, names: list[str]) -> bytes:
    rows = "".join(
        f"o{i},{name},2025-10-01,1.00,{name}\r\n" for i, name in enumerate(names)
    )
    return (PEOPLE + rows).encode(encoding)


@pytest.mark.parametrize(
    ("encoding", "names", "label"),
    [
        # Latin-1 letters read the same in Windows-1252, Excel's default.
        ("latin-1", ["Élodie", "Müller", "Ñandú"], "Windows-1252"),
        # A byte Windows-1252 leaves undefined: Latin-1 (a C1 control).
        ("latin-1", ["Élodie\x81"], "Latin-1"),
        ("cp1252", ["Zoë", "€uro", "“Quote”"], "Windows-1252"),
        ("gb18030", ["中文", "张伟", "李娜"], "GBK/GB18030"),
    ],
)
def test_guessed_encodings_are_converted_and_read_intact(
    data: Path, encoding: str, names: list[str], label: str
) -> None:
    write(data, "orders.csv", _orders_in(encoding, names))
    result = plan(data)
    (reader,) = result["tables"]["orders"]["readers"]
    copy = data.parent / "copies" / "orders" / "orders.csv"
    assert reader["files"] == [str(copy)]
    assert reader["root"] == str(data.parent / "copies" / "orders")
    assert reader["source_files"] == ["orders.csv"]
    assert reader["options"]["encoding"] == "utf-8"
    assert reader["options"]["compression"] == "none"
    stat = (data / "orders.csv").stat()
    assert reader["file_versions"] == [
        f"{stat.st_size} bytes, modified {stat.st_mtime_ns // 1_000_000}"
    ]
    assert result["tables"]["orders"]["description"] == (
        f"orders: orders.csv (csv, {label} converted to UTF-8 (guessed; set "
        "csv_encoding to override), ',')"
    )
    rows = read_back(reader)["orders.csv"]
    assert [row[1] for row in rows] == names
    assert [row[4] for row in rows] == names


@pytest.mark.parametrize(
    ("encoding", "bom", "label"),
    [
        ("utf-16-le", b"\xff\xfe", "UTF-16 LE"),
        ("utf-16-be", b"\xfe\xff", "UTF-16 BE"),
        ("utf-16-le", b"", "UTF-16 LE"),
        ("utf-16-be", b"", "UTF-16 BE"),
    ],
)
def test_utf16_files_are_converted(
    data: Path, encoding: str, bom: bytes, label: str
) -> None:
    """DuckDB's own utf-16 reads a big-endian file as no rows: converted."""
    names = ["élan", "中文", "€"]
    write(data, "orders.csv", bom + _orders_in(encoding, names))
    result = plan(data)
    (reader,) = result["tables"]["orders"]["readers"]
    assert (
        f"{label} converted to UTF-8, ','" in result["tables"]["orders"]["description"]
    )
    assert "guessed" not in result["tables"]["orders"]["description"]
    rows = read_back(reader)["orders.csv"]
    assert [row[1] for row in rows] == names
    assert rows[0][0] == "o0"  # no BOM left in the first column


def test_utf8_with_bom_and_crlf_and_quoted_newlines_is_read_in_place(
    data: Path,
) -> None:
    content = (
        "\ufeffOrder_ID,user_id,ordered_at,amount,product_category\r\n"
        'o1,u1,2025-10-01,1.00,"line one\r\nline two, with comma"\r\n'
        "o2,u2,2025-10-01,2.00,plain\r\n"
    )
    write(data, "orders.csv", content)
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["files"] == [str(data / "orders.csv")]
    assert reader["columns"]["order_id"] == "Order_ID"
    rows = read_back(reader)["orders.csv"]
    assert rows[0][4] == "line one\r\nline two, with comma"
    assert [row[0] for row in rows] == ["o1", "o2"]


def test_header_names_match_ignoring_case_spaces_and_separators(data: Path) -> None:
    write(
        data, "orders/a.csv", "Order ID,User-ID,ordered.at,AMOUNT\no1,u1,2025-10-01,1\n"
    )
    write(
        data, "orders/b.csv", "order_id,user_id,ordered_at,amount\no2,u2,2025-10-01,2\n"
    )
    readers = plan(data)["tables"]["orders"]["readers"]
    # Spelled otherwise than by case alone: read apart, each mapped.
    assert [reader["columns"] for reader in readers] == [
        {
            "order_id": "Order ID",
            "user_id": "User-ID",
            "ordered_at": "ordered.at",
            "amount": "AMOUNT",
        },
        {
            "order_id": "order_id",
            "user_id": "user_id",
            "ordered_at": "ordered_at",
            "amount": "amount",
        },
    ]


def test_an_excel_separator_line_names_the_delimiter_and_is_skipped(
    data: Path,
) -> None:
    write(data, "orders.csv", "sep=;\r\n" + ORDERS.replace(",", ";"))
    result = plan(data)
    (reader,) = result["tables"]["orders"]["readers"]
    assert (reader["options"]["delimiter"], reader["options"]["skip"]) == (";", 1)
    assert reader["columns"]["order_id"] == "order_id"
    assert len(read_back(reader)["orders.csv"]) == 2


def test_mixed_line_endings_are_read_from_a_copy_with_lf(data: Path) -> None:
    # DuckDB's reader stops on a file whose header ends in LF and whose rows
    # end in CRLF (rows appended on Windows); a copy with LF reads cleanly.
    rows = [f"o{i},u{i},2025-10-01,{i}.50" for i in range(3000)]
    content = "order_id,user_id,ordered_at,amount\n" + "\r\n".join(rows) + "\r\n"
    write(data, "orders.csv", content)
    result = plan(data)
    (reader,) = result["tables"]["orders"]["readers"]
    assert reader["files"] == [str(data.parent / "copies/orders/orders.csv")]
    assert "mixed line endings" in result["tables"]["orders"]["description"]
    read = read_back(reader)["orders.csv"]
    assert len(read) == len(rows)
    assert not any("\r" in value for row in read for value in row)
    # The same file with one kind of line ending is read in place.
    write(data, "orders.csv", content.replace("\r\n", "\n"))
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["files"] == [str(data / "orders.csv")]


def test_a_gzipped_file_is_read_in_place_or_converted(data: Path) -> None:
    write(data, "orders.csv.gz", gzip.compress(ORDERS.encode()))
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["files"] == [str(data / "orders.csv.gz")]
    assert reader["options"]["compression"] == "auto"
    assert len(read_back(reader)["orders.csv.gz"]) == 2
    write(data, "orders.csv.gz", gzip.compress(_orders_in("cp1252", ["café"])))
    result = plan(data)
    (reader,) = result["tables"]["orders"]["readers"]
    assert reader["files"] == [str(data.parent / "copies/orders/orders.csv.gz")]
    assert reader["source_files"] == ["orders.csv.gz"]
    assert reader["options"]["compression"] == "none"
    assert "csv, gzip, Windows-1252" in result["tables"]["orders"]["description"]
    assert read_back(reader)["orders.csv.gz"][0][1] == "café"


@pytest.mark.parametrize(
    ("make", "looks_like"),
    [
        ("zip", "an Excel workbook or a zip archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "an old Excel .xls"),
        ("parquet", "a Parquet file: name it .parquet"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"order_id\x00,user_id\n1\x00,2\n", "it holds NUL bytes"),
    ],
)
def test_a_binary_file_is_not_a_text_file(
    data: Path, make: str | bytes, looks_like: str
) -> None:
    path = data / "orders.csv"
    if make == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("orders.csv", ORDERS)
    elif make == "parquet":
        write_parquet(path, "select 1 as order_id")
    else:
        write(data, "orders.csv", make)
    message = error(data)
    assert message.startswith("orders.csv is not a text file")
    assert looks_like in message
    assert "DuckDB" not in message and "Error" not in message


def test_csv_encoding_overrides_and_is_validated(data: Path) -> None:
    # Without the override the sample decodes as GBK (high bytes in pairs).
    write(data, "orders.csv", _orders_in("cp1252", ["ÄÖÜß"]))
    assert "GBK" in plan(data)["tables"]["orders"]["description"]
    result = plan(data, csv_encoding="windows-1252")
    assert (
        "Windows-1252 (csv_encoding) converted to UTF-8, ','"
        in (result["tables"]["orders"]["description"])
    )
    assert read_back(result["tables"]["orders"]["readers"][0])["orders.csv"][0][1] == (
        "ÄÖÜß"
    )
    per_table = plan(data, raw_table_formats={"orders": {"csv_encoding": "cp1252"}})
    assert per_table["tables"]["orders"] == result["tables"]["orders"]
    message = error(data, csv_encoding="klingon")
    assert "Var `csv_encoding` names an unknown encoding 'klingon'" in message


def test_a_decoding_error_names_the_line_encoding_and_var(data: Path) -> None:
    write(data, "orders.csv", _orders_in("latin-1", ["ok", "Ça"]))
    message = error(data, csv_encoding="ascii")
    assert message.startswith("orders.csv is not valid ascii (csv_encoding) text")
    assert "line 3 holds the byte(s) c7" in message
    assert "Set `csv_encoding`" in message
    assert not (data.parent / "copies/orders/orders.csv").exists()


def test_a_converted_copy_is_reused_until_the_original_changes(data: Path) -> None:
    write(data, "orders.csv", _orders_in("latin-1", ["Élodie"]))
    first = plan(data)
    copy = Path(first["tables"]["orders"]["readers"][0]["files"][0])
    mtime = copy.stat().st_mtime_ns
    os.utime(copy, ns=(mtime - 10**9, mtime - 10**9))  # so a rewrite shows
    mtime = copy.stat().st_mtime_ns
    second = plan(data)
    assert json.dumps(second, sort_keys=True) == json.dumps(first, sort_keys=True)
    assert copy.stat().st_mtime_ns == mtime
    write(data, "orders.csv", _orders_in("latin-1", ["Élodie", "Zoé"]))
    third = plan(data)
    assert copy.stat().st_mtime_ns != mtime
    assert [
        r[1] for r in read_back(third["tables"]["orders"]["readers"][0])["orders.csv"]
    ] == ["Élodie", "Zoé"]


# -- 4. delimiters ------------------------------------------------------------


@pytest.mark.parametrize(
    ("delimiter", "label"), [(";", "';'"), ("\t", "TAB"), ("|", "'|'"), (",", "','")]
)
def test_the_delimiter_is_detected(data: Path, delimiter: str, label: str) -> None:
    content = ORDERS.replace(",", delimiter).replace("12.50", '"a, b; c|d"')
    write(data, "orders.csv", content)
    result = plan(data)
    (reader,) = result["tables"]["orders"]["readers"]
    assert reader["options"]["delimiter"] == delimiter
    assert result["tables"]["orders"]["description"].endswith(f"UTF-8, {label})")
    assert read_back(reader)["orders.csv"][0][3] == "a, b; c|d"


def test_a_tsv_is_tab_separated_and_the_override_wins(data: Path) -> None:
    write(data, "orders.tsv", ORDERS.replace(",", "\t"))
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["options"]["delimiter"] == "\t"
    (data / "orders.tsv").unlink()
    write(data, "orders.txt", ORDERS.replace(",", ";"))
    (reader,) = plan(data, csv_delimiter=";")["tables"]["orders"]["readers"]
    assert reader["options"]["delimiter"] == ";"
    message = error(data, csv_delimiter=",")
    assert "orders.txt seems to be separated by ';', not ','" in message
    assert "Set `csv_delimiter` to ';'" in message
    assert "must be one character" in error(data, csv_delimiter=";;")


# -- 5. header ----------------------------------------------------------------


def test_reordered_extra_and_oddly_spelled_columns_map(data: Path) -> None:
    write(
        data,
        "orders.csv",
        " Amount ,extra,ORDERED_AT,User_Id,order_id\n1.00,x,2025-10-01,u1,o1\n",
    )
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["columns"] == {
        "order_id": "order_id",
        "user_id": "User_Id",
        "ordered_at": "ORDERED_AT",
        "amount": "Amount",
    }
    assert read_back(reader)["orders.csv"] == [("o1", "u1", "2025-10-01", "1.00")]


def test_missing_required_columns_are_named_with_the_columns_found(
    data: Path,
) -> None:
    write(data, "orders.csv", "order_id,user,ordered_at,total\n1,u1,2025-10-01,1\n")
    message = error(data)
    assert "orders.csv lacks the required orders column(s) user_id, amount" in message
    assert "Columns found: order_id, user, ordered_at, total" in message


def test_a_first_line_of_data_has_no_header_row(data: Path) -> None:
    write(data, "orders.csv", "o1,u1,2025-10-01,12.50\no2,u2,2025-10-02,7\n")
    message = error(data)
    assert "orders.csv has no header row" in message
    assert "order_id, user_id, ordered_at, amount" in message


def test_a_column_twice_is_ambiguous(data: Path) -> None:
    write(data, "orders.csv", "order_id,user_id,ordered_at,amount,Amount\n")
    message = error(data)
    assert "orders.csv has the column amount 2 times (amount and Amount)" in message
    assert "rename or drop one" in message


def test_files_with_different_optional_columns_share_one_reader(data: Path) -> None:
    write(data, "orders/part-1.csv", ORDERS)
    write(
        data,
        "orders/part-2.csv",
        "order_id,user_id,ordered_at,amount,product_category\no9,u9,2025,1,toys\n",
    )
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["columns"] == {
        "order_id": "order_id",
        "user_id": "user_id",
        "ordered_at": "ordered_at",
        "amount": "amount",
        "status": "status",
        "product_category": "product_category",
    }
    assert read_back(reader)["part-2.csv"] == [("o9", "u9", "2025", "1", None, "toys")]


def test_parquet_columns_follow_the_same_rules(data: Path) -> None:
    write_parquet(
        data / "orders.parquet",
        "select 'o1' as Order_ID, 'u1' as user_id, now() as ordered_at,"
        " {'a': 1} as nested",
    )
    message = error(data)
    assert "orders.parquet lacks the required orders column(s) amount" in message
    write_parquet(
        data / "orders.parquet",
        "select 'o1' as Order_ID, 'u1' as user_id, now() as ordered_at,"
        " 1.5 as amount, {'a': 1} as nested",
    )
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["columns"]["order_id"] == "Order_ID"
    assert "nested" not in reader["columns"].values()


# -- 6. decimal separator -----------------------------------------------------


def test_a_decimal_comma_is_detected_beside_semicolons(data: Path) -> None:
    write(data, "orders.csv", SEMICOLON + "o1;u1;2025;12,50\no2;u2;2025;1.234,50\n")
    result = plan(data)
    (reader,) = result["tables"]["orders"]["readers"]
    assert reader["decimal_separator"] == ","
    assert result["tables"]["orders"]["description"] == (
        "orders: orders.csv (csv, UTF-8, ';', decimal ',')"
    )


@pytest.mark.parametrize(
    "content",
    [
        # one value with a decimal point among decimal commas
        SEMICOLON + "o1;u1;2025;12,50\no2;u2;2025;3,20\no3;u3;2025;12.50\n",
        'order_id,user_id,ordered_at,amount\no1,u1,2025,"12,50"\n',  # ',' delim
        SEMICOLON + "o1;u1;2025;12\no2;u2;2025;7\n",  # no separator
    ],
)
def test_a_decimal_point_is_kept_when_in_doubt(data: Path, content: str) -> None:
    write(data, "orders.csv", content)
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["decimal_separator"] == "."


def test_decimal_separator_override_and_files_that_differ(data: Path) -> None:
    write(data, "orders/a.csv", SEMICOLON + "o1;u1;2025;12,50\n")
    write(data, "orders/b.csv", SEMICOLON + "o2;u2;2025;12.50\n")
    readers = plan(data)["tables"]["orders"]["readers"]
    assert [(r["source_files"], r["decimal_separator"]) for r in readers] == [
        (["a.csv"], ","),
        (["b.csv"], "."),
    ]
    (reader,) = plan(data, decimal_separator=",")["tables"]["orders"]["readers"]
    assert reader["source_files"] == ["a.csv", "b.csv"]
    assert "must be '.' or ','" in error(data, decimal_separator=" ")


# -- 7. date formats ----------------------------------------------------------


def test_date_formats_come_from_the_vars_only(data: Path) -> None:
    write(data, "orders.csv", ORDERS.replace("2025-10-01", "01.10.2025"))
    write(data, "users.csv", "user_id,signed_up_at,birth_date\nu1,1,03/14/1985\n")
    result = plan(data)
    assert result["tables"]["orders"]["readers"][0]["date_formats"] == {}
    result = plan(
        data,
        date_format="%d.%m.%Y",
        raw_table_formats={
            "users": {"date_formats": {"signed_up_at": "epoch_s"}, "date_format": None}
        },
    )
    assert result["tables"]["orders"]["readers"][0]["date_formats"] == {
        "ordered_at": "%d.%m.%Y"
    }
    assert result["tables"]["orders"]["description"].endswith("dates %d.%m.%Y)")
    assert result["tables"]["users"]["readers"][0]["date_formats"] == {
        "signed_up_at": "epoch_s"
    }
    users = plan(
        data,
        raw_table_formats={
            "users": {
                "date_format": "%m/%d/%Y",
                "date_formats": {"signed_up_at": "excel"},
            }
        },
    )["tables"]["users"]
    assert users["readers"][0]["date_formats"] == {
        "birth_date": "%m/%d/%Y",
        "signed_up_at": "excel",
    }
    assert "birth_date %m/%d/%Y, signed_up_at excel" in users["description"]


def test_bad_date_format_vars_are_named(data: Path) -> None:
    write(data, "orders.csv", ORDERS)
    assert "Var `date_format` must be a strptime format" in error(
        data, date_format="DD.MM.YYYY"
    )
    message = error(
        data,
        raw_table_formats={
            "orders": {"date_formats": {"amount": "%Y", "ordered_at": "epoch"}},
            "customers": {},
        },
    )
    assert "`raw_table_formats.orders.date_formats.amount`" in message
    assert "Var `raw_table_formats.orders.date_formats.ordered_at` must be" in message
    assert "names a table `customers` that is not in the raw-data contract" in message


# -- 8. paths -----------------------------------------------------------------


def test_paths_are_never_read_as_globs(tmp_path: Path) -> None:
    """DuckDB reads orders/a[1].csv as the glob a[1].csv -> a1.csv, and
    a?.csv as every a<x>.csv: such files are read through safe links."""
    data = tmp_path / "exports [2025-10] (final) 'q' é"
    names = ["a1.csv", "a[1].csv", "a?.csv", "a*.csv", "ab.csv", "b {x}.csv"]
    for i, name in enumerate(names):
        write(data, f"orders/{name}", ORDERS.replace("o1", f"file{i}"))
    result = plan(data)
    readers = result["tables"]["orders"]["readers"]
    read = {}
    for reader in readers:
        assert not any(c in reader["root"] for c in "*?[]{}")
        for path in reader["files"]:
            assert not any(c in path for c in "*?[]{}")
        read.update(read_back(reader))
    assert sorted(read) == sorted(names)
    for i, name in enumerate(names):
        assert [row[0] for row in read[name]] == [f"file{i}", "o2"]
    # Only the names holding glob characters leave the root + name rule.
    for reader in readers:
        for path, source in zip(reader["files"], reader["source_files"], strict=True):
            if not any(c in source for c in "*?[]{}"):
                assert path == reader["root"] + "/" + source


def test_a_safe_path_is_read_in_place(tmp_path: Path) -> None:
    data = tmp_path / "my exports (final) 'q' é"
    write(data, "orders.csv", ORDERS)
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["files"] == [str(data / "orders.csv")]


# -- the plan as a whole -------------------------------------------------------


def test_the_plan_is_deterministic_json(data: Path) -> None:
    write(data, "orders/b.csv", ORDERS)
    write(data, "orders/a.csv", _orders_in("latin-1", ["é"]))
    write(data, "users.csv", "user_id\nu1\n")
    first = plan(data)
    second = plan(data)
    assert json.dumps(first) == json.dumps(second)
    assert [r["source_files"] for r in first["tables"]["orders"]["readers"]] == [
        ["a.csv"],
        ["b.csv"],
    ]
    assert list(first["tables"]) == ["orders", "users", "events"]


def test_a_chinese_european_export_is_described_in_one_line(data: Path) -> None:
    """The issue's example: GBK, ';', decimal commas, German dates."""
    header = "订单;order_id;user_id;ordered_at;amount\r\n"
    for i in range(3):
        rows = (
            f"张伟;o{i};u{i};01.10.2025;1.234,50\r\n李娜;p{i};u{i};02.10.2025;12,50\r\n"
        )
        write(data, f"orders/part-{i}.csv", (header + rows).encode("gb18030"))
    result = plan(data, date_format="%d.%m.%Y")
    assert result["tables"]["orders"]["description"] == (
        "orders: 3 files in orders/ (csv, GBK/GB18030 converted to UTF-8 (guessed;"
        " set csv_encoding to override), ';', decimal ',', dates %d.%m.%Y)"
    )
    (reader,) = result["tables"]["orders"]["readers"]
    assert reader["source_files"] == ["part-0.csv", "part-1.csv", "part-2.csv"]
    assert reader["date_formats"] == {"ordered_at": "%d.%m.%Y"}
    assert read_back(reader)["part-2.csv"] == [
        ("o2", "u2", "01.10.2025", "1.234,50"),
        ("p2", "u2", "02.10.2025", "12,50"),
    ]


def test_files_needing_different_options_get_separate_readers(data: Path) -> None:
    write(data, "orders/a.csv", ORDERS)
    write(
        data, "orders/b.csv", SEMICOLON.encode() + "o9;Zoé;2025;1\n".encode("latin-1")
    )
    result = plan(data)
    first, second = result["tables"]["orders"]["readers"]
    assert (first["root"], first["source_files"]) == (str(data / "orders"), ["a.csv"])
    assert first["options"]["delimiter"] == ","
    assert (second["root"], second["source_files"]) == (
        str(data.parent / "copies" / "orders"),
        ["b.csv"],
    )
    assert second["options"]["delimiter"] == ";"
    assert second["options"]["compression"] == "none"
    assert read_back(second) == {"b.csv": [("o9", "Zoé", "2025", "1")]}
    assert result["tables"]["orders"]["description"] == (
        "orders: 2 files in orders/ (csv, UTF-8 and Windows-1252 converted to UTF-8"
        " (guessed; set csv_encoding to override), ',' and ';')"
    )


def test_samples_and_chunks_cut_inside_characters(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small sample and chunk sizes stand in for a large file: a sample or
    a chunk may end inside a character, and a bad byte deep in the file
    is found by its line."""
    from segmentation import intake

    rows = [f"o{i},用户{i},2025-10-01,1.00\n" for i in range(60)]
    content = ("order_id,user_id,ordered_at,amount\n" + "".join(rows)).encode()
    write(data, "orders.csv", content)
    # The head ends, and the tail starts, in the middle of a character.
    monkeypatch.setattr(intake, "HEAD_BYTES", content.index("用户9".encode()) + 1)
    tail_start = content.index("用户50".encode()) + 2
    monkeypatch.setattr(intake, "TAIL_BYTES", len(content) - tail_start)
    monkeypatch.setattr(intake, "CHUNK_BYTES", 7)
    (reader,) = plan(data)["tables"]["orders"]["readers"]
    assert reader["files"] == [str(data / "orders.csv")]  # UTF-8, in place
    # ASCII at the head, a Windows-1252 byte only in the tail sample.
    content = ("order_id,user_id,ordered_at,amount\n" + "o,u,2025,1\n" * 60).encode()
    write(data, "orders.csv", content + "o,Zoë,2025,1\n".encode("cp1252"))
    result = plan(data)
    assert "Windows-1252" in result["tables"]["orders"]["description"]
    assert read_back(result["tables"]["orders"]["readers"][0])["orders.csv"][-1][1] == (
        "Zoë"
    )
    # GBK converted through 7-byte chunks; a bad byte on line 42.
    lines = [f"o{i},用户{i},2025,1\r\n" for i in range(60)]
    lines[40] = "o40,坏\udcff,2025,1\r\n"
    encoded = b"order_id,user_id,ordered_at,amount\r\n" + b"".join(
        line.encode("gb18030", errors="surrogateescape") for line in lines
    )
    write(data, "orders.csv", encoded)
    message = error(data, csv_encoding="gb18030")
    assert message.startswith("orders.csv is not valid GBK/GB18030 (csv_encoding)")
    assert "line 42 holds the byte(s) ff" in message
    lines[40] = "o40,好,2025,1\r\n"
    write(
        data,
        "orders.csv",
        b"order_id,user_id,ordered_at,amount\r\n"
        + b"".join(line.encode("gb18030") for line in lines),
    )
    result = plan(data)
    assert "GBK/GB18030 converted" in result["tables"]["orders"]["description"]
    expected = [f"用户{i}" for i in range(60)]
    expected[40] = "好"
    rows_read = read_back(result["tables"]["orders"]["readers"][0])["orders.csv"]
    assert [row[1] for row in rows_read] == expected


def test_a_converted_copy_keeps_the_relative_name(data: Path) -> None:
    write(data, "orders/100% sales (1).csv", _orders_in("cp1252", ["€"]))
    write(data, "orders/a?.csv", _orders_in("cp1252", ["£"]))
    result = plan(data)
    (reader,) = result["tables"]["orders"]["readers"]
    copies = data.parent / "copies" / "orders"
    assert reader["files"] == [
        str(copies / "100% sales (1).csv"),
        str(copies / "a%3F.csv"),
    ]
    assert reader["source_files"] == ["100% sales (1).csv", "a?.csv"]
    assert {name: rows[0][1] for name, rows in read_back(reader).items()} == {
        "100% sales (1).csv": "€",
        "a?.csv": "£",
    }


def test_a_copy_that_cannot_be_written_is_a_message_not_a_traceback(
    data: Path,
) -> None:
    # A Windows-1252 file needs a converted copy; the copy folder's place is
    # taken by a file, so it cannot be created (as with no permission or a
    # full disk): the system's reason is reported with the path.
    write(data, "orders.csv", _orders_in("cp1252", ["café"]))
    (data.parent / "copies").write_text("not a folder")
    message = error(data)
    assert message.startswith(str(data.parent / "copies"))
    assert "cannot be read or written" in message
    assert "check its permissions and the free disk space" in message
