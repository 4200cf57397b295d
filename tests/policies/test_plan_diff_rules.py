"""A plan diff marks every change that can flip a rule: for each rule, the change from its
passing fixture to its failing one (and from the failing back to the passing) is marked
with that rule; and watching what a rule reads does not change what it finds."""

from __future__ import annotations

import pytest
from policy_cases import CASES, EXTRA_FAILURES, Case, plan

from mlplat.plan.diff import diff_plans
from policies import ALL_RULES, rule_by_id
from policies.fields import _Log, _watched, fields_read

pytestmark = pytest.mark.policy


@pytest.mark.parametrize("case", (*CASES, *EXTRA_FAILURES), ids=lambda case: case.id)
def test_the_change_that_breaks_a_rule_is_marked_with_it(case: Case) -> None:
    passing, failing = plan(*case.passing()), plan(*case.failing())
    for base, head in ((passing, failing), (failing, passing)):
        difference = diff_plans(base, head)
        assert difference.resources, "the fixtures do not differ"
        marked = [change for change in difference.resources if case.rule in change.rules]
        assert marked, [(c.kind, c.name, [f.dotted for f in c.fields], c.rules)
                        for c in difference.resources]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_watching_a_rule_read_does_not_change_what_it_finds(case: Case) -> None:
    rule = rule_by_id(case.rule)
    assert rule is not None
    for records in (case.passing(), case.failing()):
        log = _Log()
        plain, watched = plan(*records), _watched(plan(*records), log)
        assert ([(f.name, f.message) for f in rule.run(watched)]
                == [(f.name, f.message) for f in rule.run(plain)])
        targets = {r.urn for r in plain if r.name == case.target}
        assert targets <= set(fields_read([rule], plain)[rule.id]), "target not listed"


def test_every_rule_reads_something_of_the_demo_plan(demo_plan) -> None:  # type: ignore[no-untyped-def]
    reads = fields_read(ALL_RULES, demo_plan)
    assert sorted(rule for rule, by_urn in reads.items() if not by_urn) == []
