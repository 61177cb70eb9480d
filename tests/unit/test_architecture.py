"""The house rules, read from the code's own imports: who may import whom, no circles, short
modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = ("events", "one_things", "orchestrator", "adapters", "infra")
IO_LIBRARIES = ("aiokafka", "faust", "httpx", "fastapi", "sqlite3", "uvicorn", "typer", "socket")
MAX_LINES = 400


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code (lazy imports too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def own_imports(name: str) -> set[str]:
    """The project modules `name` imports."""
    return {m for m in imports(MODULES[name]) if m in MODULES and m != name}


def inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_orchestrator_is_a_house_with_rooms() -> None:
    top = [p for p in (ROOT / "orchestrator").glob("*.py") if p.name != "__init__.py"]
    rooms = [p for p in (ROOT / "orchestrator").iterdir() if (p / "__init__.py").exists()]
    assert len(top) <= 4, sorted(p.name for p in top)
    assert len(rooms) >= 3
    for room in rooms:
        doc = ast.get_docstring(ast.parse((room / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "enter" in doc.lower(), f"{room.name}/__init__.py must say who enters it"


@pytest.mark.parametrize(
    ("room", "forbidden"),
    [
        (
            "orchestrator.workflow",
            ("orchestrator.activities", "orchestrator.api", "orchestrator.bridge",
             "orchestrator.cli", "orchestrator.intake", "orchestrator.ops",
             "orchestrator.stores", "orchestrator.worker", "orchestrator.bootstrap",
             "orchestrator.client", "infra", "adapters"),
        ),
        (
            "orchestrator.bridge",
            ("orchestrator.activities", "orchestrator.api", "orchestrator.intake",
             "orchestrator.cli"),
        ),
        ("orchestrator.api", ("orchestrator.cli",)),
        ("orchestrator.cli", ("orchestrator.api",)),
        ("events", ("orchestrator", "adapters", "infra", "one_things")),
        ("one_things", ("orchestrator", "adapters", "infra")),
        ("adapters", ("orchestrator",)),
        ("infra", ("orchestrator", "adapters")),
    ],
)  # fmt: skip
def test_no_room_imports_what_it_must_not(room: str, forbidden: tuple[str, ...]) -> None:
    for name in (m for m in MODULES if inside(m, room)):
        wrong = {m for m in own_imports(name) if any(inside(m, f) for f in forbidden)}
        assert not wrong, f"{name} imports {sorted(wrong)}"


def test_the_workflow_does_no_io() -> None:
    for name in (m for m in MODULES if inside(m, "orchestrator.workflow")):
        wrong = {m for m in imports(MODULES[name]) if m.split(".")[0] in IO_LIBRARIES}
        assert not wrong, f"{name} imports {sorted(wrong)}"


def test_infra_never_names_an_orchestrator_module() -> None:
    for name in (m for m in MODULES if inside(m, "infra")):
        assert "orchestrator." not in MODULES[name].read_text(encoding="utf-8"), name


def test_no_import_circle() -> None:
    graph = {name: own_imports(name) for name in MODULES}
    for name in graph:  # a package imports its own modules: only module-to-module edges count
        graph[name] = {m for m in graph[name] if not inside(name, m) and not inside(m, name)}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, " -> ".join([*visiting[visiting.index(name) :], name])
        visiting.append(name)
        for target in sorted(graph[name]):
            visit(target)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_no_module_is_longer_than_it_can_be_read() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long


@pytest.mark.parametrize("package", sorted(n for n, p in MODULES.items() if p.stem == "__init__"))
def test_each_package_exports_what_it_imports_for_others(package: str) -> None:
    tree = ast.parse(MODULES[package].read_text(encoding="utf-8"))
    exported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported = set(ast.literal_eval(node.value))
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= exported, f"{package}.__all__ lacks {sorted(imported - exported)}"
