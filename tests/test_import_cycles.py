"""No import cycle among the project's own modules (phakhi/ and flows/), lazy imports inside functions included.

The walk reads the source with `ast` (nothing is imported), resolves every `import x` / `from .y import z` to a
project module and looks for strongly connected components of that graph.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("phakhi", "flows")


def project_modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    mods = {}
    for pkg in packages:
        for p in (root / pkg).rglob("*.py"):
            rel = p.relative_to(root)
            if "__pycache__" in rel.parts:
                continue
            name = ".".join(rel.with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = p
    return mods


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        tree = ast.parse(p.read_text(encoding="utf-8"))
        pkg = m if p.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")
                    parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            else:
                continue
            for t in targets:
                r = resolve(t)
                # a package importing its own submodules (or a module its parent package) is not a cycle
                if r and r != m and not m.startswith(r + "."):
                    graph[m].add(r)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycle_among_the_project_modules():
    mods = project_modules(REPO)
    assert {"phakhi.cli", "phakhi.ingest.files", "flows.pipeline"} <= set(mods)
    found = cycles(import_graph(mods))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_walk_finds_a_cycle_through_a_lazy_import(tmp_path):
    pkg = tmp_path / "phakhi"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from phakhi.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import x\n")      # lazy and relative
    (pkg / "c.py").write_text("import phakhi.a\nx = 1\n")
    (pkg / "d.py").write_text("from phakhi import a\n")                        # imports into the cycle only
    assert cycles(import_graph(project_modules(tmp_path, ("phakhi",)))) == [["phakhi.a", "phakhi.c", "phakhi.sub.b"]]
