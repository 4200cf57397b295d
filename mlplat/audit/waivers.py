"""Waivers: an accepted risk, written down with who accepted it, why, and until when.

    waivers:
      - rule: MLP-S3-010              # the rule ID
        stack: demo                   # stack name or glob ("*" = every stack)
        resource: "urn:pulumi:demo::mlplat::*::vision-staging-objects-access-logs"  # URN glob
        justification: why this is acceptable, in words a reviewer can check
        approver: security-review
        expires: 2027-02-28           # after this day the waiver stops waiving and is a finding

A waiver that has expired, or that waived nothing in the stacks audited, is itself a
finding (rules MLP-WVR-001/002): stale waivers would otherwise hide the next regression.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from mlplat.core.yamlfile import YamlDocument, YamlError, read_yaml_file
from policies import Finding, Rule, Severity, rule_by_id
from policies.model import baseline

FIELDS = ("rule", "stack", "resource", "justification", "approver", "expires")
WAIVER_TYPE = "mlplat:audit:Waiver"


class WaiverError(ValueError):
    """The waivers file is not acceptable; the message names the file and line."""


@dataclass(frozen=True)
class Waiver:
    rule: str
    stack: str
    resource: str
    justification: str
    approver: str
    expires: datetime.date
    source: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    def expired(self, today: datetime.date) -> bool:
        return today > self.expires

    def covers_stack(self, stack: str) -> bool:
        return fnmatchcase(stack, self.stack)

    def covers(self, finding: Finding) -> bool:
        return (finding.rule_id == self.rule and self.covers_stack(finding.stack)
                and fnmatchcase(finding.urn, self.resource))


def _never(*_: Any) -> Iterator[str]:
    return iter(())


EXPIRED_WAIVER = Rule(
    id="MLP-WVR-001", title="Waiver has expired", severity=Severity.HIGH,
    rationale="An expired waiver no longer waives: the risk must be fixed or re-accepted.",
    remediation="Fix the finding, or renew the waiver with a new approval and expiry date.",
    controls=(baseline("risk-acceptance"),), resource_types=(WAIVER_TYPE,), check=_never,
)
UNUSED_WAIVER = Rule(
    id="MLP-WVR-002", title="Waiver waives nothing", severity=Severity.HIGH,
    rationale="A waiver that matches no finding is stale; left in place it would silently "
              "hide the next regression of the same rule.",
    remediation="Delete the waiver (or correct its rule, stack or resource pattern).",
    controls=(baseline("risk-acceptance"),), resource_types=(WAIVER_TYPE,), check=_never,
)
WAIVER_RULES = (EXPIRED_WAIVER, UNUSED_WAIVER)


def waiver_finding(rule: Rule, waiver: Waiver, message: str) -> Finding:
    return Finding(rule=rule, stack=waiver.stack, urn=waiver.where, type=WAIVER_TYPE,
                   name=f"{waiver.rule} {waiver.resource}", message=message)


def load_waivers(path: Path, source: str | None = None) -> list[Waiver]:
    """Read and check a waivers file. Raises WaiverError naming the file and line."""
    shown = source or str(path)
    try:
        document = read_yaml_file(path, shown)
    except YamlError as error:
        raise WaiverError(str(error)) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise WaiverError(f"{shown}: cannot read: {reason}") from None
    return parse_waivers(document, shown)


def stack_waivers(stack_dir: Path, path: Path | None = None) -> list[Waiver]:
    """The waivers that apply: `path` when given (it must exist), else the stack
    directory's `waivers.yaml` if there is one."""
    from mlplat.stackfile import display_path

    chosen = path or stack_dir / "waivers.yaml"
    if path is None and not chosen.exists():
        return []
    return load_waivers(chosen, display_path(chosen))


def parse_waivers(document: YamlDocument, source: str) -> list[Waiver]:
    data = document.data
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) != {"waivers"}:
        raise WaiverError(f"{source}: line 1: expected one top-level key `waivers:` "
                          "holding a list")
    items = data["waivers"] or []
    if not isinstance(items, list):
        raise WaiverError(f"{source}: line {document.line_of(('waivers',)) or 1}: "
                          "`waivers` must be a list")
    return [_waiver(item, index, document, source) for index, item in enumerate(items)]


def _waiver(item: Any, index: int, document: YamlDocument, source: str) -> Waiver:
    line = document.line_of(("waivers", index)) or 1

    def problem(message: str, key: str | None = None) -> WaiverError:
        at = document.line_of(("waivers", index, key)) if key else None
        where = f"waivers[{index}]" + (f".{key}" if key else "")
        return WaiverError(f"{source}: line {at or line}: {where}: {message}")

    if not isinstance(item, dict):
        raise problem("must be a mapping with keys " + ", ".join(FIELDS))
    unknown = sorted(set(map(str, item)) - set(FIELDS))
    if unknown:
        raise problem(f"unknown key (known: {', '.join(FIELDS)})", unknown[0])
    for key in FIELDS:
        if key not in item:
            raise problem("required field is missing", key)
    for key in ("rule", "stack", "resource", "justification", "approver"):
        if not isinstance(item[key], str) or not item[key].strip():
            raise problem("must be a non-empty string", key)
    if rule_by_id(item["rule"]) is None:
        raise problem(f"no such rule {item['rule']!r} (see `mlplat audit --list-rules`)", "rule")
    expires = item["expires"]
    if isinstance(expires, str):
        try:
            expires = datetime.date.fromisoformat(expires)
        except ValueError:
            raise problem(f"must be a date YYYY-MM-DD (got {expires!r})", "expires") from None
    if not isinstance(expires, datetime.date) or isinstance(expires, datetime.datetime):
        raise problem("must be a date YYYY-MM-DD", "expires")
    return Waiver(rule=item["rule"], stack=item["stack"], resource=item["resource"],
                  justification=item["justification"].strip(), approver=item["approver"],
                  expires=expires, source=source, line=line)
