"""The house plan (docs/architecture.md) holds: functions that fit on a screen, imports that point
down the layers with no cycle and no private names, one step per published table, and curated
inputs that follow the project."""
from __future__ import annotations

import ast
import dataclasses
import hashlib
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

import atomdata
from atomdata.cli import main
from atomdata.schemas import TABLES
from atomdata.steps import registry
from atomdata.steps.context import Context
from conftest import REPO, write_dump

PACKAGE = REPO / "atomdata"
MAX_LINES = 80
#: the layers, bottom up: a module may import its own layer and the layers below (docs/architecture.md)
LAYERS = [
    {"errors", "version", "vocab", "settings", "io"},
    {"schemas", "issues", "tableio", "validate"},
    {"ingest"},
    {"rules"},
    {"steps"},
    {"build", "integrity"},
    {"publish"},
    {"api", "cli", "commands", "__init__", "__main__"},
]


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return out


def _imports(name: str, path: Path, tree: ast.Module, modules) -> list[tuple[str, str]]:
    """(module imported, name imported) for every ``from ... import`` of an atomdata module,
    wherever it stands (inside functions too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base.split(".")[0] == "atomdata":
                for alias in node.names:
                    out.append((f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base, alias.name))
        elif isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names if a.name.split(".")[0] == "atomdata"]
    return out


def test_no_function_is_over_80_lines():
    long = [(f"{name}.{node.name}", node.end_lineno - node.lineno + 1)
            for name, (_, tree) in _modules().items() for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_LINES]
    assert not long, long


def test_no_module_imports_a_private_name_of_another():
    modules = _modules()
    private = [(name, target, what) for name, (path, tree) in modules.items()
               for target, what in _imports(name, path, tree, modules)
               if what.startswith("_") and not what.startswith("__") and target != name]
    assert not private, private


def _graph():
    modules = _modules()
    return {name: {t for t, _ in _imports(name, path, tree, modules) if t in modules and t != name}
            for name, (path, tree) in modules.items()}


def test_the_import_graph_has_no_cycle():
    graph, state, cycles = _graph(), {}, []

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def _layer(name: str) -> int:
    top = name.split(".")[1] if "." in name else "__init__"
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def test_imports_point_down_the_layers():
    """cli/commands/api -> publish -> build/integrity -> steps -> rules -> ingest -> schemas -> vocab/settings."""
    upward = [(a, b) for a, targets in _graph().items() for b in targets
              if a != "atomdata" and _layer(b) > _layer(a) and b != "atomdata"]
    assert not upward, upward


def test_every_table_is_one_step_and_every_input_is_known():
    registry.check(base=[f.name for f in dataclasses.fields(Context) if f.name != "extra"])
    tables = [s.name for s in registry.STEPS if s.name in TABLES]
    assert sorted(tables) == sorted(TABLES)


def test_a_projects_own_registry_is_what_its_build_uses(tmp_path, monkeypatch):
    """A project folder whose raw/organizations.csv moves Qwen to Germany gets Germany in its tables,
    and curated_inputs names the sha256 of the project's file."""
    project = tmp_path / "project"
    raw = project / "raw"
    rows = [{"id": "Qwen/Qwen3-8B", "downloadsAllTime": a, "createdAt": pd.Timestamp("2025-04-29")} for a in (100, 300)]
    for day, row in zip(("2026-07-01", "2026-08-01"), rows):
        path = write_dump(tmp_path / "dumps" / day / "models.parquet", [row])
        assert CliRunner().invoke(main, ["ingest", "dump", str(path), "--raw", str(raw)]).exit_code == 0
    shipped = (REPO / "raw" / "organizations.csv").read_text(encoding="utf-8")
    qwen = next(line for line in shipped.splitlines() if line.startswith("Qwen,"))
    moved = qwen.replace(",CN,china,", ",DE,eu,")
    assert moved != qwen
    (raw / "organizations.csv").write_text(shipped.replace(qwen, moved), encoding="utf-8")
    monkeypatch.chdir(project)
    res = CliRunner().invoke(main, ["build"])
    assert res.exit_code == 0, res.output
    assert "curated inputs of the project: " in res.output and "organizations.csv" in res.output
    dbc = atomdata.load("downloads_by_country", processed=project / "processed")
    assert dbc[["country", "region", "downloads"]].values.tolist() == [["DE", "eu", 200]]
    models = atomdata.load("models", processed=project / "processed").set_index("model_id")
    assert models.loc["Qwen/Qwen3-8B", "country"] == "DE"
    inputs = atomdata.load("curated_inputs", processed=project / "processed").set_index("name")
    assert inputs.loc["organizations.csv", "sha256"] == hashlib.sha256((raw / "organizations.csv").read_bytes()).hexdigest()
    assert inputs.loc["mirrors.csv", "sha256"] == hashlib.sha256((REPO / "raw" / "mirrors.csv").read_bytes()).hexdigest()
