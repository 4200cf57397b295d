"""The offline plan engine on a small fixture program: what it records and how."""

from __future__ import annotations

import enum
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlplat.core.paths import TESTS_DIR
from mlplat.plan import SECRET, PlanRequest, ProgramError, engine, plan_requests, run_program
from mlplat.plan.model import normalise, snake_case

pytestmark = pytest.mark.unit

FIXTURE = TESTS_DIR / "fixtures" / "engine_program"
MANY_SIBLINGS = TESTS_DIR / "fixtures" / "many_siblings"
SECRET_VALUE = "hunter2-do-not-print"
CONFIG = {"aws:region": "eu-west-1", "fixture:password": SECRET_VALUE}


def plan_fixture(stack: str = "t"):
    return run_program(stack=stack, config=CONFIG, secret_keys=["fixture:password"],
                       program_dir=FIXTURE, source="fixture")


@pytest.fixture(scope="module")
def plan():
    return plan_fixture()


def test_records_every_registration_with_parent_and_provider(plan):
    by_name = {r.name: r for r in plan}
    assert set(by_name) == {"box", "box-bucket", "box-password", "box-secret-version",
                            "box-topic", "fixture-aws"}
    box, bucket = by_name["box"], by_name["box-bucket"]
    assert not box.custom and box.type == "mlplat:fixture:Box"
    assert bucket.parent == box.urn
    assert bucket.provider == by_name["fixture-aws"].urn
    assert box.options["providers"] == [by_name["fixture-aws"].urn]


def test_records_dependencies_and_options(plan):
    by_name = {r.name: r for r in plan}
    assert by_name["box-secret-version"].dependencies == [by_name["box-bucket"].urn]
    assert by_name["box-bucket"].options == {"protect": True}


def test_inputs_are_snake_case_but_tag_keys_are_kept(plan):
    bucket = plan.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["tags"] == {"CamelKey": "kept", "team": "fixture"}
    topic = plan.one("aws:sns/topic:Topic")
    assert "display_name" in topic.inputs and "displayName" not in topic.inputs


def test_numbers_stay_integers(plan):
    assert plan.one("random:index/randomPassword:RandomPassword").inputs["length"] == 24
    assert '"length": 24,' in plan.dumps() or '"length": 24\n' in plan.dumps()


def test_data_sources_answer_deterministically(plan):
    assert plan.one("aws:sns/topic:Topic").inputs["display_name"] == "eu-west-1a"


def test_secrets_are_masked_everywhere(plan):
    text = plan.dumps()
    assert SECRET_VALUE not in text
    assert plan.one("aws:secretsmanager/secretVersion:SecretVersion").inputs[
        "secret_string"] == SECRET
    # A generated password is an additional secret output: masked in stack outputs too.
    assert plan.outputs["password"] == SECRET
    assert plan.outputs["bucket_arn"] == "arn:aws:s3:::box-bucket"


def test_two_runs_are_byte_identical():
    assert plan_fixture().dumps() == plan_fixture().dumps()


def test_runs_are_isolated_by_stack_name():
    first, second = plan_fixture("one"), plan_fixture("two")
    assert all(":one::" in r.urn for r in first)
    assert all(":two::" in r.urn for r in second)
    assert len(first) == len(second)


def test_json_is_sorted_and_summarised(plan):
    document = json.loads(plan.dumps())
    urns = [r["urn"] for r in document["resources"]]
    assert urns == sorted(urns)
    assert document["summary"]["resources"] == 4
    assert document["summary"]["components"] == 1
    assert document["summary"]["providers"] == 1


def test_a_record_as_json_has_every_field_of_the_record(plan):
    """`ResourceRecord.to_json` is written out field by field (asdict's copying was slow):
    a field added to the record and forgotten there fails here."""
    import dataclasses

    for record in plan.resources:
        assert record.to_json() == dataclasses.asdict(record)


