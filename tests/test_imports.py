"""Imports run one way: no module of the package imports a module that
imports it, directly or through others (imports inside functions count
too), and ``__init__`` only hands names on."""

import ast
from pathlib import Path

import sk_hashednets

PACKAGE = Path(sk_hashednets.__file__).resolve().parent
NAME = "sk_hashednets"


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name, path, modules):
    """The package's modules that ``name`` imports, anywhere in its body."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # ``from a import b`` imports the module a.b when there is one
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                       else base for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycle(graph):
    """One cycle of the graph as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert f"{NAME}._classifier" in graph[NAME]  # the graph sees relative imports
    assert f"{NAME}._version" in graph[f"{NAME}._persistence"]
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [
        "a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_version_module_imports_nothing_of_the_package():
    assert import_graph()[f"{NAME}._version"] == set()
    assert sk_hashednets.__version__ == sk_hashednets._version.__version__


def test_init_only_hands_names_on():
    """Imports, its docstring and ``__all__``: nothing else runs there."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        docstring = (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                     and isinstance(node.value.value, str))
        dunder_all = (isinstance(node, ast.Assign) and len(node.targets) == 1
                      and getattr(node.targets[0], "id", None) == "__all__")
        assert (docstring or dunder_all
                or isinstance(node, (ast.Import, ast.ImportFrom))), ast.unparse(node)
    public = set(sk_hashednets.__all__)
    assert all(hasattr(sk_hashednets, name) for name in public)
