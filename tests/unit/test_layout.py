"""The package layout is the architecture: each package imports only those below it, every
module says its one job in its first line and names its public surface."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "hasm"

# Lowest first. A module may import the tiers below its own and its own package, never a package
# beside it or above it. The top tier holds the entry points, which may import anything.
TIERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "parallel"}),
    frozenset({"spec"}),
    frozenset({"core"}),
    frozenset({"trace"}),
    frozenset({"sim", "oracle", "adapters"}),
    frozenset({"explorer", "suite"}),
    frozenset({"review"}),
    frozenset({"page"}),  # the explorer page embeds the review's overview diagram
    frozenset({"cli", "strategies", "pytest_plugin", "__init__", "__main__"}),
)
TIER = {room: level for level, rooms in enumerate(TIERS) for room in rooms}


def _room(module: str) -> str:
    """`hasm.oracle.files` -> `oracle`; `hasm` (the package itself) -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _parsed(source: str) -> ast.Module:
    """A module's tree, parsed once per text: the layering test and each module's own test read
    the same hundred files (the trees are only read)."""
    return ast.parse(source)


@pytest.fixture(scope="module", autouse=True)
def _forget_the_trees() -> Iterator[None]:
    """The trees are ~230,000 objects: kept past this module, every full garbage collection of
    the run would walk them again."""
    yield
    _parsed.cache_clear()


def _tree(path: Path) -> ast.Module:
    return _parsed(path.read_text(encoding="utf-8"))


def _type_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:`: names for annotations, not dependencies."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for stmt in node.body
        for inner in ast.walk(stmt)
    }


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every hasm module a file imports at run time, anywhere in it (lazy imports inside
    functions too)."""
    found = []
    tree = _tree(path)
    type_only = _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "hasm":
                found += [(node.lineno, f"hasm.{a.name}") for a in node.names]
            elif node.module.startswith("hasm."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("hasm.")]
    return found


def layering_violations(files: list[Path], package: Path = PACKAGE) -> list[str]:
    out = []
    for path in files:
        here = _room(_name(path, package))
        for line, module in _imports(path):
            there = _room(module)
            if there == here or there not in TIER:
                continue
            if TIER[there] >= TIER[here] and TIER[here] != len(TIERS) - 1:
                out.append(
                    f"{path.relative_to(package.parent)}:{line}: {here}/ imports {module}, "
                    f"which is {'beside' if TIER[there] == TIER[here] else 'above'} it"
                )
    return out


def test_every_room_is_in_a_tier() -> None:
    rooms = {_room(_name(p)) for p in _modules()}
    assert rooms <= set(TIER), f"not placed in a tier: {sorted(rooms - set(TIER))}"


def test_no_package_imports_one_beside_or_above_it() -> None:
    assert layering_violations(_modules()) == []


def test_the_layering_check_can_fail(tmp_path: Path) -> None:
    spec_dir = tmp_path / "hasm" / "spec"
    spec_dir.mkdir(parents=True)
    bad = spec_dir / "bad.py"
    bad.write_text('"""Bad."""\n\ndef f() -> None:\n    from hasm.oracle.oracle import Oracle\n')
    assert layering_violations([bad], tmp_path / "hasm") == [
        "hasm/spec/bad.py:4: spec/ imports hasm.oracle.oracle, which is above it"
    ]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_says_its_job_and_names_its_surface(path: Path) -> None:
    tree = _tree(path)
    doc = ast.get_docstring(tree)
    assert doc, "a module's first line says its one job"
    if path.name == "__main__.py" or (path.name == "__init__.py" and len(tree.body) == 1):
        return  # nothing public beyond the docstring
    names = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        for t in (target.elts if isinstance(target, ast.Tuple) else [target])
        if isinstance(t, ast.Name)
    }
    assert "__all__" in names, "the public surface is named in __all__"
    if path.name != "__init__.py":  # a package's __init__ may gather its entry points
        defined = names | {
            node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)
        }
        defined |= {
            node.target.id
            for node in tree.body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        }
        public = next(
            ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        )
        elsewhere = [name for name in public if name not in defined]
        assert not elsewhere, (
            f"{elsewhere}: one home each - import them from where they are defined"
        )


def test_every_public_name_has_a_home_that_defines_it() -> None:
    import hasm  # noqa: PLC0415 - the package under test

    assert set(hasm.__all__) == set(hasm._HOMES)
    for name in hasm.__all__:
        assert getattr(hasm, name) is not None, name


def test_importing_hasm_or_its_plugin_loads_nothing_else() -> None:
    # The pytest plugin is loaded by every pytest run of a project that installs hasm: it must
    # stay light, and so must `import hasm` (its names are imported when first asked for).
    probe = (
        "import sys, hasm, hasm.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('hasm')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["['hasm',", "'hasm.errors',", "'hasm.pytest_plugin']"]


def test_the_tests_have_one_conftest() -> None:
    # Test modules import tests/conftest.py's helpers as `conftest` (pytest puts each test
    # directory on sys.path); a second conftest.py would shadow it under that name for every
    # module collected after it, as one did in CI.
    tests = PACKAGE.parent / "tests"
    assert sorted(tests.rglob("conftest.py")) == [tests / "conftest.py"]
