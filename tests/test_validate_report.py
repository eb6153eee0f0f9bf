"""`atomdata validate` reports every problem of every table in one run, rows named by their line.

The folders are copies of the shipped release's tables, damaged by the tests.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

import atomdata
from atomdata.tableio import CsvRows, read_csv_typed
from atomdata.cli import main
from atomdata.errors import InputError
from atomdata.io import write_csv
from atomdata.settings import release_dir


@pytest.fixture
def folder(tmp_path):
    """The shipped release's table CSVs, copied."""
    dest = tmp_path / "processed"
    dest.mkdir()
    for p in (release_dir() / "processed").glob("*.csv"):
        shutil.copy(p, dest / p.name)
    return dest


def _damage(path, changes):
    """Set ``{(data row, column): text}`` in a table CSV; return the line each value landed on,
    read back from the file itself (the header is line 1)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for (i, column), value in changes.items():
        df.loc[i, column] = value
    df.to_csv(path, index=False)
    lines = path.read_text(encoding="utf-8").splitlines()
    return {value: next(n for n, line in enumerate(lines, 1) if value in line.split(",")) for value in changes.values()}


def _validate(folder):
    return CliRunner().invoke(main, ["validate", "--processed", str(folder)])


def test_clean_folder_validates(folder):
    res = _validate(folder)
    assert res.exit_code == 0, res.output
    assert f"{len(atomdata.tables())} tables valid" in res.output


def test_validate_reports_every_problem_of_every_table_at_once(folder):
    models, by_country = folder / "models.csv", folder / "downloads_by_country.csv"
    m = _damage(models, {(10, "created_at"): "2024-13-45", (12, "first_party"): "maybe", (15, "params_b"): "-3"})
    d = _damage(by_country, {(3, "downloads"): "lots", (1, "share"): "1.5", (5, "region"): "mars"})
    (folder / "sensitivity.csv").unlink()
    pd.read_csv(folder / "snapshots.csv", dtype=str, keep_default_na=False).drop(columns="rows").to_csv(folder / "snapshots.csv", index=False)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    res = _validate(folder)
    assert res.exit_code == 1
    out = res.output
    assert m == {"2024-13-45": 12, "maybe": 14, "-3": 17} and d == {"lots": 5, "1.5": 3, "mars": 7}
    # untypable values: file, column, how many, rows by line
    assert f"table 'models' ({models}):\n" in out
    assert "  column created_at: 1 value(s) are not dates YYYY-MM-DD; e.g. line 12: '2024-13-45'\n" in out
    assert "  column first_party: 1 value(s) are not True or False; e.g. line 14: 'maybe'\n" in out
    assert f"table 'downloads_by_country' ({by_country}):\n" in out
    assert "  column downloads: 1 value(s) are not whole numbers; e.g. line 5: 'lots'\n" in out
    # pandera failures of the columns that could be typed, same tables, same naming of rows
    assert "  column params_b: check greater_than_or_equal_to(0) failed for 1 row(s); e.g. line 17: '-3.0'" in out
    assert "  column share: check less_than_or_equal_to(1) failed for 1 row(s); e.g. line 3: '1.5'" in out
    assert "  column region: check isin(['us', 'china', 'eu', 'other', 'unknown']) failed for 1 row(s); e.g. line 7: 'mars'" in out
    # checks over the whole table need every column: said, not silently skipped
    assert "  not checked until every column can be read: shares must sum to 1 within each month" in out
    # missing table and column
    assert f"{folder / 'sensitivity.csv'}: table sensitivity is missing" in out
    assert f"table 'snapshots' ({folder / 'snapshots.csv'}):\n  column rows: missing" in out
    assert "row 3" not in out and "row 10" not in out  # no 0-based frame indices
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing written


def test_rows_are_named_by_line_past_fields_that_span_lines(folder):
    """The writer quotes newlines inside a field, so a row may take several lines; blank lines
    and CRLF endings (a hand-edited file) do not shift the count either."""
    orgs = read_csv_typed(folder / "organizations.csv", "organizations")
    orgs.loc[2, "notes"] = "two\nlines"
    orgs.loc[4, "notes"] = "three\nlines\nhere"
    orgs.loc[6, "org_type"] = "guild"
    write_csv(orgs, folder / "organizations.csv")
    line = next(n for n, text in enumerate((folder / "organizations.csv").read_text().split("\n"), 1) if ",guild," in text)
    assert line == 6 + 2 + 3
    sens = folder / "sensitivity.csv"
    lines = sens.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",True,", b",yes,")  # data row 4, line 6, then a blank line before it
    sens.write_bytes(b"\r\n".join(lines[:3] + [b""] + lines[3:]))

    out = _validate(folder).output
    assert f"check isin(['company', 'academic', 'nonprofit', 'government', 'community']) failed for 1 row(s); e.g. line {line}: 'guild'" in out
    assert "column headline: 1 value(s) are not True or False; e.g. line 7: 'yes'" in out
    assert CsvRows(folder / "organizations.csv", len(orgs))(6) == f"line {line}"


def test_bytes_have_lines_other_buffers_data_rows():
    """A file's bytes held in memory (a release validates what it packs) still give lines; a text
    buffer gives data rows."""
    import io

    assert CsvRows(io.BytesIO(b'a,b\n"x\ny",2\n3,4\n'), 2)(1) == "line 4"
    assert CsvRows(io.StringIO("a,b\n1,2\n"), 1)(0) == "data row 1"


def test_load_lists_every_bad_column(folder):
    _damage(folder / "downloads_by_country.csv", {(3, "downloads"): "lots", (4, "share"): "half", (1, "region"): "mars"})
    with pytest.raises(InputError) as err:
        atomdata.load("downloads_by_country", processed=folder)
    msg = str(err.value)
    assert msg.startswith(f"{folder / 'downloads_by_country.csv'}: table downloads_by_country: 3 bad column(s)\n")
    assert "  column downloads: 1 value(s) are not whole numbers; e.g. line 5: 'lots'" in msg
    assert "  column share: 1 value(s) are not numbers; e.g. line 6: 'half'" in msg
    assert "  column region: 1 value(s) are not one of us, china, eu, other, unknown; e.g. line 3: 'mars'" in msg


def test_untypable_integers_are_named_not_rounded(folder):
    _damage(folder / "downloads_by_country.csv", {(0, "downloads"): "1.5", (1, "downloads"): "1e30", (2, "n_models"): "7.0"})
    with pytest.raises(InputError) as err:
        atomdata.load("downloads_by_country", processed=folder)
    assert "column downloads: 2 value(s) are not whole numbers; e.g. line 2: '1.5', line 3: '1e30'" in str(err.value)
    assert "n_models" not in str(err.value)  # 7.0 is the whole number 7


def test_rows_with_a_field_too_many_are_named_not_a_traceback(folder, tmp_path):
    """A trailing comma on every row (pandas would take the first column for an index): a clear
    error naming the file, for a table, the registry and a curated file alike."""
    from atomdata.errors import InputError
    from atomdata.settings import curated
    from atomdata.rules.organizations import load_registry
    from atomdata.rules import attributes as analyses

    def trailing_commas(src, dest):
        lines = src.read_text(encoding="utf-8").splitlines()
        dest.write_text("\n".join([lines[0]] + [line + "," for line in lines[1:]]) + "\n", encoding="utf-8")
        return dest

    snaps = trailing_commas(folder / "snapshots.csv", folder / "snapshots.csv")
    res = CliRunner().invoke(main, ["validate", "--processed", str(folder)])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.exception  # a report, not a crash
    assert f"{snaps}: table snapshots: the rows have more fields than the header (a trailing comma?)" in res.output
    with pytest.raises(InputError, match="more fields than the header"):
        load_registry(trailing_commas(curated("organizations.csv").path, tmp_path / "organizations.csv"))
    with pytest.raises(InputError, match="more fields than the header"):
        analyses.load_model_sizes(trailing_commas(curated("model_sizes.csv").path, tmp_path / "model_sizes.csv"))


def test_a_column_the_schema_lacks_is_named(folder):
    df = pd.read_csv(folder / "snapshots.csv", dtype=str, keep_default_na=False)
    df.assign(extra_col="x").to_csv(folder / "snapshots.csv", index=False)
    res = CliRunner().invoke(main, ["validate", "--processed", str(folder)])
    assert res.exit_code == 1
    assert f"table 'snapshots' ({folder / 'snapshots.csv'}):\n  table: check 'column_in_schema' failed for 'extra_col'" in res.output


def test_integers_are_exact_at_any_size_and_never_rounded():
    """Digits are read as integers at any size within 64 bits; other spellings only while a float
    holds them exactly; anything else is named."""
    from atomdata.tableio import _convert

    s = pd.Series(["1.0", "9007199254740993", "1e3", "9223372036854775807", "9007199254740993.0", "99999999999999999999", None],
                  dtype="string")
    got, problem = _convert(s, "integer", lambda i: f"line {i + 2}")
    assert got.tolist()[:4] == [1, 9007199254740993, 1000, 9223372036854775807]
    assert got.isna().tolist()[4:] == [True, True, True]
    assert problem == "2 value(s) are not whole numbers; e.g. line 6: '9007199254740993.0', line 7: '99999999999999999999'"
