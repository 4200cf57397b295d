"""`diff_plans` and its renderers on small hand-built plans: what is listed, how fields and
values are shown, which changes are marked with the security rules that read them, and
that no secret is ever printed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime import rpc

from mlplat.plan.diff import (
    ABSENT,
    OPTIONS,
    diff_plans,
    dotted,
    masked,
    render_json,
    render_markdown,
    render_text,
    shown,
)
from mlplat.plan.model import SECRET, Plan, ResourceRecord
from policies import rule_by_id

pytestmark = pytest.mark.unit

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PARAMETER = "aws:ssm/parameter:Parameter"
#: A Pulumi secret as the wire carries it, holding a value that must never be printed.
WIRE_SECRET = {rpc._special_sig_key: rpc._special_secret_sig, "value": "hunter2-never-printed"}


def record(type_token: str, name: str, inputs: dict[str, Any], **options: Any
           ) -> ResourceRecord:
    return ResourceRecord(urn=f"urn:pulumi:s::mlplat::{type_token}::{name}", type=type_token,
                          name=name, custom=True, parent=None, provider=None, inputs=inputs,
                          dependencies=[], options=options)


def plan(*records: ResourceRecord, outputs: dict[str, Any] | None = None) -> Plan:
    return Plan(project="mlplat", stack="s", source="test", resources=list(records),
                outputs=outputs or {})


def versioning(status: str) -> ResourceRecord:
    return record(VERSIONING, "data-versioning",
                  {"bucket": "data-1", "versioning_configuration": {"status": status}})


def policy(*actions: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})


BASE = plan(
    record(BUCKET, "data", {"bucket": "data-1", "tags": {"team": "a"}}),
    versioning("Enabled"),
    record(BUCKET, "old", {"bucket": "old-1"}),
    record(ROLE_POLICY, "reader", {"policy": policy("s3:GetObject")}),
    record(PARAMETER, "password", {"value": SECRET, "type": "SecureString"}),
    outputs={"bucket": "data-1"},
)
HEAD = plan(
    record(BUCKET, "data", {"bucket": "data-1", "tags": {"team": "b"}}),
    versioning("Suspended"),
    record(BUCKET, "new", {"bucket": "new-1"}),
    record(ROLE_POLICY, "reader", {"policy": policy("s3:GetObject", "s3:PutObject")}),
    record(PARAMETER, "password", {"value": SECRET, "type": "SecureString"}, protect=True),
    outputs={"bucket": "data-1", "new": "new-1"},
)


@pytest.fixture(scope="module")
def diff():  # type: ignore[no-untyped-def]
    return diff_plans(BASE, HEAD, base_label="A", head_label="B")


def by_name(diff, name):  # type: ignore[no-untyped-def]
    (change,) = [c for c in diff.resources if c.name == name]
    return change


def test_lists_added_removed_and_changed_resources(diff) -> None:  # type: ignore[no-untyped-def]
    kinds = {(c.kind, c.name) for c in diff.resources}
    assert kinds == {("added", "new"), ("removed", "old"), ("changed", "data"),
                     ("changed", "data-versioning"), ("changed", "reader"),
                     ("changed", "password")}
    assert [c.kind for c in diff.resources] == ["removed", *["changed"] * 4, "added"]
    assert diff.summary().startswith("1 removed, 4 changed, 1 added")


def test_changed_fields_carry_paths_and_old_and_new_values(diff) -> None:  # type: ignore[no-untyped-def]
    (field,) = by_name(diff, "data-versioning").fields
    assert (field.dotted, field.old, field.new) == (
        "versioning_configuration.status", "Enabled", "Suspended")
    (tag,) = by_name(diff, "data").fields
    assert (tag.dotted, tag.old, tag.new) == ("tags.team", "a", "b")


def test_a_json_policy_is_compared_as_a_document(diff) -> None:  # type: ignore[no-untyped-def]
    (field,) = by_name(diff, "reader").fields
    assert (field.dotted, field.old, field.new) == (
        "policy.Statement[0].Action[1]", ABSENT, "s3:PutObject")


def test_options_are_compared_and_never_marked(diff) -> None:  # type: ignore[no-untyped-def]
    (field,) = by_name(diff, "password").fields
    assert field.path == (OPTIONS, "protect")
    assert (field.old, field.new, field.rules) == (ABSENT, True, ())


def test_security_relevant_changes_are_marked_with_the_rules_reading_them(diff) -> None:  # type: ignore[no-untyped-def]
    (status,) = by_name(diff, "data-versioning").fields
    assert "MLP-S3-007" in status.rules
    assert "MLP-S3-007" in by_name(diff, "data-versioning").rules
    # the bucket rules read a bucket's companions and its own name, not its tags
    assert by_name(diff, "data").rules == ("MLP-TAG-001",)
    (action,) = by_name(diff, "reader").fields
    assert "MLP-IAM-001" in action.rules
    assert "MLP-S3-001" in by_name(diff, "new").rules  # a new bucket: every bucket rule
    assert "MLP-S3-001" in by_name(diff, "old").rules


def test_no_rules_means_no_marks() -> None:
    quiet = diff_plans(BASE, HEAD, rules=())
    assert all(not change.rules for change in quiet.resources)


def test_only_the_rules_given_are_consulted() -> None:
    rule = rule_by_id("MLP-S3-007")
    assert rule is not None
    marked = diff_plans(BASE, HEAD, rules=[rule])
    assert {c.name for c in marked.resources if c.rules} == {"data-versioning", "new", "old"}


def test_equal_plans_have_no_changes() -> None:
    same = diff_plans(BASE, BASE)
    assert same.empty and same.summary() == "no changes"
    assert "no changes" in render_text(same)


def test_outputs_changes_are_listed(diff) -> None:  # type: ignore[no-untyped-def]
    (output,) = diff.outputs
    assert (output.dotted, output.old, output.new) == ("new", ABSENT, "new-1")


def test_renderers_show_every_change_and_its_mark(diff) -> None:  # type: ignore[no-untyped-def]
    text = render_text(diff)
    assert "Plan diff of stack s: A -> B" in text
    assert '~ aws:s3/bucketVersioning:BucketVersioning  data-versioning  ⚠ ' in text
    assert ('versioning_configuration.status: "Enabled" -> "Suspended"  ⚠ ' in text)
    assert "+ aws:s3/bucket:Bucket  new" in text and "- aws:s3/bucket:Bucket  old" in text
    markdown = render_markdown(diff)
    assert "#### Removed (1)" in markdown and "#### Added (1)" in markdown
    assert "| `versioning_configuration.status` | `\"Enabled\"` | `\"Suspended\"` | ⚠ " \
        in markdown
    document = json.loads(render_json(diff))
    assert document["counts"] == {"removed": 1, "changed": 4, "added": 1}
    changed = {c["name"]: c for c in document["resources"]}["data-versioning"]
    assert changed["fields"][0]["old"] == "Enabled" and "MLP-S3-007" in changed["rules"]


def test_secrets_are_never_printed_in_any_format() -> None:
    base = plan(record(PARAMETER, "p", {"value": WIRE_SECRET, "type": "String"}))
    head = plan(record(PARAMETER, "p", {"value": {**WIRE_SECRET, "value": "other-secret"},
                                        "type": "SecureString"}))
    difference = diff_plans(base, head)
    assert difference.resources  # the type changed (and the secret's wire form)
    for text in (render_text(difference), render_markdown(difference),
                 render_json(difference)):
        assert "hunter2-never-printed" not in text and "other-secret" not in text
    assert masked({"a": [WIRE_SECRET]}) == {"a": [SECRET]}


def test_values_are_one_line_and_cut_short() -> None:
    assert shown("x" * 500).endswith("…") and len(shown("x" * 500)) == 120
    assert shown({"b": 1, "a": "\n"}) == '{"a": "\\n", "b": 1}'
    assert shown(ABSENT) == "(absent)"


def test_dotted_paths_quote_keys_that_are_not_plain_names() -> None:
    assert dotted(("tags", "kubernetes.io/role", 0)) == 'tags."kubernetes.io/role"[0]'
    assert dotted(("a_b", 2, "c-d")) == "a_b[2].c-d"


def test_markdown_folds_long_lists_of_added_resources() -> None:
    many = plan(*(record(BUCKET, f"b{i}", {"bucket": f"b{i}"}) for i in range(12)))
    markdown = render_markdown(diff_plans(plan(), many, rules=()))
    assert "<details><summary>12 added resources</summary>" in markdown
    assert markdown.count("- `aws:s3/bucket:Bucket`") == 12
    assert "<details>" not in render_markdown(diff_plans(BASE, HEAD))
