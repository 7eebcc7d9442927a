#!/usr/bin/env python3
"""Reports import cycles between the modules of each crate of the workspace.

A module is a file under `src/` (`src/a.rs` and `src/a/mod.rs` are `a`; `src/a/b.rs` is
`a::b`). Module M uses module N when M's code (tests excluded: `#[cfg(test)]` modules and
files named `tests.rs`) names a path into N: `crate::N::..`, `super::..`, `self::..`, or a
child module by its relative name; `mod` declarations and `pub use` re-exports do not count
(they are a module's facade). The crate root (`lib.rs`, `main.rs`) is left out: it declares
and re-exports everything. Exit status 1 when a crate has a cycle.

    python3 scripts/module-cycles.py [CRATE_DIR...]
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def modules(src):
    mods = {}
    for f in sorted(src.rglob("*.rs")):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "mod":
            parts = parts[:-1]
        if parts in (["lib"], ["main"]) or not parts:
            continue
        if parts[-1] in ("tests", "testutil", "testdata"):
            continue
        mods[tuple(parts)] = f
    return mods


def strip_tests(text):
    # Drop `#[cfg(test)] mod x { ... }` bodies (brace matching) and comments.
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub(\(crate\))?\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def resolve(path, here, mods):
    """The longest module prefix that `path` (a list of names) names, from module `here`."""
    if not path:
        return None
    if path[0] == "crate":
        base, rest = (), path[1:]
    elif path[0] in ("super", "self"):
        base = list(here)
        rest = list(path)
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
        base = tuple(base)
    elif here + (path[0],) in mods:
        # A child module named by its relative path (`itch::UdpSide` in `decode`).
        base, rest = here, path
    else:
        return None
    best = None
    for k in range(len(rest), 0, -1):
        cand = base + tuple(rest[:k])
        if cand in mods:
            best = cand
            break
    if best is None and base in mods:
        best = base
    return best


def uses(text, here, mods):
    found = set()
    # `use a::{b, c::{d}}` trees: expand one level of braces at a time.
    # `pub use` re-exports are the facade of a module, not a use of the re-exported one.
    text = re.sub(r"\bpub(\([^)]*\))?\s+use\s+[^;]+;", "", text)
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        for p in expand(m.group(1).replace(" ", "").replace("\n", "")):
            r = resolve(p.split("::"), here, mods)
            if r:
                found.add(r)
    # `$crate::..` in a macro belongs to the module that invokes the macro.
    for m in re.finditer(r"(?<![\w:$])(\w+(?:::\w+)+)", text):
        r = resolve(m.group(1).split("::"), here, mods)
        if r:
            found.add(r)
    found.discard(here)
    return found


def expand(tree):
    i = tree.find("{")
    if i < 0:
        return [tree.split(" as ")[0]]
    prefix, body = tree[:i], tree[i + 1 : tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p:
            out.extend(expand(prefix + p))
    return out


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def main():
    crates = [pathlib.Path(a) for a in sys.argv[1:]] or sorted(
        p.parent for p in ROOT.glob("*/Cargo.toml") if (p.parent / "src").is_dir()
    ) + [ROOT]
    bad = False
    for c in crates:
        src = c / "src"
        if not src.is_dir():
            continue
        mods = modules(src)
        graph = {}
        for here, f in mods.items():
            text = strip_tests(f.read_text())
            graph[here] = uses(text, here, mods)
        for comp in cycles(graph):
            bad = True
            names = ", ".join("::".join(m) for m in comp)
            edges = [
                f"{'::'.join(a)} -> {'::'.join(b)}"
                for a in comp
                for b in sorted(graph[a])
                if b in comp
            ]
            print(f"{c.name}: cycle between {names}\n    " + "\n    ".join(edges))
    if not bad:
        print("no import cycles between the modules of a crate")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
