"""Run the real Pulumi program offline and record every registration into a Plan.

Pulumi's unit-test mock runtime executes the program in-process: no CLI, no engine, no
network, no credentials. A recording monitor stands in for the engine's resource monitor
and captures each registration (urn, type, name, parent, inputs, dependencies, provider,
options); `DeterministicMocks` answers with stable outputs. Each run happens in a fresh
`contextvars.Context`, so many plans can be built in one process without leaking state.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import functools
import gc
import importlib
import json
import runpy
import sys
import threading
from collections.abc import Coroutine, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from mlplat.core.paths import PROGRAM_DIR
from mlplat.plan import shortcuts
from mlplat.plan.model import Plan, ResourceRecord, normalise

if TYPE_CHECKING:  # the SDKs are imported when a plan runs, not when a cached one is read
    from mlplat.plan.mocks import DeterministicMocks

T = TypeVar("T")
PROJECT = "mlplat"

# The Pulumi SDK keeps process-wide state (an event loop, a callback registry) that is not
# safe to drive from two threads at once; plans in one process run one at a time.
_RUN_LOCK = threading.Lock()

#: Provider submodules the components use. The provider SDKs load submodules lazily, about
#: 0.05-0.35 s each on first use; `warm_up` loads these before the collector is frozen and
#: workers are forked, so that no worker pays for them again. A test plans the demo and
#: fails naming any provider module a plan loaded that is missing here.
PROVIDER_MODULES: tuple[str, ...] = (
    "pulumi_aws.cloudwatch",
    "pulumi_aws.ec2",
    "pulumi_aws.efs",
    "pulumi_aws.eks",
    "pulumi_aws.iam",
    "pulumi_aws.kms",
    "pulumi_aws.rds",
    "pulumi_aws.s3",
    "pulumi_aws.sns",
    "pulumi_aws.sqs",
    "pulumi_aws.vpc",
    "pulumi_kubernetes.admissionregistration.v1",
    "pulumi_kubernetes.apiextensions",
    "pulumi_kubernetes.apps.v1",
    "pulumi_kubernetes.batch.v1",
    "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.helm.v3",
    "pulumi_kubernetes.meta.v1",
    "pulumi_kubernetes.networking.v1",
    "pulumi_kubernetes.policy.v1",
    "pulumi_kubernetes.rbac.v1",
    "pulumi_kubernetes.storage.v1",
    "pulumi_kubernetes.yaml.yaml",
)

#: Objects a process with the automatic collector off (a planning worker) may accumulate
#: before a plan ends in a full collection: a demo-sized plan leaves about 40 000, so a
#: worker collects every few dozen plans and its memory stays bounded.
GARBAGE_LIMIT = 1_000_000

_warmed_up = False


def warm_up() -> None:
    """Import what every plan needs, then move it out of the cyclic collector's sight.

    The Pulumi and provider SDK imports leave about 200 000 long-lived objects; left in the
    collector's generations, every full collection during a plan walks all of them (a third
    of a warm plan's time). Frozen (`gc.freeze`), they are never walked again, and forked
    workers never touch their pages, so those stay shared with the parent. Once per
    process: what is alive at the first call is frozen for good, which is the imports in
    a CLI process and a bounded, one-time amount anywhere else.
    """
    global _warmed_up
    if _warmed_up:
        return
    import pulumi  # noqa: F401  # the SDK itself, before the provider modules that use it

    for name in PROVIDER_MODULES:
        parts = name.split(".")
        for depth in range(2, len(parts) + 1):  # `helm.v3` is lazy inside lazy `helm`
            module = importlib.import_module(".".join(parts[:depth]))
            # Any attribute other than module metadata makes a lazy module load for real.
            getattr(module, "__mlplat_warm_up__", None)
    _recording_monitor_class()
    gc.collect()
    gc.freeze()
    _warmed_up = True


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic cyclic collections while a plan runs; the plan's garbage afterwards.

    A plan builds a large graph of live objects (resources, outputs, futures) and the
    automatic collector would walk it again and again while it grows, only to find most
    of it alive. One collection once the plan is over frees the same garbage. A process
    that had the collector on gets it back, so the garbage is freed at its next
    allocation; a worker that runs with it off (see `api.plan_requests`) collects once
    `GARBAGE_LIMIT` objects have piled up instead: memory stays bounded either way.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        elif gc.get_count()[0] > GARBAGE_LIMIT:
            gc.collect()


class ProgramError(RuntimeError):
    """The Pulumi program raised while planning `stack`.

    Both values travel in `args`, so the error survives the trip back from a worker
    process."""

    def __init__(self, message: str, stack: str = "") -> None:
        super().__init__(message, stack)
        self.message = message
        self.stack = stack

    def __str__(self) -> str:
        return self.message


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each submitted call at once on the calling thread.

    The SDK hands every monitor call to the event loop's default executor because a
    real monitor is a blocking gRPC stub. The recording monitor answers from memory, so
    a thread hop per registration only adds hand-off latency and GIL contention
    (asyncio accepts nothing but a ThreadPoolExecutor as the default, hence the base).
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1)

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine, as a thread would
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def _without_source_positions() -> Iterator[None]:
    """Skip the SDK's per-registration stack walk while planning.

    The SDK attaches the caller's stack to each registration for the engine's error
    messages; a plan records none of it, and the walk is about a sixth of plan time. If
    a future SDK drops the private hook, plans are just slower, never different.
    """
    from pulumi.runtime import resource as sdk_resource

    original = getattr(sdk_resource, "_get_stack_trace", None)
    if original is None:
        yield
        return
    from pulumi.runtime.proto import source_pb2

    sdk_resource._get_stack_trace = source_pb2.StackTrace  # an empty trace
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = original


def _provider_urn(reference: str) -> str | None:
    """Provider references are `urn::id`; keep the URN."""
    if not reference:
        return None
    return reference.rsplit("::", 1)[0]


def _options(request: Any) -> dict[str, Any]:
    """Resource options worth showing to a reviewer, only when they differ from defaults."""
    options: dict[str, Any] = {}
    if getattr(request, "protect", False):
        options["protect"] = True
    if getattr(request, "retainOnDelete", False):
        options["retain_on_delete"] = True
    if request.deleteBeforeReplace:
        options["delete_before_replace"] = True
    for key, field_name in (("ignore_changes", "ignoreChanges"),
                            ("replace_on_changes", "replaceOnChanges"),
                            ("additional_secret_outputs", "additionalSecretOutputs")):
        values = sorted(getattr(request, field_name))
        if values:
            options[key] = values
    if request.importId:
        options["import_id"] = request.importId
    return options


@functools.cache
def _recording_monitor_class() -> type:
    from google.protobuf import empty_pb2, json_format
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, _resolve_callbacks
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.sync_await import _ensure_event_loop

    class RecordingMonitor(MockMonitor):
        """A MockMonitor that also records each registration as a ResourceRecord."""

        def __init__(self, mocks: DeterministicMocks) -> None:
            super().__init__(mocks)
            self.records: list[ResourceRecord] = []
            self.stack_urn: str | None = None
            self.stack_outputs: dict[str, Any] = {}
            #: Read once per plan (shortcuts.installed reads it once too).
            self.shortcuts = shortcuts.enabled()

        def RegisterResource(self, request: Any) -> Any:
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = urn
                return resource_pb2.RegisterResourceResponse(urn=urn)

            _ensure_event_loop()  # type: ignore[no-untyped-call]  # untyped in the SDK
            # The record gets the wire JSON (which still carries secret and resource-reference
            # signatures); the mocks get Python values, which are that same JSON unless it
            # holds a signature (shortcuts.plain_inputs).
            wire = json_format.MessageToDict(request.object)
            inputs = shortcuts.plain_inputs(wire) if self.shortcuts else None
            if inputs is None:
                inputs = rpc.deserialize_properties(request.object)
            rename = not request.type.startswith("kubernetes:")
            if request.type.startswith("pulumi:providers:"):
                wire = _decode_provider_config(wire)
            providers = {request.provider} | set(request.providers.values())
            self.records.append(ResourceRecord(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                provider=_provider_urn(request.provider),
                inputs=normalise(wire, rename=rename),
                dependencies=sorted(set(request.dependencies)),
                options={**_options(request), **(
                    {"providers": sorted(filter(None, map(_provider_urn, providers)))}
                    if not request.custom and request.providers else {})},
            ))

            resource_args = MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
                transforms=_resolve_callbacks(request.transforms),
            )
            mock_id, state = self.mocks.new_resource(resource_args)
            resource_id = mock_id or ""
            # The engine would mark these outputs secret; the stock mocks do not, which
            # would let a generated password surface in plan outputs.
            for key in request.additionalSecretOutputs:
                if key in state and not rpc.is_rpc_secret(state[key]):
                    state[key] = rpc.wrap_rpc_secret(state[key])
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
            response = (shortcuts.registered(urn, resource_id, state)
                        if self.shortcuts else None)
            if response is not None:
                return response
            state_proto = _state_struct(state)
            if state_proto is None:
                state_proto = _completed(rpc.serialize_properties(state, {}))
            return resource_pb2.RegisterResourceResponse(
                urn=urn, id=resource_id, object=state_proto)

        def ReadResource(self, request: Any) -> Any:
            """A read of an existing resource (a `StackReference`): recorded with option
            `read` (it creates nothing), answered by the mocks like a registration."""
            _ensure_event_loop()  # type: ignore[no-untyped-call]  # untyped in the SDK
            urn = self.make_urn(request.parent, request.type, request.name)
            inputs = rpc.deserialize_properties(request.properties)
            self.records.append(ResourceRecord(
                urn=urn, type=request.type, name=request.name, custom=True,
                parent=request.parent or None, provider=_provider_urn(request.provider),
                inputs=normalise({"name": request.id}, rename=False),
                dependencies=sorted(set(request.dependencies)),
                options={"read": True},
            ))
            resource_id, state = self.mocks.new_resource(MockResourceArgs(
                typ=request.type, name=request.name, inputs=inputs,
                provider=request.provider, resource_id=request.id))
            state_proto = _state_struct(state)
            if state_proto is None:
                state_proto = _completed(rpc.serialize_properties(state, {}))
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id or "", state)
            return resource_pb2.ReadResourceResponse(urn=urn, properties=state_proto)

        def RegisterResourceOutputs(self, request: Any) -> Any:
            if request.urn and request.urn == self.stack_urn:
                wire = json_format.MessageToDict(request.outputs)
                self.stack_outputs = normalise(wire, rename=False)
            return empty_pb2.Empty()

    return RecordingMonitor


_JSON_SCALARS = (str, bool, int, float, type(None))


def _is_json(value: Any) -> bool:
    """Only dicts with string keys, lists and scalars, of exactly those types (an enum
    is a `str` subclass, a resource or an output is none of them)."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return True
    if kind is dict:
        return all(type(key) is str and _is_json(item) for key, item in value.items())
    if kind is list:
        return all(_is_json(item) for item in value)
    return False


