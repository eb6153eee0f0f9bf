"""The code's version is written once (pyproject.toml) and read from the distribution's metadata."""
from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib

from atomdata import version as v
from conftest import REPO


def test_version_is_the_installed_distributions():
    import atomdata

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == v.DIST_NAME == "atomdata-hub"
    assert atomdata.__version__ == importlib.metadata.version("atomdata-hub") == project["version"]


def test_not_installed_falls_back_to_the_checkout_then_to_unknown(monkeypatch, tmp_path):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    v.code_version.cache_clear()
    try:
        assert v.code_version() == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
        v.code_version.cache_clear()
        monkeypatch.setattr(v, "__file__", str(tmp_path / "atomdata" / "version.py"))  # no pyproject.toml above
        assert v.code_version() == v.UNKNOWN == "0+unknown"
        v.code_version.cache_clear()
        (tmp_path / "pyproject.toml").write_text('[project]\nname = "atomdata"\nversion = "9.9"\n')
        assert v.code_version() == v.UNKNOWN  # another project's pyproject.toml is not ours
    finally:
        v.code_version.cache_clear()


def test_importing_atomdata_does_not_read_metadata():
    code = "import sys, atomdata; print('importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
