"""The Arrow CSV writer (``io._fast_csv``) writes exactly the bytes of pandas' writer.

``to_csv_bytes`` formats columns in Arrow so that tables of millions of rows are written in
seconds; pandas' ``to_csv`` with the same options (after the formula guard) stays the reference.
Both are compared here on generated frames with hostile text, missing values of every type, and
on every table of the shipped release.
"""
from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atomdata import io
from atomdata.tableio import read_csv_typed
from atomdata.settings import PACKAGE_DIR
from atomdata.schemas import TABLES


def pandas_csv(df: pd.DataFrame) -> bytes:
    guarded = io.neutralise_formulas(df)
    quoting = csv.QUOTE_ALL if io._has_carriage_return(guarded) else csv.QUOTE_MINIMAL
    return guarded.to_csv(index=False, lineterminator="\n", float_format="%.10g", date_format="%Y-%m-%d",
                          quoting=quoting).encode("utf-8")


TEXT = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list("ab,\"'\n=+-@\t é/ 0.;")), max_size=6))
ROWS = st.integers(min_value=0, max_value=12)


@st.composite
def frames(draw):
    n = draw(ROWS)
    cols = {}
    kinds = draw(st.lists(st.sampled_from(["text", "int", "Int64", "float", "Float64", "bool", "boolean", "date", "cat", "floatcat"]),
                          min_size=2, max_size=6))
    for i, kind in enumerate(kinds):
        name = draw(st.sampled_from(["", "=", "-", "'"])) + f"c{i}" + draw(st.sampled_from(["", ",x", "=y"]))
        if kind == "text":
            cols[name] = pd.array(draw(st.lists(TEXT, min_size=n, max_size=n)), dtype="string")
        elif kind == "int":
            cols[name] = np.array(draw(st.lists(st.integers(-10**12, 10**12), min_size=n, max_size=n)), dtype=np.int64)
        elif kind == "Int64":
            cols[name] = pd.array(draw(st.lists(st.one_of(st.none(), st.integers(-10**15, 10**15)), min_size=n, max_size=n)), dtype="Int64")
        elif kind in ("float", "Float64"):
            vals = draw(st.lists(st.one_of(st.none(), st.floats(allow_nan=False, width=64), st.sampled_from([0.1, 1e-7, 123456.789012345, -0.0])),
                                 min_size=n, max_size=n))
            cols[name] = pd.array(vals, dtype="Float64") if kind == "Float64" else np.array([np.nan if v is None else v for v in vals], dtype="float64")
        elif kind == "bool":
            cols[name] = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        elif kind == "boolean":
            cols[name] = pd.array(draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)), dtype="boolean")
        elif kind == "date":
            days = draw(st.lists(st.one_of(st.none(), st.integers(-30000, 30000)), min_size=n, max_size=n))
            cols[name] = pd.to_datetime([None if d is None else pd.Timestamp("1970-01-01") + pd.Timedelta(days=d, hours=5) for d in days])
        elif kind == "floatcat":
            cols[name] = pd.Categorical(draw(st.lists(st.one_of(st.none(), st.sampled_from([1.0, 0.5, 1e-7])), min_size=n, max_size=n)))
        else:
            cols[name] = pd.Categorical(draw(st.lists(st.one_of(st.none(), st.sampled_from(["a", "=b", "c,d"])), min_size=n, max_size=n)))
    return pd.DataFrame(cols)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_arrow_writer_matches_pandas(df):
    assert io.to_csv_bytes(df) == pandas_csv(df)


def test_arrow_writer_is_used_for_typed_tables_and_pandas_only_for_carriage_returns():
    df = pd.DataFrame({"a": pd.array(["x", "y"], dtype="string"), "b": pd.array([1, None], dtype="Int64")})
    assert io._fast_csv(df) == b"a,b\nx,1\ny,\n"
    cr = df.assign(a=pd.array(["x\ry", "z"], dtype="string"))
    assert io._fast_csv(cr) is None
    assert io.to_csv_bytes(cr) == b'"a","b"\n"x\ry","1"\n"z",""\n'


@pytest.mark.parametrize("name", list(TABLES))
def test_arrow_writer_rewrites_every_shipped_table_byte_for_byte(name):
    path = PACKAGE_DIR.parent / "processed" / f"{name}.csv"
    df = read_csv_typed(path, name)
    assert io._fast_csv(df) == path.read_bytes()


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 1000])
def test_write_csv_in_slices_writes_the_same_bytes(tmp_path, chunk_rows):
    df = pd.DataFrame({"a": pd.array(["x", "=y", None, "p,q", "z"], dtype="string"), "b": pd.array([1, None, 3, 4, 5], dtype="Int64"),
                       "c": pd.Categorical(["u", "v", "u", None, "v"])})
    io.write_csv(df, tmp_path / "t.csv", chunk_rows=chunk_rows)
    assert (tmp_path / "t.csv").read_bytes() == io.to_csv_bytes(df) == pandas_csv(df)
    cr = df.assign(a=pd.array(["x", "y", "z", "w\r", "v"], dtype="string"))  # the fully quoted form, whatever the slice
    io.write_csv(cr, tmp_path / "cr.csv", chunk_rows=chunk_rows)
    assert (tmp_path / "cr.csv").read_bytes() == pandas_csv(cr)


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_a_table_appended_in_pieces_writes_the_bytes_of_the_whole(tmp_path, chunk_rows):
    """``append_csv``: pieces of rows appended (the header once), each a slice at a time, give the
    whole table's bytes; a piece that pandas writes (here one without a carriage return, after
    one the Arrow writer took) is rewritten from where the piece began, not from the file's start."""
    df = pd.DataFrame({"a": pd.array(["x", "=y", None, "p,q", "z"], dtype="string"), "b": pd.array([1, None, 3, 4, 5], dtype="Int64")})
    with open(tmp_path / "t.csv", "wb") as f:
        for i, (start, stop) in enumerate([(0, 2), (2, 3), (3, 5)]):
            io.append_csv(f, df.iloc[start:stop], header=i == 0, chunk_rows=chunk_rows)
    assert (tmp_path / "t.csv").read_bytes() == io.to_csv_bytes(df)
    obj = df.assign(b=pd.Series([1, "two", 3.5, None, "5"], dtype=object))  # a column the Arrow writer leaves to pandas
    with open(tmp_path / "o.csv", "wb") as f:
        f.write(b"kept\n")
        io.append_csv(f, obj, header=False, chunk_rows=chunk_rows)
    assert (tmp_path / "o.csv").read_bytes() == b"kept\n" + pandas_csv(obj).split(b"\n", 1)[1]
