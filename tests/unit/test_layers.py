"""The layers of ARCHITECTURE.md, read from the source: what each package may import, no
import loops between our modules (imports inside functions count too; imports only for
the type checker, under `if TYPE_CHECKING:`, do not), and the tests, the benchmarks and
the stand-ins they share kept apart from each other and from the product."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "notifications", "crm")

# what a lower layer may still import from a higher one (ARCHITECTURE.md names each)
UPWARD_ALLOWED = {
    "crm": (),
    "notifications": ("handlers.words", "bot.governor", "bot.i18n"),
    "handlers": (),
}
# one module's own exceptions, to be moved out (ARCHITECTURE.md names them too)
MODULE_ALLOWED: dict[str, tuple[str, ...]] = {}
# loops that landed while this test was new, to be broken (an import inside a function)
KNOWN_LOOPS: set[str] = set()
FORBIDDEN_ABOVE = {
    "crm": ("aiogram", "bot", "handlers", "notifications"),
    "notifications": ("bot", "handlers"),
    "handlers": ("bot",),
}

# what the tests and the benchmarks both run against lives in standins/, which imports
# neither; the product imports none of the three
KEPT_APART = {
    "bench": ("tests",),
    "standins": ("tests", "bench"),
    **{package: ("tests", "bench", "standins") for package in PACKAGES},
}


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_name(path)] = path
    return found


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """ast.walk, leaving out `if TYPE_CHECKING:` blocks (those imports never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(child for child in ast.iter_child_nodes(node) if not _type_checking(child))


def imported(name: str, path: Path) -> Iterator[str]:
    """Every module name an import statement of this file runs (at any depth)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}".rstrip(".")
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_no_layer_imports_the_layers_above_it_but_the_named_exceptions() -> None:
    wrong = []
    for name, path in modules().items():
        layer = name.partition(".")[0]
        for target in imported(name, path):
            allowed = (*UPWARD_ALLOWED.get(layer, ()), *MODULE_ALLOWED.get(name, ()))
            if any(within(target, above) for above in FORBIDDEN_ABOVE.get(layer, ())) and not any(
                within(target, exception) for exception in allowed
            ):
                wrong.append(f"{name} imports {target}")
    assert sorted(set(wrong)) == []


def test_no_import_loops() -> None:
    """A package's __init__ may import its own modules; apart from that, no loops."""
    known = modules()

    def resolve(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        graph[name] = set()
        for target in imported(name, path):
            found = resolve(target)
            if found and found != name and not within(name, found):
                graph[name].add(found)  # a module importing its own package is no edge

    loops = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                loops.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert [loop for loop in loops if loop not in KNOWN_LOOPS] == []


def test_the_benchmarks_the_stand_ins_and_the_product_import_no_tests() -> None:
    wrong = []
    for package, forbidden in KEPT_APART.items():
        for path in (ROOT / package).rglob("*.py"):
            name = _name(path)
            wrong += [
                f"{name} imports {target}"
                for target in imported(name, path)
                if any(within(target, other) for other in forbidden)
            ]
    assert sorted(set(wrong)) == []
