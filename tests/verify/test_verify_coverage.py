"""What verify claims, checked without a server: the reviewer's policy is read-only, and
every rule is either live or has a stated reason to be plan-only."""

from __future__ import annotations

import pytest

from mlplat.verify.coverage import (
    LIVE_RULE_IDS,
    LIVE_SCOPE,
    NOT_READ_FOR,
    PLAN_ONLY_REASONS,
    READ_CALLS,
    iam_actions,
    is_live,
    plan_only_reason,
)
from mlplat.verify.docs import reviewer_policy
from policies import ALL_RULES, Rule

pytestmark = pytest.mark.unit

READ_VERBS = ("Describe", "Get", "List")


def test_every_call_and_action_verify_may_use_is_a_read() -> None:
    for call, action in READ_CALLS.items():
        assert call.split(":")[1].startswith(READ_VERBS), call
        assert action.split(":")[1].startswith(READ_VERBS), action
    assert reviewer_policy()["Statement"] == [{
        "Sid": "MlplatVerifyReadOnly", "Effect": "Allow", "Action": iam_actions(),
        "Resource": "*"}]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.id)
def test_every_rule_is_live_or_says_why_not(rule: Rule) -> None:
    reason = plan_only_reason(rule)
    assert is_live(rule) != bool(reason)
    assert reason != "not read live", "a new rule area: say in coverage.py why it is plan-only"


def test_scope_notes_are_about_live_rules_and_reasons_about_plan_only_ones() -> None:
    assert set(LIVE_SCOPE) | set(NOT_READ_FOR) <= LIVE_RULE_IDS
    assert not set(PLAN_ONLY_REASONS) & LIVE_RULE_IDS
    assert LIVE_RULE_IDS.issubset(rule.id for rule in ALL_RULES)
