"""The plan cache: unchanged inputs reuse a plan, any changed input plans afresh."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mlplat.core.paths import REPO_ROOT, TESTS_DIR
from mlplat.plan import PlanRequest, stack_request
from mlplat.plan import api as plan_api
from mlplat.plan import cache as plan_cache
from mlplat.plan.cache import SOURCE_ROOTS, PlanCache, plan_with_cache, source_files

pytestmark = pytest.mark.unit

FIXTURE = TESTS_DIR / "fixtures" / "engine_program"
CONFIG = {"aws:region": "eu-west-1", "fixture:password": "not-a-real-one"}


@pytest.fixture()
def sources(tmp_path: Path) -> tuple[Path, Path]:
    """Stand-ins for components/ and mlplat/ (with a data file) that tests may edit."""
    components, mlplat = tmp_path / "src" / "components", tmp_path / "src" / "mlplat"
    (components / "aws").mkdir(parents=True)
    (components / "aws" / "network.py").write_text("CIDR = '10.0.0.0/16'\n")
    (mlplat / "data").mkdir(parents=True)
    (mlplat / "config.py").write_text("LIMIT = 8\n")
    (mlplat / "data" / "regions.yaml").write_text("eu-west-1: {azs: 3}\n")
    return components, mlplat


@pytest.fixture()
def program(tmp_path: Path) -> Path:
    """A copy of the engine's fixture program, to edit."""
    directory = tmp_path / "program"
    shutil.copytree(FIXTURE, directory)
    return directory


@pytest.fixture()
def cache(tmp_path: Path, sources: tuple[Path, Path]) -> PlanCache:
    return PlanCache(directory=tmp_path / "cache", source_roots=sources)


def fixture_request(program: Path, **changes: object) -> PlanRequest:
    request = PlanRequest(stack="t", config=dict(CONFIG), secret_keys=("fixture:password",),
                          source="fixture", program_dir=program)
    return dataclasses.replace(request, **changes)


def forbid_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("planned although the cache held the plan")

    monkeypatch.setattr(plan_api, "plan_requests", fail)


def test_unchanged_inputs_reuse_the_plan_byte_for_byte(cache, program, monkeypatch):
    request = fixture_request(program)
    (fresh,) = plan_with_cache([request], 1, cache)
    assert not fresh.from_cache
    forbid_planning(monkeypatch)
    (again,) = plan_with_cache([request], 1, cache)
    assert again.from_cache
    assert (again.stack, again.managed_count) == (fresh.stack, fresh.managed_count)
    assert again.plan.dumps() == fresh.plan.dumps()


def test_cached_demo_plan_is_identical_to_a_fresh_one(tmp_path: Path):
    cache = PlanCache(directory=tmp_path / "cache")
    request = stack_request("demo")
    (fresh,) = plan_with_cache([request], 1, cache)
    assert not fresh.from_cache
    reread = cache.load(request)
    assert reread is not None
    assert reread.managed_count == len(fresh.plan.managed()) > 200
    assert reread.plan.dumps() == fresh.plan.dumps()
    assert reread.plan == fresh.plan


def test_several_requests_plan_only_what_is_missing_and_keep_order(cache, program):
    first, second = fixture_request(program, stack="a"), fixture_request(program, stack="b")
    plan_with_cache([second], 1, cache)
    results = plan_with_cache([first, second], 1, cache)
    assert [(planned.stack, planned.from_cache) for planned in results] == [
        ("a", False), ("b", True)]


