"""Entry points: plan stack files or in-memory environment configs, one or many.

Many plans run across processes: the Pulumi SDK's per-resource work is pure Python and
holds the GIL, so threads would not help. The parent warms up once (imports the SDKs and
the provider modules the components use, then freezes them out of the garbage
collector's sight, `engine.warm_up`) and forks workers that inherit the warm interpreter
and plan one request at a time. Results come back in the order requested, so output does
not depend on `jobs`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import gc
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from mlplat.config import ConfigError, EnvironmentConfig, environment_from_stack_config
from mlplat.config.org import check_guardrails
from mlplat.core.paths import PROGRAM_DIR
from mlplat.plan.engine import ProgramError, run_program, warm_up
from mlplat.plan.model import Plan
from mlplat.stackfile import (
    DEFAULT_NAMESPACES,
    STACK_DIR,
    available_stacks,
    display_path,
    read_stack,
    stack_file,
)
from mlplat.stackrefs import load_platform, platform_stack
from mlplat.templates import Template

T = TypeVar("T")


@dataclass(frozen=True)
class PlanRequest:
    """One validated program run: the stack name, its namespaced config and the program."""

    stack: str
    config: dict[str, Any]
    secret_keys: tuple[str, ...] = field(default=())
    source: str = ""
    program_dir: Path = PROGRAM_DIR
    stack_dir: Path = STACK_DIR
    """Where the program reads the stack files it references."""
    upstream: tuple[tuple[str, PlanRequest], ...] = field(default=())
    """The stacks this one references (ADR 0008): the name its StackReference gives, and
    the referenced stack's own request. They are planned first."""
    references: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The exports of each upstream stack, by reference name; filled in once they are
    planned (`plan_in_order`)."""


def stack_request(stack: str, stack_dir: Path = STACK_DIR, *,
                  namespaces: tuple[str, ...] = DEFAULT_NAMESPACES) -> PlanRequest:
    """Validate `stacks/Pulumi.<stack>.yaml`; raises ConfigError naming the file and field.

    `namespaces`: the config namespaces the program reads (a program with its own
    `pulumi.Config("app")` adds "app"); keys in any other are refused as typos."""
    return _validated_stack(stack, stack_dir, namespaces)[0]


def validate_stack(stack: str, stack_dir: Path = STACK_DIR, *,
                   namespaces: tuple[str, ...] = DEFAULT_NAMESPACES) -> EnvironmentConfig:
    """Read and validate `stacks/Pulumi.<stack>.yaml` without planning it."""
    return _validated_stack(stack, stack_dir, namespaces)[1]


def _validated_stack(stack: str, stack_dir: Path, namespaces: tuple[str, ...],
                     chain: tuple[str, ...] = ()) -> tuple[PlanRequest, EnvironmentConfig]:
    path = stack_file(stack, stack_dir)
    shown = display_path(path)
    if not path.exists():
        known = ", ".join(available_stacks(stack_dir)) or "none"
        raise ConfigError(f"{shown}: no such stack file (unknown stack {stack!r}; "
                          f"known stacks: {known})")
    config, secrets = read_stack(path, namespaces)
    # Validate first: errors name the file and field, not a line of the program.
    environment = environment_from_stack_config(config, shown)
    # The organisation's guardrails hold for hand-written stack files too (stacks/org.yaml).
    check_guardrails(environment, shown, stack_dir)
    request = PlanRequest(stack=stack, config=config, secret_keys=tuple(secrets), source=shown,
                          stack_dir=stack_dir,
                          upstream=_upstream(environment, shown, stack_dir, namespaces,
                                             (*chain, stack)))
    return request, environment


def _upstream(environment: EnvironmentConfig, source: str, stack_dir: Path,
              namespaces: tuple[str, ...], chain: tuple[str, ...]
              ) -> tuple[tuple[str, PlanRequest], ...]:
    """The requests of the stacks `environment` references, validated (with the rules
    between the two stacks); a reference back into `chain` is a cycle."""
    platform = platform_stack(environment, source)
    if platform is None:
        return ()
    if platform in chain:
        cycle = " -> ".join((*chain, platform))
        raise ConfigError(f"{source}: mlplat:cluster.platformStack: stack references form a "
                          f"cycle: {cycle}")
    load_platform(environment, source, stack_dir)
    reference = environment.cluster.platform_stack
    assert reference is not None
    return ((reference, _validated_stack(platform, stack_dir, namespaces, chain)[0]),)


def environment_request(config: EnvironmentConfig, stack: str = "test",
                        stack_dir: Path = STACK_DIR) -> PlanRequest:
    """A request for an environment built in memory (tests, benchmarks, templates). A
    shared-mode one references a platform stack file in `stack_dir`."""
    return PlanRequest(stack=stack, config=stack_config_of(config), source="<memory>",
                       stack_dir=stack_dir,
                       upstream=_upstream(config, "<memory>", stack_dir, DEFAULT_NAMESPACES,
                                          (stack,)))


#: A template planned as it ships is the stack `template-<name>`.
TEMPLATE_STACK_PREFIX = "template-"


def template_request(template: Template, values: Mapping[str, str] | None = None,
                     stack_dir: Path = STACK_DIR) -> PlanRequest:
    """A request for `template` rendered with `values` (default: its examples and
    defaults, as `mlplat plan --all` plans it), validated; errors name the template."""
    config = template.render(template.example_values() if values is None else values)
    source = f"{template.source} (rendered)"
    stack = f"{TEMPLATE_STACK_PREFIX}{template.name}"
    environment = environment_from_stack_config(config, source)
    return PlanRequest(stack=stack, config=config, source=source, stack_dir=stack_dir,
                       upstream=_upstream(environment, source, stack_dir, DEFAULT_NAMESPACES,
                                          (stack,)))


def in_dependency_order(requests: Sequence[PlanRequest]) -> list[list[PlanRequest]]:
    """`requests` and every stack they reference, in waves: each wave references only
    stacks of earlier waves (platforms before their tenants). Within a wave, the order
    given, a referenced stack not asked for where it was first referenced."""
    everything: dict[str, PlanRequest] = {}

    def add(request: PlanRequest) -> None:
        if request.stack not in everything:
            everything[request.stack] = request
        for _, upstream in request.upstream:
            add(upstream)

    for request in requests:
        add(request)
    waves: list[list[PlanRequest]] = []
    placed: set[str] = set()
    while len(placed) < len(everything):
        wave = [r for name, r in everything.items() if name not in placed
                and all(u.stack in placed for _, u in r.upstream)]
        if not wave:  # validation refuses cycles; this guards requests built by hand
            left = ", ".join(sorted(set(everything) - placed))
            raise ConfigError(f"stack references form a cycle among: {left}")
        waves.append(wave)
        placed.update(r.stack for r in wave)
    return waves


def plan_in_order(requests: Sequence[PlanRequest],
                  plan_wave: Callable[[list[PlanRequest]], list[T]],
                  plan_of: Callable[[T], Plan]) -> list[T]:
    """Plan `requests` (and the stacks they reference) wave by wave with `plan_wave`,
    handing each stack the exports of the stacks it references; results of `requests`,
    in order."""
    done: dict[str, T] = {}
    for wave in in_dependency_order(requests):
        ready = [replace(r, references={name: plan_of(done[u.stack]).outputs
                                        for name, u in r.upstream}) for r in wave]
        done.update(zip((r.stack for r in ready), plan_wave(ready), strict=True))
    return [done[request.stack] for request in requests]


def default_jobs() -> int:
    """One worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def plan_requests(requests: Sequence[PlanRequest], jobs: int = 1, *,
                  keep: Callable[[PlanRequest, Plan], None] | None = None) -> list[Plan]:
    """Plan every request, in order, and first the stacks they reference. `jobs` > 1
    spreads each wave (`in_dependency_order`) over forked workers.

    `keep(request, plan)` runs where the plan was made, as soon as it is made (the plan
    cache stores it there: encoding fifty plans one after another in the parent would
    leave the workers idle for seconds). It must be picklable for workers.

    Raises ProgramError for the first failing request (in request order when planned
    in-process; the first to fail when planned by workers)."""
    return plan_in_order(requests, lambda wave: _plan_wave(wave, jobs, keep),
                         lambda plan: plan)


