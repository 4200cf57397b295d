"""What changes between two plans of a stack: the resources added, removed and changed,
and for each changed one the fields, old and new values, marked where a security rule
reads them.

This is what a reviewer reads on a pull request (`mlplat diff`), what `mlplat plan
--check` summarises when a committed snapshot is stale, and what a PR report builds on
(`diff_plans` + a renderer). Resources are matched by URN (type, parent chain and name):
a resource renamed or moved under another parent is one removal and one addition, as it
would be for Pulumi without an alias.

Values come from plans, whose secrets are already the `[secret]` marker; every value is
masked again on the way out (`masked`), so a plan document from elsewhere that still
carries a Pulumi secret cannot print it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from mlplat.plan.model import SECRET, Plan, ResourceRecord

if TYPE_CHECKING:
    from policies.fields import RuleReads
    from policies.model import Rule

#: The key Pulumi marks secret values with on the wire (pulumi.runtime.rpc), and its value.
_SECRET_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
_SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"
#: A value longer than this is shown cut short (policies and kubeconfigs run to pages).
MAX_VALUE_CHARS: Final = 120
#: Rule IDs shown beside an added or removed resource before "+N more".
MAX_RULES_SHOWN: Final = 4
#: Added or removed resources a Markdown diff lists before folding them away.
MAX_UNFOLDED: Final = 10
#: Fields of a record that are not inputs, compared too, shown under this prefix.
OPTIONS: Final = "(options)"


class _Missing:
    """The side of a field change where the field does not exist."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Final = _Missing()