def _state_struct(state: dict[str, Any]) -> Any:
    """The wire struct of mock outputs that are plain JSON, or None for the SDK to build.

    What the SDK's `serialize_properties` does with such values, without its per-value
    coroutines (about a twentieth of a plan): top-level keys whose value is None are
    left out, everything else is copied as is."""
    if not _is_json(state):
        return None
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update({key: value for key, value in state.items() if value is not None})
    return struct


def _completed(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never has to wait, without an event loop.

    The mock outputs are plain values, so serialising them awaits nothing pending. The
    stock MockMonitor runs the event loop re-entrantly here instead (`_sync_await`); with
    the inline executor every sibling that is ready at that moment registers inside that
    nested loop, and those nest again, until about 80 siblings exceed the recursion
    limit. Finishing the coroutine in place keeps the stack flat.
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise RuntimeError("serialising mock outputs had to wait: an output holds an unresolved "
                       "value, which the offline engine does not produce")


def _decode_provider_config(wire: dict[str, Any]) -> dict[str, Any]:
    """Provider inputs travel as strings, structured ones JSON-encoded (`defaultTags`);
    decode those so reviewers and rules see structure, not a string."""
    decoded: dict[str, Any] = {}
    for key, value in wire.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        decoded[key] = value
    return decoded


def pulumi_config_values(config: dict[str, Any]) -> dict[str, str]:
    """Stack-file config values as the Pulumi runtime hands them to a program: strings,
    with structured values JSON-encoded."""
    return {key: value if isinstance(value, str) else json.dumps(value)
            for key, value in config.items()}


def run_program(
    *,
    stack: str,
    config: dict[str, Any],
    secret_keys: list[str] | None = None,
    source: str = "",
    program_dir: Path = PROGRAM_DIR,
    references: Mapping[str, Mapping[str, Any]] | None = None,
    stack_dir: Path | None = None,
) -> Plan:
    """Run the Pulumi program in `program_dir` for `stack` with `config` (namespaced keys,
    native values) under the mock runtime, and return the recorded Plan.

    `references`: the exports of each stack a `StackReference` of the program names (by
    the name it is given, secret exports carrying the plan's secret marker); `stack_dir`:
    where the program reads referenced stack files (mlplat.stackrefs.STACK_DIR)."""
    region = str(config.get("aws:region", "us-east-1"))
    warm_up()
    with _RUN_LOCK, _collector_paused():
        context = contextvars.Context()
        if stack_dir is not None:
            from mlplat.stackrefs import STACK_DIR

            context.run(STACK_DIR.set, stack_dir)
        return context.run(
            _run_in_context, stack, config, secret_keys or [], source, region, program_dir,
            references or {},
        )


def _run_in_context(
    stack: str,
    config: dict[str, Any],
    secret_keys: list[str],
    source: str,
    region: str,
    program_dir: Path,
    references: Mapping[str, Mapping[str, Any]],
) -> Plan:
    import pulumi
    from pulumi.runtime.settings import SETTINGS
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

    from mlplat.plan.mocks import DeterministicMocks

    mocks = DeterministicMocks(region=region, references=references)
    monitor = _recording_monitor_class()(mocks)
    pulumi.runtime.set_all_config(pulumi_config_values(config), secret_keys)
    pulumi.runtime.settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()

    main = program_dir / "__main__.py"
    added_path = str(program_dir) not in sys.path
    if added_path:
        sys.path.insert(0, str(program_dir))

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    loop = _ensure_event_loop()  # type: ignore[no-untyped-call]  # untyped in the SDK
    loop.set_default_executor(_InlineExecutor())
    with _without_source_positions(), shortcuts.installed(loop):
        try:
            _sync_await(run_pulumi_func(program))
        except Exception as exc:
            raise ProgramError(_describe_failure(exc), stack) from exc
        finally:
            if added_path:
                sys.path.remove(str(program_dir))
        root = pulumi.runtime.settings.get_root_resource()
        if root is not None:
            # set_mocks finishes the root stack before the program runs, so its exports
            # were never registered; register them now that the program has added them.
            root._outputs_registered = False  # type: ignore[attr-defined]
            root._finish()  # type: ignore[attr-defined]
            _sync_await(run_pulumi_func(lambda: None))
    return Plan(
        project=PROJECT,
        stack=stack,
        source=source,
        resources=list(monitor.records),
        outputs=dict(monitor.stack_outputs),
    )


def _describe_failure(exc: BaseException) -> str:
    import pulumi

    if isinstance(exc, pulumi.RunError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