def edit(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


@pytest.mark.parametrize("change", [
    "stack config", "secret keys", "program", "component source", "mlplat source",
    "data file", "new source file", "provider version", "pydantic version", "python version",
])
def test_every_kind_of_input_change_plans_afresh(cache, sources, program, monkeypatch, change):
    request = fixture_request(program)
    plan_with_cache([request], 1, cache)
    assert cache.load(request) is not None
    components, mlplat = sources
    if change == "stack config":
        request = fixture_request(program, config={**CONFIG, "aws:region": "eu-west-2"})
    elif change == "secret keys":
        request = fixture_request(program, secret_keys=())
    elif change == "program":
        edit(program / "__main__.py", "\n# edited\n")
    elif change == "component source":
        edit(components / "aws" / "network.py", "CIDR = '10.1.0.0/16'\n")
    elif change == "mlplat source":
        edit(mlplat / "config.py", "LIMIT = 9\n")
    elif change == "data file":
        edit(mlplat / "data" / "regions.yaml", "eu-west-2: {azs: 3}\n")
    elif change == "new source file":
        (components / "aws" / "storage.py").write_text("")
    elif change in ("provider version", "pydantic version"):
        bumped = "pulumi-aws" if change == "provider version" else "pydantic"
        real = plan_cache.installed_version
        monkeypatch.setattr(plan_cache, "installed_version",
                            lambda name: real(name) + ".post1" if name == bumped else real(name))
    elif change == "python version":
        monkeypatch.setattr(plan_cache.platform, "python_version", lambda: "3.99.0")
    fresh_cache = PlanCache(directory=cache.directory, source_roots=cache.source_roots)
    assert fresh_cache.load(request) is None, f"a {change} change reused the old plan"
    (planned,) = plan_with_cache([request], 1, fresh_cache)
    assert not planned.from_cache


def test_the_default_key_covers_components_mlplat_and_its_data():
    covered = {path.relative_to(REPO_ROOT).as_posix() for path in source_files(SOURCE_ROOTS)}
    assert {"components/compositions/aws.py", "mlplat/plan/engine.py",
            "mlplat/config/environment.py", "mlplat/data/regions.yaml"} <= covered
    assert not any("__pycache__" in path for path in covered)


def test_refresh_plans_afresh_and_stores_the_new_plan(cache, program, monkeypatch):
    request = fixture_request(program)
    plan_with_cache([request], 1, cache)
    entry = cache.directory / f"{cache.key(request)}.json"
    plan_cache_entry_edit(entry, lambda body: body.replace('"eu-west-1a"', '"stale"'))
    assert "stale" in cache.load(request).plan.dumps()  # type: ignore[union-attr]
    (planned,) = plan_with_cache([request], 1, cache, refresh=True)
    assert not planned.from_cache and "stale" not in planned.plan.dumps()
    assert "stale" not in cache.load(request).plan.dumps()  # type: ignore[union-attr]


def plan_cache_entry_edit(entry: Path, change: Callable[[str], str]) -> None:
    """Change an entry's plan and give it the digest of the new plan, as a writer of the
    cache that is not mlplat (or a stale mlplat) could."""
    header, body = entry.read_text().split("\n", 1)
    body = change(body)
    fields = json.loads(header)
    fields["sha256"] = hashlib.sha256(body.encode()).hexdigest()
    entry.write_text(json.dumps(fields) + "\n" + body)


def header(**fields: object) -> str:
    return json.dumps({"format": "mlplat.plan-cache/v2", "key": "KEY", "stack": "t",
                       "managed": 1, "sha256": EMPTY_DIGEST, **fields}) + "\n"


EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("content", [
    "{not json", "", '{"format": "someone-else/v9", "key": "x", "plan": {}}',
    # the previous format: one JSON document
    '{"format": "mlplat.plan-cache/v1", "key": "KEY", "plan": {"format": "mlplat.plan/v1"}}',
    header(format="mlplat.plan-cache/v1"), header(key="another key"),
    header(sha256="0" * 64), header(managed="1"), header(stack=None),
    header() + "{}",  # a body that is not the one the digest names
    "\udcff",
])
def test_a_corrupt_or_foreign_entry_is_replaced_not_an_error(cache, program, content):
    request = fixture_request(program)
    key = cache.key(request)
    cache.directory.mkdir(parents=True)
    entry = cache.directory / f"{key}.json"
    entry.write_bytes(content.replace("KEY", key).encode("utf-8", "surrogateescape"))
    assert cache.load(request) is None
    (planned,) = plan_with_cache([request], 1, cache)
    assert not planned.from_cache
    assert json.loads(entry.read_text().split("\n", 1)[0])["key"] == key
    reread = cache.load(request)
    assert reread is not None and reread.plan.dumps() == planned.plan.dumps()


def test_a_cache_that_cannot_be_written_only_costs_a_fresh_plan(tmp_path, sources, program):
    (tmp_path / "blocked").write_text("a file where the cache directory would go")
    cache = PlanCache(directory=tmp_path / "blocked" / "plans", source_roots=sources)
    for _ in range(2):
        (planned,) = plan_with_cache([fixture_request(program)], 1, cache)
        assert not planned.from_cache


def test_cache_directory_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPLAT_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert PlanCache().directory == tmp_path / "elsewhere"
    monkeypatch.delenv("MLPLAT_CACHE_DIR")
    assert PlanCache().directory == REPO_ROOT / ".mlplat-cache" / "plans"


def test_an_entry_filed_under_another_key_is_not_trusted(cache, program):
    """A whole, valid entry of another stack under this stack's file name (a copied or
    renamed cache file) must not pass for this stack's plan."""
    other, request = fixture_request(program, stack="other"), fixture_request(program)
    plan_with_cache([other], 1, cache)
    cache.directory.joinpath(f"{cache.key(other)}.json").rename(
        cache.directory / f"{cache.key(request)}.json")
    assert cache.load(request) is None
    (planned,) = plan_with_cache([request], 1, cache)
    assert not planned.from_cache and planned.plan.stack == "t"
