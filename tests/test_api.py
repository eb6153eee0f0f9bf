"""The load API types tables strictly: a value it cannot type is an error, never a silent NaN."""
from __future__ import annotations

import pytest

from atomdata.tableio import read_csv_typed, read_tables
from atomdata.errors import InputError
from conftest import REPO


def _copy_with(tmp_path, name, column, row, value):
    import pandas as pd

    df = pd.read_csv(REPO / "processed" / f"{name}.csv", dtype=str, keep_default_na=False)
    df.loc[row, column] = value
    path = tmp_path / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


def test_unknown_category_is_an_error(tmp_path):
    path = _copy_with(tmp_path, "downloads_by_country", "region", 1, "mars")
    with pytest.raises(InputError) as err:
        read_csv_typed(path, "downloads_by_country", categorical=True)
    assert "column region: 1 value(s) are not one of us, china" in str(err.value) and "line 3: 'mars'" in str(err.value)
    # without categories (atomdata validate) the value is kept for pandera to report
    assert "mars" in set(read_csv_typed(path, "downloads_by_country")["region"])


def test_non_boolean_is_an_error(tmp_path):
    path = _copy_with(tmp_path, "models", "first_party", 2, "yes")
    with pytest.raises(InputError, match="not True or False"):
        read_csv_typed(path, "models")


def test_read_tables_subset_and_missing(tmp_path):
    got = read_tables(REPO / "processed", ["organizations", "snapshots"])
    assert list(got) == ["organizations", "snapshots"]
    with pytest.raises(InputError, match="table models is missing"):
        read_tables(tmp_path, ["models"])
    with pytest.raises(InputError, match=f"{tmp_path}: tables models, derivatives are missing"):  # every one named at once
        read_tables(tmp_path, ["models", "derivatives"])


def test_unknown_table_name():
    import atomdata

    with pytest.raises(KeyError, match="atomdata.tables"):
        atomdata.load("nope")


def test_empty_table_file_is_a_clear_error(tmp_path):
    (tmp_path / "sensitivity.csv").write_text("")
    with pytest.raises(InputError, match="sensitivity is empty"):
        read_csv_typed(tmp_path / "sensitivity.csv", "sensitivity")


def test_build_out_is_a_self_contained_package(july_build, tmp_path):
    """--out writes tables and their datapackage.json together; nothing lands beside the folder."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from click.testing import CliRunner

    import atomdata
    from atomdata.cli import main

    root, _ = july_build
    out = tmp_path / "scratch" / "tables"
    res = CliRunner().invoke(main, ["build", "--raw", str(root / "raw"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "datapackage.json").is_file() and not (out.parent / "datapackage.json").exists()
    desc = json.loads((out / "datapackage.json").read_text())
    assert {r["path"] for r in desc["resources"]} == {f"{n}.csv" for n in atomdata.tables()}
    exe = Path(sys.executable).parent / "frictionless"
    report = subprocess.run([str(exe), "validate", "--json", "datapackage.json"], cwd=out, capture_output=True, text=True)
    assert json.loads(report.stdout)["valid"] is True
    july = atomdata.load("downloads_by_country", processed=out)
    assert set(july["month"]) == {"2026-07"}


def test_load_returns_what_its_docstring_says():
    """Months stay YYYY-MM text, dates are datetimes, enumerations categoricals, counts Int64."""
    import pandas as pd

    import atomdata

    dbc = atomdata.load("downloads_by_country")
    assert pd.api.types.is_string_dtype(dbc["month"].dtype) and not isinstance(dbc["month"].dtype, pd.CategoricalDtype)
    assert dbc["month"].str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all()
    assert isinstance(dbc["region"].dtype, pd.CategoricalDtype) and str(dbc["downloads"].dtype) == "Int64"
    assert str(dbc["share"].dtype) == "Float64"
    models = atomdata.load("models")
    assert pd.api.types.is_datetime64_any_dtype(models["created_at"])
    doc = " ".join(atomdata.load.__doc__.split())
    assert "dates (``YYYY-MM-DD``" in doc and "months (``YYYY-MM``" in doc and "stay text" in doc


def test_loaded_frames_carry_their_descriptions_from_the_schemas(tmp_path):
    import shutil

    import atomdata
    from atomdata.schemas import TABLES
    from conftest import REPO

    for name, model in TABLES.items():
        df = atomdata.load(name)
        a = df.attrs
        assert (a["table"], a["title"], a["description"]) == (name, model.Config.title, model.Config.description)
        assert list(a["columns"]) == list(df.columns)
        for col, facts in a["columns"].items():
            pcol = model.to_schema().columns[col]
            assert (facts["title"], facts["description"]) == (pcol.title, pcol.description), (name, col)
            assert facts["unit"] == (pcol.metadata or {}).get("unit")
    dbc = atomdata.load("downloads_by_country")
    assert dbc.attrs["columns"]["downloads"]["unit"] == "downloads"
    assert dbc.attrs["columns"]["month"]["type"] == "yearmonth"
    assert dbc.attrs["primary_key"] == ["month", "country", "region"]
    assert atomdata.load("models").attrs["foreign_keys"][0]["reference"]["resource"] == "organizations"
    # a folder of one's own: the same descriptions, and the file read
    shutil.copy(REPO / "processed" / "sensitivity.csv", tmp_path / "sensitivity.csv")
    s = atomdata.load("sensitivity", processed=tmp_path)
    assert s.attrs["source"] == str(tmp_path / "sensitivity.csv") and s.attrs["title"] == TABLES["sensitivity"].Config.title
