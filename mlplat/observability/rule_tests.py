"""Unit tests of alert rules as data, rendered into a `promtool test rules` file.

A case gives synthetic input series, an evaluation time and the alerts expected to fire at
that time (none for a case that must stay silent). The expected labels always include
`team`; `severity` and the annotations are filled in from the rendered rule itself, with
its label templates expanded by `rules.expand`, so promtool compares what Prometheus really
renders with what the rule definition says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlplat.observability.rules import TEAM_LABEL, expand


@dataclass(frozen=True)
class Series:
    """One input series in promtool's notation, e.g. `0x10 79x20` or `0+1x30`."""

    series: str
    values: str


@dataclass(frozen=True)
class Fired:
    """One alert expected to fire: its labels (without alertname and severity) and, when
    the rule's annotations show `$value`, the value as Prometheus prints it."""

    labels: Mapping[str, str]
    value: str | None = None

    def __post_init__(self) -> None:
        if TEAM_LABEL not in self.labels:
            raise ValueError(f"expected alert labels must name the {TEAM_LABEL!r}: {self.labels}")


@dataclass(frozen=True)
class AlertCase:
    """`alert` evaluated at `at` over `series` fires exactly `fires` (empty: stays silent)."""

    alert: str
    why: str
    series: tuple[Series, ...]
    at: str
    fires: tuple[Fired, ...] = ()
    interval: str = "1m"
    extra_silent: tuple[str, ...] = field(default=())
    """Other alerts that must stay silent on the same series at the same time."""

    @property
    def is_firing(self) -> bool:
        return bool(self.fires)


def _rendered_alerts(groups: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def _expected_alert(rule: Mapping[str, Any], fired: Fired) -> dict[str, Any]:
    labels = dict(fired.labels)
    labels["severity"] = rule["labels"]["severity"]
    annotations = {
        key: expand(template, labels, fired.value)
        for key, template in rule["annotations"].items()
    }
    return {"exp_labels": labels, "exp_annotations": annotations}


def promtool_test_file(
    rule_file: str, groups: list[dict[str, Any]], cases: Iterable[AlertCase]
) -> dict[str, Any]:
    """The content of a promtool test file running every case against `rule_file`, which
    must hold `groups`. Unknown alert names raise KeyError (a case for a deleted rule)."""
    rules = _rendered_alerts(groups)
    tests = []
    for case in cases:
        rule = rules[case.alert]
        checks = [{
            "eval_time": case.at,
            "alertname": case.alert,
            "exp_alerts": [_expected_alert(rule, fired) for fired in case.fires],
        }]
        for other in case.extra_silent:
            if other not in rules:
                raise KeyError(f"{case.alert}: no alert {other!r} to keep silent")
            checks.append({"eval_time": case.at, "alertname": other, "exp_alerts": []})
        tests.append({
            "name": f"{case.alert}: {case.why}",
            "interval": case.interval,
            "input_series": [{"series": s.series, "values": s.values} for s in case.series],
            "alert_rule_test": checks,
        })
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}
