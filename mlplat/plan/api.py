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
import gc
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplat.config import ConfigError, EnvironmentConfig, environment_from_stack_config
from mlplat.config.org import check_guardrails
from mlplat.plan.engine import PROGRAM_DIR, ProgramError, run_program, warm_up
from mlplat.plan.model import Plan
from mlplat.stackfile import (
    DEFAULT_NAMESPACES,
    STACK_DIR,
    available_stacks,
    display_path,
    read_stack,
    stack_file,
)


@dataclass(frozen=True)
class PlanRequest:
    """One validated program run: the stack name, its namespaced config and the program."""

    stack: str
    config: dict[str, Any]
    secret_keys: tuple[str, ...] = field(default=())
    source: str = ""
    program_dir: Path = PROGRAM_DIR


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


def _validated_stack(stack: str, stack_dir: Path, namespaces: tuple[str, ...]
                     ) -> tuple[PlanRequest, EnvironmentConfig]:
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
    request = PlanRequest(stack=stack, config=config, secret_keys=tuple(secrets), source=shown)
    return request, environment


def environment_request(config: EnvironmentConfig, stack: str = "test") -> PlanRequest:
    """A request for an environment built in memory (tests, benchmarks, templates)."""
    return PlanRequest(stack=stack, config=stack_config_of(config), source="<memory>")


def default_jobs() -> int:
    """One worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def plan_requests(requests: Sequence[PlanRequest], jobs: int = 1) -> list[Plan]:
    """Plan every request, in order. `jobs` > 1 spreads them over forked workers.

    Raises ProgramError for the first failing request (in request order when planned
    in-process; the first to fail when planned by workers)."""
    if not requests:
        return []
    workers = min(jobs, len(requests))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return list(map(_plan, requests))
    warm_up()
    context = multiprocessing.get_context("fork")
    try:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                    initializer=_start_worker) as pool:
            # One request per hand-out: plans differ in size, and a worker that drew a
            # batch of large ones would finish last while the others sit idle.
            return list(pool.map(_plan, requests, chunksize=1))
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


def _plan(request: PlanRequest) -> Plan:
    return run_program(stack=request.stack, config=request.config,
                       secret_keys=list(request.secret_keys), source=request.source,
                       program_dir=request.program_dir)


def plan_stack(stack: str, stack_dir: Path = STACK_DIR) -> Plan:
    """Validate `stacks/Pulumi.<stack>.yaml` and plan it. Raises ConfigError on bad config
    (message names the file and field) and ProgramError if the program fails."""
    return _plan(stack_request(stack, stack_dir))


def plan_environment(config: EnvironmentConfig, stack: str = "test") -> Plan:
    """Plan an environment built in memory (tests, benchmarks, templates)."""
    return _plan(environment_request(config, stack))


def stack_config_of(config: EnvironmentConfig) -> dict[str, Any]:
    """The namespaced stack config that parses back into `config`."""
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    region = data.pop("region", None)  # absent on substrate onprem
    namespaced = {f"mlplat:{key}": value for key, value in data.items()}
    return namespaced if region is None else {"aws:region": region, **namespaced}
