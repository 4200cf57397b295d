"""Human-readable views of a Plan for the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from mlplat.plan.model import Plan, ResourceRecord
from mlplat.plan.standup import critical_path


def _label(record: ResourceRecord) -> str:
    # Names come from config (team names, pool names): printed as written, never as markup.
    name, type_token = escape(record.name), escape(record.type)
    if record.is_component:
        return f"[bold]{name}[/bold] [dim]({type_token})[/dim]"
    if record.is_provider:
        return f"{name} [magenta]provider[/magenta] [dim]({type_token})[/dim]"
    return f"{name} [dim]{type_token}[/dim]"


def plan_tree(plan: Plan) -> Tree:
    """Components with their children nested; each level sorted by type then name."""
    children: dict[str | None, list[ResourceRecord]] = {}
    for record in plan.resources:
        parent = record.parent if record.parent and plan.get(record.parent) else None
        children.setdefault(parent, []).append(record)

    root = Tree(f"[bold cyan]{escape(plan.project)}-{escape(plan.stack)}[/bold cyan] "
                f"[dim]({escape(plan.source)})[/dim]")

    def add(node: Tree, parent: str | None) -> None:
        for record in sorted(children.get(parent, []),
                             key=lambda r: (r.custom, r.type, r.name)):
            branch = node.add(_label(record))
            add(branch, record.urn)

    add(root, None)
    return root


def counts_table(plan: Plan) -> Table:
    table = Table(title="Resources by type", show_lines=False)
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_token, count in plan.counts_by_type().items():
        table.add_row(type_token, str(count))
    return table


def print_plan(plan: Plan, console: Console) -> None:
    console.print(plan_tree(plan))
    console.print(counts_table(plan))
    managed = len(plan.managed())
    components = sum(1 for r in plan.resources if r.is_component)
    providers = sum(1 for r in plan.resources if r.is_provider)
    console.print(
        f"[bold]Plan:[/bold] {managed} resources to create, in {components} components, "
        f"with {providers} providers (offline; no credentials used)."
    )
    path = critical_path(plan)
    if path.seconds:
        console.print(f"[bold]Estimated time to stand up:[/bold] {path.describe()} "
                      "(critical path; durations in mlplat/plan/standup.py)", soft_wrap=True)
