"""A picture of a plan: components as boxes, what they hold, and which depends on which.

Two hundred resources drawn one by one are unreadable, so each top-level component (the
children of the environment's composition) becomes a cluster holding one node per resource
type with its count ("3 x NatGateway"), and an arrow from component A to component B means
something in A waits for something in B (a recorded dependency or its provider). The DOT
text is rendered with Graphviz's `dot` for SVG, PNG or PDF.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

from mlplat.plan.model import Plan

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}


class GraphError(ValueError):
    """The picture cannot be drawn (no Graphviz, an unknown file type)."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _top_components(plan: Plan) -> dict[str, str]:
    """URN of every resource -> URN of the top-level component holding it (itself for a
    resource directly under the composition or the stack)."""
    by_urn = {r.urn: r for r in plan.resources}
    owner: dict[str, str] = {}
    for record in plan.resources:
        chain = [record]
        while chain[-1].parent in by_urn:
            chain.append(by_urn[chain[-1].parent])
        # chain[-1] is the root (the composition); chain[-2] its child on this branch. A
        # resource right under the root (no component of its own) joins the root's box.
        if len(chain) >= 2 and not chain[-2].custom:
            owner[record.urn] = chain[-2].urn
        else:
            owner[record.urn] = chain[-1].urn
    return owner


def to_dot(plan: Plan) -> str:
    """The plan as Graphviz DOT text, components as clusters."""
    by_urn = {r.urn: r for r in plan.resources}
    owner = _top_components(plan)
    roots = {r.urn for r in plan.resources if r.parent not in by_urn}
    members: dict[str, Counter[str]] = {}
    for record in plan.resources:
        if record.custom and not record.is_provider:
            members.setdefault(owner[record.urn], Counter())[
                record.type.rpartition(":")[2]] += 1
    edges: set[tuple[str, str]] = set()
    for record in plan.resources:
        waits = set(record.dependencies)
        # The Kubernetes provider stands for its cluster; the environment-wide AWS provider
        # (under the root) would only add an arrow from every box to the root's.
        if record.provider and owner.get(record.provider) not in roots:
            waits.add(record.provider)
        for urn in waits:
            if urn in owner and owner[urn] != owner[record.urn]:
                edges.add((owner[record.urn], owner[urn]))
    lines = [f"digraph {_quote(plan.stack)} {{",
             "  compound=true; rankdir=LR; ranksep=1.2;",
             '  node [shape=box, style="rounded,filled", fillcolor="#f5f7fa", '
             'fontname="Helvetica", fontsize=10];',
             '  graph [fontname="Helvetica-Bold", fontsize=12, style="rounded", '
             'color="#8899aa"];',
             f"  label={_quote(f'stack {plan.stack}: {len(plan.managed())} resources')};"]
    ordered = sorted(members, key=lambda urn: (by_urn[urn].parent is not None, urn))
    node_of = {top: f"c{index}" for index, top in enumerate(ordered)}
    for top in ordered:
        record = by_urn[top]
        kinds = "".join(f"{count} x {kind}\\l" if count > 1 else f"{kind}\\l"
                        for kind, count in sorted(members[top].items()))
        lines.append(f"  subgraph cluster_{node_of[top]} {{")
        lines.append(f"    label={_quote(f'{record.type.rpartition(chr(58))[2]} {record.name}')};")
        lines.append(f"    {node_of[top]} [label=\"{kinds}\"];")
        lines.append("  }")
    for source, target in sorted(edges):
        if source in node_of and target in node_of:
            lines.append(f"  {node_of[source]} -> {node_of[target]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(plan: Plan, target: Path) -> bytes:
    """The picture of `plan` in the format `target`'s suffix names (.dot, .svg, .png, .pdf)."""
    dot_text = to_dot(plan)
    suffix = target.suffix.lower()
    if suffix in (".dot", ".gv"):
        return dot_text.encode()
    if suffix not in FORMATS:
        raise GraphError(f"{target}: unknown picture type {suffix or '(none)'}; use .svg, "
                         ".png, .pdf or .dot")
    dot = shutil.which("dot")
    if dot is None:
        raise GraphError(f"{target}: Graphviz's `dot` is not installed (Debian: apt-get "
                         "install graphviz); a .dot file needs no Graphviz")
    result = subprocess.run([dot, f"-T{FORMATS[suffix]}"], input=dot_text.encode(),
                            capture_output=True, check=False, timeout=60)
    if result.returncode != 0:
        raise GraphError(f"{target}: dot failed: {result.stderr.decode(errors='replace')}")
    return result.stdout
