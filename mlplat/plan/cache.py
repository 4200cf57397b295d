"""A local cache of plans: a stack whose inputs did not change is not planned again.

A plan is a pure function of its inputs: the stack's config (as validated, which is what
the program reads), the program, every source file the program can reach (components,
mlplat, mlplat's data files), the installed SDK and provider versions and the Python
version. The cache key is a hash of all of them, so any change to any of them plans
afresh; nothing is ever invalidated by time.

Entries live in `.mlplat-cache/plans/` at the repository root (git-ignored), or in
`$MLPLAT_CACHE_DIR`. Each is written atomically; an entry that cannot be read, is not
ours or does not describe its key is ignored and replaced, never an error. The cache is
read without importing the Pulumi SDK, so a fully cached run costs what validation costs.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from mlplat.core.files import write_atomically
from mlplat.core.paths import REPO_ROOT
from mlplat.plan.model import Plan

if TYPE_CHECKING:
    from mlplat.plan.api import PlanRequest

CACHE_DIR_ENV: Final = "MLPLAT_CACHE_DIR"
DEFAULT_CACHE_DIR: Final = REPO_ROOT / ".mlplat-cache" / "plans"
#: Bumped whenever what an entry holds, or what the key covers, changes.
ENTRY_FORMAT: Final = "mlplat.plan-cache/v1"
#: Installed distributions whose code runs while planning.
VERSIONED_DISTRIBUTIONS: Final = ("pulumi", "pulumi-aws", "pulumi-kubernetes",
                                  "pulumi-random", "pydantic")
#: Source trees a program can reach: every file in them (code, data, templates).
SOURCE_ROOTS: Final = (REPO_ROOT / "components", REPO_ROOT / "mlplat")


def cache_dir() -> Path:
    """Where plans are cached: `$MLPLAT_CACHE_DIR` if set, else the repository's."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured) if configured else DEFAULT_CACHE_DIR


def installed_version(distribution: str) -> str:
    """The installed version of `distribution`, or "absent"."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def source_files(roots: Iterable[Path]) -> Iterator[Path]:
    """Every file under `roots` a plan can depend on, in a stable order (byte-compiled
    caches are derived from the sources, so they are left out)."""
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def _digest_files(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass
class PlanCache:
    """Plans stored by the hash of everything they depend on."""

    directory: Path = field(default_factory=cache_dir)
    source_roots: Sequence[Path] = SOURCE_ROOTS
    #: Hashed once per cache object: the sources and versions every plan shares.
    _shared: str | None = field(default=None, init=False, repr=False)

    def key(self, request: PlanRequest) -> str:
        """The hash of every input of `request`'s plan."""
        if self._shared is None:
            self._shared = json.dumps({
                "format": ENTRY_FORMAT,
                "python": platform.python_version(),
                "implementation": platform.python_implementation(),
                "versions": {name: installed_version(name) for name in VERSIONED_DISTRIBUTIONS},
                "sources": _digest_files(source_files(self.source_roots)),
            }, sort_keys=True)
        material = json.dumps({
            "shared": self._shared,
            "program": _digest_files(sorted(request.program_dir.glob("*.py"))),
            "stack": request.stack,
            "source": request.source,
            "config": request.config,
            "secret_keys": sorted(request.secret_keys),
            # A referenced stack's inputs decide the exports this plan reads (ADR 0008).
            "upstream": {name: self.key(upstream) for name, upstream in request.upstream},
        }, sort_keys=True, default=str)  # YAML dates and the like: their text is their value
        return hashlib.sha256(material.encode()).hexdigest()

    def _entry(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, request: PlanRequest) -> Plan | None:
        """The cached plan of `request`, or None when there is none to trust."""
        key = self.key(request)
        try:
            document = json.loads(self._entry(key).read_text(encoding="utf-8"))
            if document["format"] != ENTRY_FORMAT or document["key"] != key:
                return None
            return Plan.from_json(document["plan"])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
            return None  # missing, unreadable, truncated or foreign: plan afresh

    def store(self, request: PlanRequest, plan: Plan) -> None:
        """Keep `plan` for the next run. A cache that cannot be written only means the
        next run plans again, so failures are not errors."""
        key = self.key(request)
        document: dict[str, Any] = {"format": ENTRY_FORMAT, "key": key, "plan": plan.to_json()}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(self._entry(key), json.dumps(document, separators=(",", ":"),
                                                          ensure_ascii=False))
        except OSError:
            pass


def plan_with_cache(requests: Sequence[PlanRequest], jobs: int, cache: PlanCache,
                    *, refresh: bool = False) -> list[tuple[Plan, bool]]:
    """Each request's plan, in order, and whether it came from `cache`.

    Stacks a request references are planned (or read from the cache) first, wave by
    wave (`api.plan_in_order`); within a wave, requests without a usable entry (all of
    them with `refresh`) are planned together, in parallel, and stored. The SDK is
    imported only when something is planned."""
    from mlplat.plan.api import plan_in_order

    return plan_in_order(requests, lambda wave: _wave_with_cache(wave, jobs, cache, refresh),
                         lambda result: result[0])


def _wave_with_cache(requests: Sequence[PlanRequest], jobs: int, cache: PlanCache,
                     refresh: bool) -> list[tuple[Plan, bool]]:
    found = [None if refresh else cache.load(request) for request in requests]
    missing = [request for request, plan in zip(requests, found, strict=True) if plan is None]
    fresh: Iterator[Plan] = iter(())
    if missing:
        from mlplat.plan.api import plan_requests

        fresh = iter(plan_requests(missing, jobs=jobs, keep=cache.store))
    return [(plan, True) if plan is not None else (next(fresh), False) for plan in found]
