"""docs/architecture.md's floors, checked against every import in the source: imports never point up."""

import ast
from pathlib import Path

import annrl

SOURCE = Path(annrl.__file__).parent
#: lowest first; a module may import its own package and anything on a lower floor
FLOORS = [
    {"errors", "validate", "expr", "backend", "config", "progress", "userfiles", "extras", "runlog", "htmlrepr",
     "__init__"},
    {"nn"},
    {"io", "viz", "clikit"},
    {"calculus"},
    {"systems"},
    {"envs"},
    {"agents"},
    {"symbolic"},
    {"labs"},
    {"zoo", "playground", "sweep", "sklearn", "report_cli", "demo"},
]
FLOOR = {name: level for level, names in enumerate(FLOORS) for name in names}
#: command-line modules sit on top of everything
TOP = {"cli.py", "__main__.py", "completion.py"}
#: the one deliberate exception, and why
ALLOWED = {("sweep", "cli"): "a sweep runs annrl commands in its own process, through the command line"}


def package_of(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return parts[0]


def imported_packages(tree: ast.AST) -> set[str]:
    """The top-level annrl packages or modules imported anywhere in ``tree`` (lazy imports included)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "annrl" else [f"annrl.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {name.split(".")[1] for name in names if name.startswith("annrl.")}
    return found


def upward_imports() -> list[str]:
    problems = []
    for path in sorted(SOURCE.rglob("*.py")):
        own = package_of(path)
        if path.name in TOP:
            continue
        assert own in FLOOR, f"{own} is on no floor: add it to FLOORS and docs/architecture.md"
        for target in imported_packages(ast.parse(path.read_text(encoding="utf-8"))) - {own, "__version__"}:
            if target in {"cli"} and (own, target) in ALLOWED:
                continue
            if target not in FLOOR or FLOOR[target] > FLOOR[own]:
                problems.append(f"{path.relative_to(SOURCE)} ({own}, floor {FLOOR[own]}) imports {target} "
                                f"(floor {FLOOR.get(target, 'top')})")
    return problems


def test_no_module_imports_from_a_floor_above_it():
    assert upward_imports() == []


def test_the_checker_sees_an_upward_import():
    tree = ast.parse("def f():\n    from annrl.labs.xor import lab\n")
    assert imported_packages(tree) == {"labs"}
    assert FLOOR["labs"] > FLOOR["nn"]  # so this import, inside nn/, would be reported
