"""Shortcuts through the Pulumi SDK's registration machinery that record the same plan.

A registration costs the SDK about 1.5 ms of CPU, nearly all of it bookkeeping that exists
for a real engine reached over gRPC: every coroutine becomes an asyncio Task and waits a
turn of the event loop, every monitor call hops through an executor, and a URN the engine
will send back anyway is computed ahead of time. The offline engine answers from memory,
so each of those can be skipped where skipping provably changes nothing:

- **Eager tasks** (`install`): a Task starts running as soon as it is created and becomes a
  real Task only if it has to wait (what Python 3.12's `asyncio.eager_task_factory` does;
  written out here for 3.11). Most of the SDK's small coroutines finish without waiting,
  so they never touch the event loop. Order of execution changes, what is registered does
  not: plans are sorted by URN, and nothing in the mocks depends on order.
- **Inline monitor calls**: the recording monitor answers at once, so `run_in_executor`
  returns a finished future instead of scheduling the hand-off on the loop.
- **The mock URN** (`create_urn`): for a monitor-backed registration the SDK computes a
  URN through four Outputs only to drop it; with plain strings the same string is built
  directly. Anything else (aliases built from Outputs) goes to the SDK's own function.
- **One future per resource property** (`transfer_properties`): the SDK gives each
  property four futures (value, known, secret, dependencies) and a Task that waits on them
  in turn to build the Output's state; here the resolver sets that state on one future, as
  the SDK itself already does for a resource's `urn` and `id` (`resource_output`). The
  Output, its state and a failed resource's exception are the same.
- **No lifecycle tracking for Outputs born resolved** (`Output._track`): the SDK keeps
  every Output's state future in a set until it resolves, so the end of the program can
  wait for the pending ones and surface their errors; a future that has already resolved
  without error would be added, then removed by a callback on the next turn of the loop.
  With eager tasks most Outputs are born resolved; they skip the round trip.
- **Plain values serialise to themselves** (`serialize_property`): a `str`, `int`,
  `float`, `bool` or `None` (exactly those types, not subclasses such as enums) comes
  out of the SDK's serialiser unchanged after a dozen type checks and a coroutine of its
  own, and a list of them as a copy; both are returned at once. Everything else (dicts,
  whose keys the SDK may translate, outputs, resources, assets) goes to the SDK.
- **Plain inputs for the mocks** (`plain_inputs`): the wire JSON of a registration, with
  None-valued keys dropped as the SDK's deserialiser drops them, is what that deserialiser
  would give the mocks, unless it holds a special signature (secret, asset, resource
  reference) or the unknown marker; only then is the deserialiser used. Inputs and outputs
  go through the same conversion (`_through_the_wire`).

- **Plain outputs without protobuf** (`registered`): the mock outputs of a registration are
  plain JSON; the SDK would get them as a protobuf Struct and turn that back into Python
  (numbers become floats, keys whose value is None vanish, at every depth). The monitor
  hands over the Python values that round trip would produce, in a response with the same
  fields, unless the outputs hold a signature or the unknown marker.

`MLPLAT_PLAN_STOCK_SDK=1` turns all of them off. A test plans every shipped stack both
ways and requires byte-identical plans (tests/unit/test_plan_shortcuts.py), so a Pulumi
upgrade that breaks an assumption fails there, not in a reviewer's diff.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import os
import types
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any

from mlplat.plan.model import SIGNATURE_KEY, WIRE_UNKNOWN

#: Set to "1" to plan through the unmodified SDK (to rule the shortcuts out, or to compare).
STOCK_SDK_ENV = "MLPLAT_PLAN_STOCK_SDK"


def enabled() -> bool:
    """Whether plans take the shortcuts (the default) or the stock SDK path."""
    return os.environ.get(STOCK_SDK_ENV, "") not in ("1", "true", "TRUE", "yes")


# --- eager tasks --------------------------------------------------------------------------

def _parked(pending: Any) -> Any:
    """Take over what a Task does with a future its coroutine yielded: clear the flag that
    says "someone is about to wait on me". Left set until the Task's first step, any other
    coroutine awaiting the same future in the meantime would fail ("await wasn't used with
    future")."""
    if pending is not None:
        pending._asyncio_future_blocking = False
    return pending


@types.coroutine
def _resume(coroutine: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Drive a coroutine whose first step already ran: wait on the future it yielded (as a
    Task would have), then let it run on under the Task."""
    try:
        if pending is None:  # a bare `yield` (asyncio.sleep(0)): one turn of the loop
            yield None
        elif not pending.done():
            pending._asyncio_future_blocking = True  # the Task clears it again at once
            yield pending
    except BaseException as exc:  # cancellation thrown in by the Task: pass it on
        try:
            pending = coroutine.throw(exc)
        except StopIteration as done:
            return done.value
        return (yield from _resume(coroutine, _parked(pending)))
    return (yield from coroutine)


def eager_task_factory(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any],
                       *, context: contextvars.Context | None = None) -> asyncio.Future[Any]:
    """Run the coroutine's first step now; a Task only if it has to wait.

    Outside a running loop (`run_until_complete` creating its first Task) there is nothing
    to run on yet, so that is a plain Task. The step runs in the context the Task would
    have had, and a suspended coroutine carries on under a Task in that same context.
    """
    context = context if context is not None else contextvars.copy_context()
    if not loop.is_running():
        return asyncio.Task(coroutine, loop=loop, context=context)
    finished: asyncio.Future[Any] = loop.create_future()
    try:
        pending = context.run(coroutine.send, None)
    except StopIteration as done:
        finished.set_result(done.value)
        return finished
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # what a Task would hold for whoever awaits it
        finished.set_exception(exc)
        return finished
    wrapper = _resume(coroutine, _parked(pending))
    # The SDK finds its outstanding RPCs among all tasks by their coroutine's name.
    wrapper.__name__ = coroutine.__name__  # type: ignore[attr-defined]
    return asyncio.Task(wrapper, loop=loop, context=context)


def _run_inline(loop: asyncio.AbstractEventLoop) -> Callable[..., asyncio.Future[Any]]:
    def run_in_executor(executor: Any, function: Callable[..., Any],
                        *args: Any) -> asyncio.Future[Any]:
        finished: asyncio.Future[Any] = loop.create_future()
        try:
            finished.set_result(function(*args))
        except Exception as exc:  # handed to the awaiting coroutine, as the executor would
            finished.set_exception(exc)
        return finished

    return run_in_executor


# --- the mock URN ------------------------------------------------------------------------

def _create_urn(stock: Callable[..., Any]) -> Callable[..., Any]:
    from pulumi import Output

    def create_urn(name: Any, type_: Any, parent: Any = None, project: Any = None,
                   stack: Any = None) -> Any:
        plain = (type(name) is str and type(type_) is str
                 and (parent is None or type(parent) is str)
                 and (project is None or type(project) is str)
                 and (stack is None or type(stack) is str))
        if not plain:
            return stock(name, type_, parent, project, stack)
        if parent is not None:  # the SDK's own slicing, "" and all
            prefix = parent[0:parent.rfind("::")] + "$"
        else:
            from pulumi.runtime import settings

            prefix = ("urn:pulumi:" + (stack if stack is not None else settings.get_stack())
                      + "::" + (project if project is not None else settings.get_project())
                      + "::")
        return Output.from_input(prefix + type_ + "::" + name)

    return create_urn


# --- resource properties ----------------------------------------------------------------

def _transfer_properties(res: Any, props: Any, custom: bool) -> dict[str, Callable[..., None]]:
    """`pulumi.runtime.rpc.transfer_properties` with one future per property."""
    from pulumi.output import Output, _OutputData

    resolvers: dict[str, Callable[..., None]] = {}
    for name in props:  # not .items(): the SDK allows a dict subclass that redefines it
        if name == "urn" or (name == "id" and custom):
            continue  # set up separately by the SDK
        data: asyncio.Future[Any] = asyncio.Future()

        def resolve(value: Any, is_known: bool, is_secret: bool, deps: Any,
                    failed: Exception | None, data: asyncio.Future[Any] = data) -> None:
            if failed is not None:
                data.set_exception(failed)
                return
            resources = set(deps) if deps else set()
            resources.add(res)
            data.set_result(_OutputData(resources=resources, value=value,
                                        is_known=is_known, is_secret=is_secret))

        resolvers[name] = resolve
        res.__dict__[name] = Output._from_data(data)
    return resolvers


# --- Output tracking ---------------------------------------------------------------------

def _track(stock: Callable[[Any], None]) -> Callable[[Any], None]:
    def track(output: Any) -> None:
        data = output._data
        if data.done() and not data.cancelled() and data.exception() is None:
            return
        stock(output)

    return track


# --- plain values ------------------------------------------------------------------------

_SCALARS = frozenset({str, int, float, bool, type(None)})


def _serialize_property(stock: Callable[..., Any]) -> Callable[..., Any]:
    async def serialize_property(value: Any, deps: Any, property_key: Any,
                                 resource_obj: Any = None, input_transformer: Any = None,
                                 typ: Any = None, keep_output_values: bool = False,
                                 exclude_resource_refs_from_deps: bool = False,
                                 return_protobuf_value: bool = False) -> Any:
        if not return_protobuf_value:
            kind = type(value)
            if kind in _SCALARS:
                return value
            if kind is list and all(type(item) in _SCALARS for item in value):
                return list(value)
        return await stock(value, deps, property_key, resource_obj, input_transformer, typ,
                           keep_output_values, exclude_resource_refs_from_deps,
                           return_protobuf_value)

    return serialize_property


# --- plain outputs ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Registered:
    """What the SDK reads of a RegisterResourceResponse, with `object` already Python."""

    urn: str
    id: str
    object: dict[str, Any]
    result: int = 0  # resource_pb2.Result.SUCCESS
    unknown: bool = False
    # The field names are the SDK's (camelCase, as in the protobuf message).
    propertyDependencies: dict[str, Any] = dataclasses.field(default_factory=dict)


class _NotPlain(Exception):
    """The value needs the SDK's own (de)serialiser."""


def _through_the_wire(value: Any) -> Any:
    """A JSON value as it comes out of a protobuf Struct and the SDK's deserialiser: ints
    as floats (a bool stays a bool), None-valued keys of every mapping dropped (None items
    of a list kept), every container new. Raises _NotPlain for anything else: a type that
    is not JSON (exactly), a signature (secret, asset, reference) or the unknown marker."""
    kind = type(value)
    if kind is str:
        if value == WIRE_UNKNOWN:
            raise _NotPlain
        return value
    if kind is dict:
        if SIGNATURE_KEY in value:
            raise _NotPlain
        converted = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            if item is not None:
                converted[key] = _through_the_wire(item)
        return converted
    if kind is list:
        return [_through_the_wire(item) for item in value]
    if kind is int:
        return float(value)
    if kind is float or kind is bool or value is None:
        return value
    raise _NotPlain


def plain_inputs(wire: dict[str, Any]) -> dict[str, Any] | None:
    """A registration's inputs (its wire JSON) as the SDK's deserialiser would hand them to
    the mocks; None when it holds something only the deserialiser can turn into Python."""
    try:
        return _through_the_wire(wire)  # type: ignore[no-any-return]
    except _NotPlain:
        return None


def registered(urn: str, resource_id: str, state: dict[str, Any]) -> Registered | None:
    """The response for mock outputs that are plain JSON without signatures or unknowns;
    None when the SDK has to get a protobuf Struct."""
    try:
        return Registered(urn=urn, id=resource_id, object=_through_the_wire(state))
    except _NotPlain:
        return None


# --- switching them on for a plan ----------------------------------------------------------

@contextlib.contextmanager
def installed(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """The shortcuts in place for one plan on `loop`, the SDK as it was afterwards."""
    if not enabled():
        yield
        return
    from pulumi import Output
    from pulumi.runtime import resource as sdk_resource
    from pulumi.runtime import rpc

    stock_create_urn = sdk_resource.create_urn
    stock_transfer_properties = rpc.transfer_properties
    stock_serialize_property = rpc.serialize_property
    stock_track = Output._track
    previous_factory = loop.get_task_factory()
    loop.set_task_factory(eager_task_factory)  # type: ignore[arg-type]
    loop.run_in_executor = _run_inline(loop)  # type: ignore[method-assign,assignment]
    sdk_resource.create_urn = _create_urn(stock_create_urn)
    rpc.transfer_properties = _transfer_properties
    rpc.serialize_property = _serialize_property(stock_serialize_property)
    Output._track = _track(stock_track)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Output._track = stock_track  # type: ignore[method-assign]
        rpc.serialize_property = stock_serialize_property
        rpc.transfer_properties = stock_transfer_properties
        sdk_resource.create_urn = stock_create_urn
        del loop.run_in_executor  # back to the class's method
        loop.set_task_factory(previous_factory)