Kind = Literal["added", "removed", "changed"]
#: The order changes are listed in: what is destroyed first, then what is modified.
KINDS: Final[tuple[Kind, ...]] = ("removed", "changed", "added")


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its path from the record's inputs (list positions in
    brackets), the old and new values (ABSENT where there is none) and the security rules
    that read it."""

    path: tuple[str | int, ...]
    old: Any
    new: Any
    rules: tuple[str, ...] = ()

    @property
    def dotted(self) -> str:
        return dotted(self.path)

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"path": self.dotted, "rules": list(self.rules)}
        if self.old is not ABSENT:
            result["old"] = masked(self.old)
        if self.new is not ABSENT:
            result["new"] = masked(self.new)
        return result


@dataclass(frozen=True)
class ResourceChange:
    """A resource added, removed or changed, with the rules whose fields it touches."""

    kind: Kind
    urn: str
    type: str
    name: str
    fields: tuple[FieldChange, ...] = ()
    rules: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "urn": self.urn, "type": self.type, "name": self.name,
                "rules": list(self.rules), "fields": [f.to_json() for f in self.fields]}


@dataclass(frozen=True)
class PlanDiff:
    """Every difference between a base and a head plan of one stack."""

    stack: str
    base: str
    head: str
    resources: tuple[ResourceChange, ...]
    outputs: tuple[FieldChange, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def of_kind(self, kind: Kind) -> list[ResourceChange]:
        return [change for change in self.resources if change.kind == kind]

    @property
    def empty(self) -> bool:
        return not self.resources and not self.outputs

    @property
    def security_relevant(self) -> list[ResourceChange]:
        return [change for change in self.resources if change.rules]

    def summary(self) -> str:
        """`2 added, 1 removed, 3 changed (2 touch security rules), outputs changed`."""
        if self.empty:
            return "no changes"
        text = ", ".join(f"{len(self.of_kind(kind))} {kind}" for kind in KINDS)
        touching = len(self.security_relevant)
        if touching:
            text += f" ({touching} touch security rules)"
        if self.outputs:
            text += f", {len(self.outputs)} stack outputs changed"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"format": "mlplat.plan-diff/v1", "stack": self.stack, "base": self.base,
                "head": self.head, "summary": self.summary(),
                "counts": {kind: len(self.of_kind(kind)) for kind in KINDS},
                "notes": list(self.notes),
                "resources": [change.to_json() for change in self.resources],
                "outputs": [change.to_json() for change in self.outputs]}


# ------------------------------------------------------------------ computing a diff

def diff_plans(base: Plan, head: Plan, *, rules: Sequence[Rule] | None = None,
               base_label: str = "base", head_label: str = "head",
               notes: Sequence[str] = ()) -> PlanDiff:
    """The difference from `base` to `head`, changes marked with the rules (all of
    mlplat's by default, none with `rules=()`) whose fields they touch."""
    if rules is None:
        from policies import ALL_RULES

        rules = ALL_RULES
    base_reads = _reads(rules, base)
    head_reads = _reads(rules, head)
    changes: list[ResourceChange] = []
    for urn in sorted(set(base._by_urn) | set(head._by_urn)):
        old, new = base.get(urn), head.get(urn)
        if old is None and new is not None:
            changes.append(_whole("added", new, head_reads))
        elif new is None and old is not None:
            changes.append(_whole("removed", old, base_reads))
        elif old is not None and new is not None:
            changed = _changed(old, new, base_reads, head_reads)
            if changed is not None:
                changes.append(changed)
    outputs = tuple(FieldChange(path, o, n) for path, o, n in _differences(
        masked(base.outputs), masked(head.outputs), ()))
    changes.sort(key=lambda change: (KINDS.index(change.kind), change.urn))
    return PlanDiff(stack=head.stack, base=base_label, head=head_label,
                    resources=tuple(changes), outputs=outputs, notes=tuple(notes))


def _reads(rules: Sequence[Rule], plan: Plan) -> RuleReads:
    if not rules:
        return {}
    from policies.fields import fields_read

    return fields_read(rules, plan)


def _whole(kind: Kind, record: ResourceRecord, reads: RuleReads) -> ResourceChange:
    rules = tuple(sorted(rule for rule, by_urn in reads.items() if record.urn in by_urn))
    return ResourceChange(kind=kind, urn=record.urn, type=record.type, name=record.name,
                          rules=rules)


def _comparable(record: ResourceRecord) -> Any:
    """What of a record a change can be in: its inputs, and (under OPTIONS) where it sits
    and how Pulumi treats it. Dependencies are left out: they follow from the inputs."""
    extra = {"parent": record.parent, "provider": record.provider, **record.options}
    return masked({**record.inputs, OPTIONS: extra})  # never look inside a secret


def _changed(old: ResourceRecord, new: ResourceRecord, base_reads: RuleReads,
             head_reads: RuleReads) -> ResourceChange | None:
    from policies.fields import touches

    fields = []
    for path, before, after in _differences(_comparable(old), _comparable(new), ()):
        plain = tuple(str(step) for step in path if isinstance(step, str))
        rules = tuple(sorted(
            rule for reads in (base_reads, head_reads) for rule, by_urn in reads.items()
            if path[0] != OPTIONS and old.urn in by_urn and touches(by_urn[old.urn], plain)))
        fields.append(FieldChange(path, before, after, tuple(dict.fromkeys(rules))))
    if not fields:
        return None
    rules = tuple(sorted({rule for change in fields for rule in change.rules}))
    return ResourceChange(kind="changed", urn=new.urn, type=new.type, name=new.name,
                          fields=tuple(fields), rules=rules)


def _differences(old: Any, new: Any, path: tuple[str | int, ...]
                 ) -> Iterator[tuple[tuple[str | int, ...], Any, Any]]:
    """(path, old, new) of every leaf that differs. Mappings are compared key by key,
    lists position by position; a JSON document held in a string (an IAM policy) is
    compared as the document, so one changed action is one line, not the whole policy."""
    if old == new:
        return
    old_document, new_document = _json_document(old), _json_document(new)
    if old_document is not None and new_document is not None:
        old, new = old_document, new_document
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            yield from _differences(old.get(key, ABSENT), new.get(key, ABSENT), (*path, key))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from _differences(old[index] if index < len(old) else ABSENT,
                                    new[index] if index < len(new) else ABSENT,
                                    (*path, index))
    else:
        yield path, old, new


def _json_document(value: Any) -> Any:
    """The object or array a string holds as JSON, else None."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


# ------------------------------------------------------------------ values, safely

def masked(value: Any) -> Any:
    """`value` with every Pulumi secret (the wire's secret signature) as the marker."""
    if isinstance(value, Mapping):
        if value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
            return SECRET
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    return value


def shown(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A value on one line, as JSON, secrets masked, cut short past `limit` characters."""
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(masked(value), sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def dotted(path: Sequence[str | int]) -> str:
    """`("ingress", 0, "cidr_blocks")` -> `ingress[0].cidr_blocks` (odd keys quoted)."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            plain = step.replace("_", "").replace("-", "").isalnum() or step == OPTIONS
            name = step if plain else json.dumps(step, ensure_ascii=False)
            text += f".{name}" if text else name
    return text


# ------------------------------------------------------------------ renderers

_SIGNS: Final = {"added": "+", "removed": "-", "changed": "~"}


def _rule_list(rules: Sequence[str], limit: int | None = MAX_RULES_SHOWN) -> str:
    if limit is None or len(rules) <= limit:
        return ", ".join(rules)
    return f"{', '.join(rules[:limit])} +{len(rules) - limit} more"


def render_text(diff: PlanDiff) -> str:
    """The diff for a terminal or a CI log: one line per resource, one per changed field."""
    lines = [f"Plan diff of stack {diff.stack}: {diff.base} -> {diff.head}",
             *(f"note: {note}" for note in diff.notes), diff.summary()]
    for change in diff.resources:
        mark = f"  ⚠ {_rule_list(change.rules)}" if change.rules else ""
        lines.append(f"{_SIGNS[change.kind]} {change.type}  {change.name}{mark}")
        for item in change.fields:
            flag = f"  ⚠ {_rule_list(item.rules, None)}" if item.rules else ""
            lines.append(f"    {item.dotted}: {shown(item.old)} -> {shown(item.new)}{flag}")
    if diff.outputs:
        lines.append("~ stack outputs")
        lines += [f"    {item.dotted}: {shown(item.old)} -> {shown(item.new)}"
                  for item in diff.outputs]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text as inline code that is safe inside a Markdown table cell."""
    text = text.replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _flag(rules: Sequence[str]) -> str:
    return f"⚠ {', '.join(rules)}" if rules else ""


def render_markdown(diff: PlanDiff) -> str:
    """The diff as a PR comment: a summary, then a section per kind of change."""
    lines = [f"### Plan diff: `{diff.stack}`", "",
             f"{diff.base} → {diff.head}: **{diff.summary()}**", ""]
    lines += [f"> {note}" for note in diff.notes]
    if diff.notes:
        lines.append("")
    for kind in KINDS:
        changes = diff.of_kind(kind)
        if not changes:
            continue
        lines += [f"#### {kind.capitalize()} ({len(changes)})", ""]
        if kind != "changed":
            folded = len(changes) > MAX_UNFOLDED
            if folded:  # a long list of new resources would bury the changed ones
                lines += ["<details><summary>" f"{len(changes)} {kind} resources"
                          "</summary>", ""]
            lines += [f"- {_cell(c.type)} {_cell(c.name)}"
                      + (f" ⚠ {_rule_list(c.rules)}" if c.rules else "") for c in changes]
            lines += ["", "</details>", ""] if folded else [""]
            continue
        for change in changes:
            mark = f" ⚠ {_rule_list(change.rules, None)}" if change.rules else ""
            lines += [f"- {_cell(change.type)} {_cell(change.name)}{mark}", "",
                      "  | field | old | new | security rules |", "  |---|---|---|---|"]
            lines += [f"  | {_cell(item.dotted)} | {_cell(shown(item.old))} | "
                      f"{_cell(shown(item.new))} | {_flag(item.rules)} |"
                      for item in change.fields]
            lines.append("")
    if diff.outputs:
        lines += ["#### Stack outputs", "", "| output | old | new |", "|---|---|---|"]
        lines += [f"| {_cell(item.dotted)} | {_cell(shown(item.old))} | {_cell(shown(item.new))} |"
                  for item in diff.outputs]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_json(diff: PlanDiff) -> str:
    return json.dumps(diff.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


RENDERERS: Final[Mapping[str, Callable[[PlanDiff], str]]] = {
    "text": render_text, "markdown": render_markdown, "json": render_json}