def _plan_wave(requests: Sequence[PlanRequest], jobs: int,
               keep: Callable[[PlanRequest, Plan], None] | None = None) -> list[Plan]:
    """Plan requests that reference nothing unplanned, in order."""
    if not requests:
        return []
    plan = functools.partial(_plan_and_keep, keep) if keep is not None else _plan
    workers = min(jobs, len(requests))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return list(map(plan, requests))
    warm_up()
    context = multiprocessing.get_context("fork")
    try:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                    initializer=_start_worker) as pool:
            # One request per hand-out: plans differ in size, and a worker that drew a
            # batch of large ones would finish last while the others sit idle.
            return list(pool.map(plan, requests, chunksize=1))
    except concurrent.futures.process.BrokenProcessPool as exc:
        stacks = ", ".join(request.stack for request in requests)
        raise ProgramError(f"a planning worker process died ({exc}); one of these stacks "
                           f"killed it: {stacks}. Plan them with jobs=1 (-j 1) to see "
                           "which.") from exc


def _start_worker() -> None:
    """Set up a forked worker.

    Its own event loop: the inherited one shares its epoll instance and wake-up socket
    with the parent and every sibling. The automatic cyclic collector off: a worker lives
    only as long as one batch of plans, and `engine.run_program` collects once garbage
    has piled up (`engine.GARBAGE_LIMIT`), which bounds its memory without the collector
    walking every plan's live graph over and over."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    gc.disable()


def _plan_and_keep(keep: Callable[[PlanRequest, Plan], None], request: PlanRequest) -> Plan:
    plan = _plan(request)
    keep(request, plan)
    return plan


def _plan(request: PlanRequest) -> Plan:
    return run_program(stack=request.stack, config=request.config,
                       secret_keys=list(request.secret_keys), source=request.source,
                       program_dir=request.program_dir, references=request.references,
                       stack_dir=request.stack_dir)


def plan_stack(stack: str, stack_dir: Path = STACK_DIR) -> Plan:
    """Validate `stacks/Pulumi.<stack>.yaml` and plan it (after the stacks it references).
    Raises ConfigError on bad config (message names the file and field) and ProgramError
    if the program fails."""
    return plan_requests([stack_request(stack, stack_dir)])[0]


def plan_environment(config: EnvironmentConfig, stack: str = "test",
                     stack_dir: Path = STACK_DIR) -> Plan:
    """Plan an environment built in memory (tests, benchmarks, templates)."""
    return plan_requests([environment_request(config, stack, stack_dir)])[0]


def stack_config_of(config: EnvironmentConfig) -> dict[str, Any]:
    """The namespaced stack config that parses back into `config`."""
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    region = data.pop("region", None)  # absent on substrate onprem
    namespaced = {f"mlplat:{key}": value for key, value in data.items()}
    return namespaced if region is None else {"aws:region": region, **namespaced}