def test_hundreds_of_siblings_ready_at_once_plan_without_recursion():
    """Issue "Speed", item 1: from about 80 siblings on, answering each registration
    inside a re-entrant event loop exceeded the recursion limit (RecursionError)."""
    plan = run_program(stack="siblings", config={"fixture:count": 500},
                       program_dir=MANY_SIBLINGS, source="fixture")
    names = sorted(record.name for record in plan.managed())
    assert names == [f"sibling-{index:04d}" for index in range(500)]
    assert all(record.inputs == {"byte_length": 4} for record in plan.managed())


def test_program_failure_is_reported_without_running_on(tmp_path):
    (tmp_path / "__main__.py").write_text("raise ValueError('boom in program')\n")
    with pytest.raises(ProgramError, match="ValueError: boom in program"):
        run_program(stack="t", config={}, program_dir=tmp_path)


def test_unmocked_data_source_is_an_error_not_an_empty_answer(tmp_path):
    (tmp_path / "__main__.py").write_text(
        "import pulumi_aws as aws\naws.ec2.get_vpc(default=True)\n")
    with pytest.raises(ProgramError, match="getVpc has no offline answer"):
        run_program(stack="t", config={}, program_dir=tmp_path)


@pytest.mark.parametrize(("camel", "snake"), [
    ("mapPublicIpOnLaunch", "map_public_ip_on_launch"),
    ("httpPutResponseHopLimit", "http_put_response_hop_limit"),
    ("vpcId", "vpc_id"),
    ("enableDnsHostnames", "enable_dns_hostnames"),
    ("kmsKeyId", "kms_key_id"),
    ("already_snake", "already_snake"),
])
def test_snake_case(camel, snake):
    assert snake_case(camel) == snake


def test_kubernetes_field_names_are_kept_when_not_renaming():
    value = {"spec": {"consolidateAfter": "10m", "limits": {"nvidia.com/gpu": 4.0}}}
    assert normalise(value, rename=False) == {
        "spec": {"consolidateAfter": "10m", "limits": {"nvidia.com/gpu": 4}}}


PID_PROGRAM = """\
import os
import pulumi

if pulumi.get_stack() == "bad":
    raise ValueError("bad stack on purpose")
if pulumi.get_stack() == "dies" and os.getpid() != int(pulumi.Config("t").require("parent")):
    os._exit(3)  # a worker killed mid-plan (OOM killer, segfault in a native module)
pulumi.export("pid", os.getpid())
pulumi.export("stack", pulumi.get_stack())
"""


def _requests(program_dir: Path, stacks: list[str]) -> list[PlanRequest]:
    config = {"t:parent": str(os.getpid())}
    return [PlanRequest(stack=s, config=config, program_dir=program_dir) for s in stacks]


def test_parallel_plans_run_in_workers_and_keep_request_order(tmp_path):
    (tmp_path / "__main__.py").write_text(PID_PROGRAM)
    stacks = [f"s{i}" for i in range(6)]
    plans = plan_requests(_requests(tmp_path, stacks), jobs=2)
    assert [p.outputs["stack"] for p in plans] == stacks
    pids = {p.outputs["pid"] for p in plans}
    # The parent only warms up; forked workers plan every request.
    assert os.getpid() not in pids, "a plan ran in the parent process"


def test_parallel_and_sequential_plans_are_identical():
    requests = [PlanRequest(stack=s, config=CONFIG, secret_keys=("fixture:password",),
                            source="fixture", program_dir=FIXTURE) for s in ("a", "b", "c")]
    sequential = [p.dumps() for p in plan_requests(requests, jobs=1)]
    parallel = [p.dumps() for p in plan_requests(requests, jobs=2)]
    assert parallel == sequential
    assert all(SECRET_VALUE not in text for text in parallel)


def test_failure_in_a_worker_names_its_stack(tmp_path):
    (tmp_path / "__main__.py").write_text(PID_PROGRAM)
    with pytest.raises(ProgramError, match="bad stack on purpose") as raised:
        plan_requests(_requests(tmp_path, ["ok1", "ok2", "bad", "ok3"]), jobs=2)
    assert raised.value.stack == "bad"


