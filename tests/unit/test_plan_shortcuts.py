"""The plan engine's SDK shortcuts (mlplat/plan/shortcuts.py) record exactly what the stock
SDK records: every shipped stack and template, and a program of the values that must not
take them, planned both ways, byte for byte. Plus the eager task factory on its own."""

from __future__ import annotations

import asyncio
import re

import pytest

from mlplat.cli.plan import _validated_requests
from mlplat.core.paths import STACKS_DIR, TESTS_DIR
from mlplat.plan import ProgramError, plan_requests, run_program, shortcuts
from mlplat.stackfile import available_stacks

pytestmark = pytest.mark.unit

SDK_EDGES = TESTS_DIR / "fixtures" / "sdk_edges"
MANY_SIBLINGS = TESTS_DIR / "fixtures" / "many_siblings"


def both_ways(monkeypatch: pytest.MonkeyPatch, plan) -> tuple[list[str], list[str]]:
    monkeypatch.delenv(shortcuts.STOCK_SDK_ENV, raising=False)
    assert shortcuts.enabled()
    fast = plan()
    monkeypatch.setenv(shortcuts.STOCK_SDK_ENV, "1")
    assert not shortcuts.enabled()
    stock = plan()
    return [p.dumps() for p in fast], [p.dumps() for p in stock]


def test_every_shipped_stack_and_template_plans_byte_identical_both_ways(monkeypatch):
    requests = _validated_requests(available_stacks(STACKS_DIR), STACKS_DIR, templates=True)
    assert len(requests) >= 8  # four stacks and four templates at the time of writing
    fast, stock = both_ways(monkeypatch, lambda: plan_requests(requests, jobs=1))
    for request, fast_plan, stock_plan in zip(requests, fast, stock, strict=True):
        assert fast_plan == stock_plan, f"{request.stack}: the shortcuts changed the plan"


def test_values_that_must_not_take_a_shortcut_plan_byte_identical(monkeypatch):
    """Secrets in lists and maps, enums, assets and archives, translated dict keys, an
    alias from an Output, and a chain of 300 applies that would nest if run eagerly."""
    config = {"aws:region": "eu-west-1", "fixture:password": "s3cret"}

    def plan():
        return [run_program(stack="edges", config=config, secret_keys=["fixture:password"],
                            program_dir=SDK_EDGES, source="fixture")]

    fast, stock = both_ways(monkeypatch, plan)
    assert fast == stock
    assert "s3cret" not in fast[0]
    assert '"asset": "text"' in fast[0] and '"runtime": "python3.12"' in fast[0]


@pytest.mark.parametrize("failure", ["apply", "input"])
def test_a_failing_program_fails_the_same_way_both_ways(monkeypatch, failure):
    config = {"aws:region": "eu-west-1", "fixture:password": "s3cret", "fixture:fail": failure}
    messages = []
    for stock in ("0", "1"):
        monkeypatch.setenv(shortcuts.STOCK_SDK_ENV, stock)
        with pytest.raises(ProgramError) as failed:
            run_program(stack="edges", config=config, secret_keys=["fixture:password"],
                        program_dir=SDK_EDGES, source="fixture")
        messages.append(re.sub(r"0x[0-9a-f]+", "0x...", str(failed.value)))
    assert messages[0] == messages[1]
    assert ("apply failed on purpose" if failure == "apply" else "unexpected input") in messages[0]


def test_hundreds_of_siblings_plan_byte_identical(monkeypatch):
    def plan():
        return [run_program(stack="siblings", config={"fixture:count": 400},
                            program_dir=MANY_SIBLINGS, source="fixture")]

    fast, stock = both_ways(monkeypatch, plan)
    assert fast == stock


def test_the_sdk_is_as_it_was_after_a_plan():
    from pulumi import Output
    from pulumi.runtime import resource as sdk_resource
    from pulumi.runtime import rpc

    def sdk():
        return (rpc.serialize_property, rpc.transfer_properties, sdk_resource.create_urn,
                Output._track)

    before = sdk()
    run_program(stack="siblings", config={"fixture:count": 3}, program_dir=MANY_SIBLINGS)
    assert sdk() == before
    assert {function.__module__ for function in before} == {
        "pulumi.runtime.rpc", "pulumi.runtime.resource", "pulumi.output"}


# --- the eager task factory -----------------------------------------------------------------

def run(main):
    loop = asyncio.new_event_loop()
    loop.set_task_factory(shortcuts.eager_task_factory)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_coroutine_that_never_waits_finishes_before_create_task_returns():
    async def main():
        steps = []

        async def work():
            steps.append("ran")
            return 42

        future = asyncio.ensure_future(work())
        assert steps == ["ran"] and future.done() and not isinstance(future, asyncio.Task)
        return await future

    assert run(main) == 42


def test_a_coroutine_that_waits_becomes_a_task_and_carries_on():
    async def main():
        gate = asyncio.get_running_loop().create_future()

        async def work():
            return await gate + 1

        # Two coroutines parked on the same future: a flag left set by the first would
        # make the second fail ("await wasn't used with future").
        first, second = asyncio.ensure_future(work()), asyncio.ensure_future(work())
        assert isinstance(first, asyncio.Task) and not first.done()
        assert first.get_coro().__name__ == "work"  # the SDK finds its RPCs by this name
        gate.set_result(1)
        return await asyncio.gather(first, second)

    assert run(main) == [2, 2]


def test_errors_and_cancellation_reach_whoever_waits():
    async def main():
        async def fails():
            raise ValueError("boom")

        failed = asyncio.ensure_future(fails())
        with pytest.raises(ValueError, match="boom"):
            await failed

        cleaned_up = []

        async def waits_forever():
            try:
                await asyncio.get_running_loop().create_future()
            finally:
                cleaned_up.append(True)

        task = asyncio.ensure_future(waits_forever())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return cleaned_up

    assert run(main) == [True]


def test_context_variables_are_those_of_the_creator():
    import contextvars

    name = contextvars.ContextVar("name", default="unset")

    async def main():
        async def read():
            await asyncio.sleep(0)
            return name.get()

        name.set("creator")
        return await asyncio.ensure_future(read())

    assert run(main) == "creator"


def test_the_wire_markers_spelled_out_here_are_the_sdks():
    """model.py spells the protocol's markers out for itself and the shortcuts (reading a
    plan must not import the SDK); a Pulumi release that changed them would fail here."""
    from pulumi.runtime import rpc

    from mlplat.plan import model

    assert model.SIGNATURE_KEY == shortcuts.SIGNATURE_KEY == rpc._special_sig_key
    assert model.WIRE_UNKNOWN == shortcuts.WIRE_UNKNOWN == rpc.UNKNOWN
