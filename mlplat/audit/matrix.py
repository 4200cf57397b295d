"""The control matrix of docs/security.md, generated from the rule set so it cannot drift.

    .venv/bin/python -m mlplat.audit.matrix    # rewrite the matrix in docs/security.md

A test fails when the committed matrix differs from what the rules say.
"""

from __future__ import annotations

from mlplat.core.files import write_atomically
from mlplat.core.paths import DOCS_DIR
from policies import ALL_RULES, Rule, Severity

SECURITY_DOC = DOCS_DIR / "security.md"
BEGIN = "<!-- control-matrix:begin (generated: python -m mlplat.audit.matrix) -->"
END = "<!-- control-matrix:end -->"


def _preview(rule: Rule) -> str:
    level = "mandatory" if rule.severity >= Severity.HIGH else "advisory"
    scope = "stack policy" if rule.needs_plan else "resource policy"
    return f"{level} ({scope})"


def _live(rule: Rule) -> str:
    """The live column: checked by `mlplat verify`, or why the rule is plan-only."""
    from mlplat.verify.coverage import LIVE_SCOPE, plan_only_reason

    reason = plan_only_reason(rule)
    if reason:
        return f"plan-only: {reason}"
    scope = LIVE_SCOPE.get(rule.id)
    return f"yes (`mlplat verify`: {scope})" if scope else "yes (`mlplat verify`)"


def render_matrix() -> str:
    lines = [BEGIN,
             "| rule | title | severity | controls | plan (`mlplat audit`) | "
             "preview (CrossGuard) | live |",
             "|---|---|---|---|---|---|---|"]
    for rule in ALL_RULES:
        controls = "; ".join(str(c) for c in rule.controls)
        lines.append(f"| `{rule.id}` | {rule.title} | {rule.severity.label} | {controls} | "
                     f"yes | {_preview(rule)} | {_live(rule)} |")
    lines.append(END)
    return "\n".join(lines)


def updated_document(text: str) -> str:
    """`text` with its matrix replaced (or appended if it has none)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + render_matrix() + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + render_matrix() + "\n"


if __name__ == "__main__":
    write_atomically(SECURITY_DOC, updated_document(SECURITY_DOC.read_text(encoding="utf-8")))
