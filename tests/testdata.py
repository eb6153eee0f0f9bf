"""Where the tests find real Hub snapshots (imported by conftest.py and fakehub.py; no pytest here).

``SHARED`` is the full shared series: ``$ATOMDATA_SHARED/data``, else ``../shared/data`` beside the
checkout (it exists on the project's machines and in CI, not in a fresh clone). ``FIXTURES`` is the
committed subset of it, ``tests/fixtures/data`` (real rows, cut by ``tests/fixtures/make_fixtures.py``;
see ``tests/fixtures/README.md``). ``DATA`` is what the tests read: the full series when it is
there, else the fixtures; ``FULL`` says which. ``ATOMDATA_SHARED=tests/fixtures`` runs the tests on
the fixtures beside a full series, as a fresh clone runs them.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "data"
SHARED_ENV = os.environ.get("ATOMDATA_SHARED")
SHARED = Path(SHARED_ENV or REPO.parent / "shared") / "data"
FULL = (SHARED / "hub-stats").is_dir() and SHARED.resolve() != FIXTURES.resolve()
DATA = SHARED if FULL else FIXTURES
NEEDS_FULL = ("needs the full shared snapshots: set ATOMDATA_SHARED to a folder holding data/hub-stats "
              "(see tests/fixtures/README.md)")