def test_a_dead_worker_is_a_clear_error_not_a_hang(tmp_path):
    (tmp_path / "__main__.py").write_text(PID_PROGRAM)
    with pytest.raises(ProgramError, match=r"worker process died.*dies"):
        plan_requests(_requests(tmp_path, ["ok1", "ok2", "dies", "ok3"]), jobs=2)


def test_a_plan_leaves_the_collector_as_it_found_it():
    """The collector is off only while a plan runs: a long-lived process that plans many
    times gets it back after each plan, so the plans' garbage is freed."""
    assert gc.isenabled()
    plan_fixture()
    assert gc.isenabled()
    gc.disable()
    try:
        plan_fixture()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_worker_with_the_collector_off_collects_once_garbage_piles_up(monkeypatch):
    """Workers run with the automatic collector off; their memory stays bounded because a
    plan that ends with more than GARBAGE_LIMIT uncollected objects collects them."""
    gc.disable()
    try:
        gc.collect()
        monkeypatch.setattr(engine, "GARBAGE_LIMIT", 10**9)
        plan_fixture()
        piled_up = gc.get_count()[0]
        assert piled_up > 1000, "a plan left no garbage to collect: the test proves nothing"
        monkeypatch.setattr(engine, "GARBAGE_LIMIT", piled_up // 2)
        plan_fixture()
        assert gc.get_count()[0] < piled_up // 2
    finally:
        gc.enable()


WARM_UP_PROBE = """
import sys
from mlplat.plan import plan_stack
from mlplat.plan.engine import warm_up

warm_up()
before = {name for name, module in sys.modules.items() if type(module).__name__ == "module"}
plan_stack("demo")
loaded = {name for name, module in sys.modules.items() if type(module).__name__ == "module"}
print(" ".join(sorted(name for name in loaded - before
                      if name.startswith(("pulumi_aws", "pulumi_kubernetes", "pulumi_random")))))
"""


def test_warm_up_loads_every_provider_module_a_plan_needs():
    """Forked workers start warm only if `warm_up` loaded every provider module the
    components use (a fresh process: this one has loaded them long ago)."""
    result = subprocess.run([sys.executable, "-c", WARM_UP_PROBE], capture_output=True,
                            text=True, timeout=300, check=True)
    loaded = set(result.stdout.split())
    # Name the outermost module of each lazily loaded tree, not its hundreds of files.
    missing = sorted(name for name in loaded if name.rsplit(".", 1)[0] not in loaded)
    assert not missing, ("planning the demo loaded provider modules warm_up did not; add "
                         f"them (or their submodules in use) to engine.PROVIDER_MODULES: "
                         f"{missing}")


class _Colour(enum.StrEnum):
    RED = "red"


@pytest.mark.parametrize("state", [
    {"name": "a", "count": 3, "ratio": 0.5, "on": True, "off": False, "gone": None},
    {"tags": {"team": "vision", "empty": None}, "list": [1, None, "x", [2.5, {"k": "v"}]]},
    {"password": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                  "value": "generated"}},
    {},
])
def test_mock_outputs_are_serialised_as_the_sdk_would(state):
    """The recording monitor builds the wire struct of plain mock outputs itself (the SDK's
    serialiser costs a coroutine per value); the result must be the SDK's, exactly."""
    from pulumi.runtime import rpc

    expected = engine._completed(rpc.serialize_properties(state, {}))
    assert engine._state_struct(state) == expected


@pytest.mark.parametrize("state", [
    {"colour": _Colour.RED}, {"pair": ("a", "b")}, {"nested": {"colour": _Colour.RED}},
    {"keys": {1: "not a string key"}},
])
def test_anything_but_plain_json_is_left_to_the_sdk(state):
    assert engine._state_struct(state) is None
