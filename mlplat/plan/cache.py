"""A local cache of plans: a stack whose inputs did not change is not planned again.

A plan is a pure function of its inputs: the stack's config (as validated, which is what
the program reads), the program, every source file the program can reach (components,
mlplat, mlplat's data files), the installed SDK and provider versions and the Python
version. The cache key is a hash of all of them, so any change to any of them plans
afresh; nothing is ever invalidated by time.

Entries live in `.mlplat-cache/plans/` at the repository root (git-ignored), or in
`$MLPLAT_CACHE_DIR`. Each is written atomically; an entry that cannot be read, is not
ours, does not describe its key or whose body does not match its digest is ignored and
replaced, never an error. The cache is read without importing the Pulumi SDK.

An entry is two lines: a header (format, key, stack, the count of managed resources and
the SHA-256 of the second line) and the plan (`Plan.to_json`, compact). Reading an entry
checks the header and the digest; the plan itself is parsed only when a caller first
asks for it (`Planned.plan`), so `mlplat plan --all -q` over fifty cached stacks parses
fifty small headers, not fifty 500 KB plans.
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
from typing import TYPE_CHECKING, Final

from mlplat.core.files import write_atomically
from mlplat.core.paths import PROGRAM_DIR, REPO_ROOT
from mlplat.plan.model import Plan

if TYPE_CHECKING:
    from mlplat.plan.api import PlanRequest

CACHE_DIR_ENV: Final = "MLPLAT_CACHE_DIR"
DEFAULT_CACHE_DIR: Final = REPO_ROOT / ".mlplat-cache" / "plans"
#: Bumped whenever what an entry holds, or what the key covers, changes.
ENTRY_FORMAT: Final = "mlplat.plan-cache/v2"
#: Bumped whenever what a validation memo holds, or what its name covers, changes.
MEMO_FORMAT: Final = "mlplat.validated-stacks/v1"
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


def validated_files(stack_dir: Path) -> list[Path]:
    """The files validation can read in `stack_dir`: its YAML files (stack files, org.yaml)
    and its templates'. Not the whole tree: a stack directory may be a checkout's root,
    with a virtualenv below it."""
    return sorted(path for directory in (stack_dir, stack_dir / "templates")
                  for pattern in ("*.yaml", "*.yml") for path in directory.glob(pattern)
                  if path.is_file())


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

    def _shared_inputs(self) -> str:
        if self._shared is None:
            self._shared = json.dumps({
                "format": ENTRY_FORMAT,
                "python": platform.python_version(),
                "implementation": platform.python_implementation(),
                "versions": {name: installed_version(name) for name in VERSIONED_DISTRIBUTIONS},
                "sources": _digest_files(source_files(self.source_roots)),
            }, sort_keys=True)
        return self._shared

    def key(self, request: PlanRequest) -> str:
        """The hash of every input of `request`'s plan."""
        material = json.dumps({
            "shared": self._shared_inputs(),
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

    def load(self, request: PlanRequest) -> Planned | None:
        """The cached plan of `request` (parsed when first used), or None when there is
        none to trust."""
        return self._load(self.key(request))

    def _load(self, key: str) -> Planned | None:
        try:
            header_line, _, body = self._entry(key).read_bytes().partition(b"\n")
            header = json.loads(header_line)
            if (header["format"] != ENTRY_FORMAT or header["key"] != key
                    or header["sha256"] != hashlib.sha256(body).hexdigest()):
                return None
            stack, managed = header["stack"], header["managed"]
            if type(stack) is not str or type(managed) is not int:
                return None
            return Planned(stack, managed, from_cache=True, _body=body)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
            return None  # missing, unreadable, truncated or foreign: plan afresh

    def store(self, request: PlanRequest, plan: Plan) -> None:
        """Keep `plan` for the next run. A cache that cannot be written only means the
        next run plans again, so failures are not errors."""
        key = self.key(request)
        body = json.dumps(plan.to_json(), separators=(",", ":"), ensure_ascii=False)
        header = json.dumps({"format": ENTRY_FORMAT, "key": key, "stack": plan.stack,
                             "managed": plan.managed_count,
                             "sha256": hashlib.sha256(body.encode()).hexdigest()})
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(self._entry(key), f"{header}\n{body}")
        except OSError:
            pass

    # -- validation memo: a run that changed nothing skips validation too (ADR 0030) ------

    def _memo_entry(self, names: Sequence[str], stack_dir: Path, templates: bool) -> Path:
        """Where the outcome of validating `names` in `stack_dir` is remembered, named by
        everything validation reads: every YAML file in the stack directory and its
        templates/ (stack files, org.yaml, templates, referenced platforms), the sources and
        versions plans share (the validators are in mlplat/), PyYAML's version, and how file
        names are shown (the directory as given and the working directory), plus the
        program, whose digest is part of each plan's key."""
        material = json.dumps({
            "format": MEMO_FORMAT,
            "shared": self._shared_inputs(),
            "pyyaml": installed_version("PyYAML"),
            "program": _digest_files(sorted(PROGRAM_DIR.glob("*.py"))),
            "stack_dir": str(stack_dir),
            "cwd": os.getcwd(),
            "stack_files": _digest_files(validated_files(stack_dir)),
            "names": list(names),
            "templates": templates,
        }, sort_keys=True)
        name = hashlib.sha256(material.encode()).hexdigest()
        return self.directory / "validated" / f"{name}.json"

    def remembered(self, names: Sequence[str], stack_dir: Path, *,
                   templates: bool) -> list[Planned] | None:
        """The plans of a run that validated `names` in `stack_dir` with every input
        unchanged, in that run's order; None unless every one of them is in the cache."""
        try:
            memo = json.loads(self._memo_entry(names, stack_dir, templates).read_bytes())
            if memo["format"] != MEMO_FORMAT:
                return None
            found = [self._load(key) for key in memo["keys"]]
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
            return None
        plans = [planned for planned in found if planned is not None]
        return plans if plans and len(plans) == len(found) else None

    def remember(self, names: Sequence[str], stack_dir: Path, *, templates: bool,
                 requests: Sequence[PlanRequest]) -> None:
        """Note that `names` in `stack_dir` validated to `requests` (planned and stored)."""
        entry = self._memo_entry(names, stack_dir, templates)
        document = {"format": MEMO_FORMAT, "keys": [self.key(r) for r in requests]}
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(entry, json.dumps(document))
        except OSError:
            pass


@dataclass
class Planned:
    """One stack's plan as `plan_with_cache` hands it back: made now, or read from the
    cache, in which case its records are parsed on first use of `plan`."""

    stack: str
    managed_count: int
    """Custom resources a deployment would create (`Plan.managed`)."""
    from_cache: bool
    _plan: Plan | None = field(default=None, repr=False)
    _body: bytes | None = field(default=None, repr=False)

    @classmethod
    def fresh(cls, plan: Plan) -> Planned:
        return cls(plan.stack, plan.managed_count, from_cache=False, _plan=plan)

    @property
    def plan(self) -> Plan:
        """The plan; an entry's body was checked against its digest when read, so this
        parses JSON this module wrote."""
        if self._plan is None:
            assert self._body is not None
            self._plan = Plan.from_json(json.loads(self._body))
            self._body = None
        return self._plan


def plan_with_cache(requests: Sequence[PlanRequest], jobs: int, cache: PlanCache,
                    *, refresh: bool = False) -> list[Planned]:
    """Each request's plan, in order, made now or read from `cache` (`Planned.from_cache`).

    Stacks a request references are planned (or read from the cache) first, wave by
    wave (`api.plan_in_order`); within a wave, requests without a usable entry (all of
    them with `refresh`) are planned together, in parallel, and stored. The SDK is
    imported only when something is planned."""
    from mlplat.plan.api import plan_in_order

    return plan_in_order(requests, lambda wave: _wave_with_cache(wave, jobs, cache, refresh),
                         lambda planned: planned.plan)


def _wave_with_cache(requests: Sequence[PlanRequest], jobs: int, cache: PlanCache,
                     refresh: bool) -> list[Planned]:
    found = [None if refresh else cache.load(request) for request in requests]
    missing = [request for request, planned in zip(requests, found, strict=True)
               if planned is None]
    fresh: Iterator[Plan] = iter(())
    if missing:
        from mlplat.plan.api import plan_requests

        fresh = iter(plan_requests(missing, jobs=jobs, keep=cache.store))
    return [planned if planned is not None else Planned.fresh(next(fresh))
            for planned in found]
