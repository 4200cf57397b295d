"""`mlplat plan` as a user runs it: a subprocess, real exit codes, real files."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlplat.core.paths import REPO_ROOT

pytestmark = pytest.mark.cli

MLPLAT = [sys.executable, "-m", "mlplat.cli"]
CIPHERTEXT = "v1:c2VjcmV0LWNpcGhlcnRleHQtbmV2ZXItcHJpbnRlZA=="


def clean_env() -> dict[str, str]:
    """No cloud credentials, no pulumi on PATH, no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PULUMI_"))}
    env["AWS_CONFIG_FILE"] = "/nonexistent/aws-config"
    env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/aws-credentials"
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep)
        if p and not (Path(p) / "pulumi").exists())
    env["COLUMNS"] = "200"
    return env


def run(*args: str, prefix: tuple[str, ...] = (), cwd: Path = REPO_ROOT):
    return subprocess.run([*prefix, *MLPLAT, *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=300, check=False)


def planned_count(stdout: str) -> int:
    match = re.search(r"Plan: (\d+) resources to create", stdout)
    assert match, stdout[-2000:]
    return int(match.group(1))


@pytest.fixture(autouse=True)
def private_plan_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own plan cache (run() passes the environment on), never the repo's."""
    directory = tmp_path / "plan-cache"
    monkeypatch.setenv("MLPLAT_CACHE_DIR", str(directory))
    return directory


@pytest.fixture()
def stack_dir(tmp_path: Path) -> Path:
    """A copy of the demo stack in a scratch stack directory, to break on purpose."""
    shutil.copy(REPO_ROOT / "stacks" / "Pulumi.demo.yaml", tmp_path / "Pulumi.demo.yaml")
    return tmp_path


def edit_demo(stack_dir: Path, change) -> None:
    path = stack_dir / "Pulumi.demo.yaml"
    document = yaml.safe_load(path.read_text())
    change(document["config"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def assert_bad_input(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_plan_demo_prints_tree_and_counts():
    result = run("plan", "demo")
    assert result.returncode == 0, result.stderr
    assert planned_count(result.stdout) > 60
    assert "mlplat:compositions/aws:TeamEnvironment" in result.stdout
    assert "aws:eks/cluster:Cluster" in result.stdout
    assert "Resources by type" in result.stdout


def test_plan_json_is_identical_across_runs(tmp_path: Path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert run("plan", "demo", "--json", str(first), "-q").returncode == 0
    assert run("plan", "demo", "--json", str(second), "-q", "--no-cache").returncode == 0
    assert first.read_bytes() == second.read_bytes()
    document = json.loads(first.read_text())
    assert document["stack"] == "demo"
    assert document["source"] == "stacks/Pulumi.demo.yaml"
    assert document["summary"]["resources"] > 60


def fake_pulumi(directory: Path) -> tuple[str, Path]:
    """A `pulumi` on PATH that records being run: the plan must never call it."""
    marker = directory / "pulumi-was-run"
    binary = directory / "bin" / "pulumi"
    binary.parent.mkdir()
    binary.write_text(f"#!/bin/sh\necho \"$@\" >> {marker}\nexit 1\n")
    binary.chmod(0o755)
    return str(binary.parent), marker


def test_plan_runs_with_no_network_and_no_pulumi_binary(tmp_path: Path):
    """The whole plan in a fresh network namespace (no interfaces but a down loopback):
    any attempt to reach a cloud or a registry would fail. A `pulumi` on PATH records any
    call to it."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot create a network namespace in CI: {probe.stderr!r}")
        pytest.skip("user namespaces are not available here")
    # The namespace really has no network: a listener of ours on this machine's loopback
    # cannot be reached from inside one.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        reach = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)"
        assert subprocess.run([sys.executable, "-c", reach], check=False).returncode == 0
        inside = subprocess.run(["unshare", "-rn", sys.executable, "-c", reach],
                                capture_output=True, text=True, check=False)
        assert inside.returncode != 0 and "OSError" in inside.stderr, inside.stderr
    fake_bin, marker = fake_pulumi(tmp_path)
    out = tmp_path / "offline.json"
    env = {**clean_env(), "PATH": fake_bin + os.pathsep + clean_env()["PATH"]}
    result = subprocess.run(["unshare", "-rn", *MLPLAT, "plan", "demo", "--json", str(out)],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), f"the plan ran pulumi: {marker.read_text()}"
    assert planned_count(result.stdout) > 60
    assert json.loads(out.read_text())["summary"]["resources"] == planned_count(result.stdout)


def test_secret_config_values_never_reach_output(stack_dir: Path, tmp_path: Path):
    """A provider credential in stack config is planned without a trace of it; a secret in
    a field the CLI reports on shows up as the marker, never as the ciphertext. (The
    masking of secrets a program reads is tested in test_plan_snapshot.py.)"""
    edit_demo(stack_dir, lambda c: c.update({"aws:secretKey": {"secure": CIPHERTEXT}}))
    out = tmp_path / "plan.json"
    result = run("plan", "demo", "--stack-dir", str(stack_dir), "--json", str(out))
    assert result.returncode == 0, result.stderr
    for text in (result.stdout, result.stderr, out.read_text()):
        assert CIPHERTEXT not in text
        assert "c2VjcmV0" not in text

    edit_demo(stack_dir, lambda c: c["mlplat:tags"].update(owner={"secure": CIPHERTEXT}))
    result = run("plan", "demo", "--stack-dir", str(stack_dir))
    assert result.returncode == 2, result.stderr
    assert "mlplat:tags" in result.stderr and "[secret]" in result.stderr, result.stderr
    assert "c2VjcmV0" not in result.stdout + result.stderr


def test_unknown_stack():
    result = run("plan", "nosuchstack")
    assert_bad_input(result, "stacks/Pulumi.nosuchstack.yaml", "unknown stack 'nosuchstack'",
                     "known stacks: demo")


def test_unreadable_stack_file(tmp_path: Path):
    (tmp_path / "Pulumi.broken.yaml").mkdir()  # a directory where a file should be
    result = run("plan", "broken", "--stack-dir", str(tmp_path))
    assert_bad_input(result, "Pulumi.broken.yaml", "cannot read")


def test_invalid_yaml(tmp_path: Path):
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  mlplat:team: [unclosed\n")
    result = run("plan", "bad", "--stack-dir", str(tmp_path))
    assert_bad_input(result, "Pulumi.bad.yaml", "not valid YAML", "line")


def test_wrong_type(stack_dir: Path):
    edit_demo(stack_dir, lambda c: c["mlplat:cluster"].update(
        {"systemNodeGroup": {"minSize": "two"}}))
    result = run("plan", "demo", "--stack-dir", str(stack_dir))
    assert_bad_input(result, "Pulumi.demo.yaml", "mlplat:cluster.systemNodeGroup.minSize")


def test_unknown_key(stack_dir: Path):
    edit_demo(stack_dir, lambda c: c["mlplat:network"].update({"natGateways": 1}))
    result = run("plan", "demo", "--stack-dir", str(stack_dir))
    assert_bad_input(result, "Pulumi.demo.yaml", "mlplat:network.natGateways: unknown key")


def test_cross_field_rule(stack_dir: Path):
    def make_prod_with_single_nat(config):
        config["mlplat:env"] = "prod"
        config["mlplat:network"]["natMode"] = "single"

    edit_demo(stack_dir, make_prod_with_single_nat)
    result = run("plan", "demo", "--stack-dir", str(stack_dir))
    assert_bad_input(result, "Pulumi.demo.yaml", "natMode must be 'per-az' in prod")


def test_json_into_missing_directory_writes_nothing(tmp_path: Path):
    target = tmp_path / "missing" / "plan.json"
    result = run("plan", "demo", "--json", str(target))
    assert_bad_input(result, "missing")
    assert not target.parent.exists()


def test_failed_plan_leaves_previous_json_untouched(stack_dir: Path, tmp_path: Path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "plan.json"
    out.write_text("previous plan\n")
    edit_demo(stack_dir, lambda c: c.update({"mlplat:env": "qa"}))
    result = run("plan", "demo", "--stack-dir", str(stack_dir), "--json", str(out))
    assert_bad_input(result, "mlplat:env")
    assert out.read_text() == "previous plan\n"
    assert sorted(p.name for p in out_dir.iterdir()) == ["plan.json"]  # no temp files left


def test_validate_command(stack_dir: Path):
    ok = run("validate", "demo")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "demo: valid (vision-staging, 2 GPU pools)\n"
    edit_demo(stack_dir, lambda c: c.update({"mlplat:team": "Not A Label"}))
    assert_bad_input(run("validate", "demo", "--stack-dir", str(stack_dir)), "mlplat:team")


@pytest.fixture()
def team_stacks(tmp_path: Path) -> Path:
    """Three team stacks in one directory: demo plus two teams derived from it."""
    directory = tmp_path / "stacks"
    directory.mkdir()
    demo = yaml.safe_load((REPO_ROOT / "stacks" / "Pulumi.demo.yaml").read_text())
    for team, cidr in (("demo", None), ("nlp", "10.61.0.0/16"), ("speech", "10.62.0.0/16")):
        document = json.loads(json.dumps(demo))
        if cidr:
            document["config"]["mlplat:team"] = team
            document["config"]["mlplat:network"]["vpcCidr"] = cidr
        (directory / f"Pulumi.{team}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


def test_plan_all_in_parallel_writes_the_same_json_as_one_stack_at_a_time(
    team_stacks: Path, tmp_path: Path
):
    out = tmp_path / "out"
    out.mkdir()
    result = run("plan", "--all", "--stack-dir", str(team_stacks), "-j", "2", "-q",
                 "--json-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["demo.json", "nlp.json", "speech.json"]
    counts = {stack: int(n) for n, stack in
              re.findall(r"(\d+) resources planned for stack (\w+)", result.stdout)}
    assert set(counts) == {"demo", "nlp", "speech"}
    assert f"3 stacks planned, {sum(counts.values())} resources in all" in result.stdout
    single = tmp_path / "single.json"
    assert run("plan", "speech", "--stack-dir", str(team_stacks), "-q",
               "--json", str(single)).returncode == 0
    assert (out / "speech.json").read_bytes() == single.read_bytes()
    nlp = json.loads((out / "nlp.json").read_text())
    assert nlp["stack"] == "nlp"


def test_plan_all_validates_every_stack_before_planning_any(team_stacks: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    path = team_stacks / "Pulumi.speech.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["mlplat:gpuPools"][0]["gpuLimit"] = "lots"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = run("plan", "--all", "--stack-dir", str(team_stacks), "--json-dir", str(out))
    assert_bad_input(result, "Pulumi.speech.yaml", "mlplat:gpuPools[0].gpuLimit")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("args", "fragment"), [
    ((), "no stack given"),
    (("demo", "--all"), "not both"),
    (("demo", "demo"), "stack named twice: demo"),
    (("--all", "--json", "x.json"), "--json x.json: takes one stack"),
    (("demo", "--json", "x.json", "--json-dir", "."), "give one of them"),
    (("demo", "--json-dir", "Pulumi.nlp.yaml"),
     "'--json-dir': Directory 'Pulumi.nlp.yaml' is a file"),
])
def test_plan_argument_misuse_is_bad_input(team_stacks: Path, args, fragment):
    result = run("plan", *args, "--stack-dir", str(team_stacks), cwd=team_stacks)
    assert_bad_input(result, fragment)
    assert not (team_stacks / "x.json").exists()


def test_plan_all_reports_every_bad_file_before_exiting(team_stacks: Path, tmp_path: Path):
    for name, change in (("speech", lambda c: c["mlplat:gpuPools"][0].update(gpuLimit="lots")),
                         ("nlp", lambda c: c.update({"mlplat:team": "Not A Label"}))):
        path = team_stacks / f"Pulumi.{name}.yaml"
        document = yaml.safe_load(path.read_text())
        change(document["config"])
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = run("plan", "--all", "--stack-dir", str(team_stacks))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "Pulumi.nlp.yaml: mlplat:team:" in lines[0]
    assert "Pulumi.speech.yaml: mlplat:gpuPools[0].gpuLimit:" in lines[1]
    assert "Plan:" not in result.stdout


def test_validate_unknown_stack_lists_the_known_ones(team_stacks: Path):
    result = run("validate", "nosuchstack", "--stack-dir", str(team_stacks))
    assert_bad_input(result, "Pulumi.nosuchstack.yaml", "unknown stack 'nosuchstack'",
                     "known stacks: demo, nlp, speech")


def test_json_dir_is_created_and_files_are_readable_by_others(tmp_path: Path):
    out = tmp_path / "new" / "plans"
    result = subprocess.run(["sh", "-c", 'umask 022 && exec "$@"', "sh", *MLPLAT, "plan",
                             "demo", "-q", "--json-dir", str(out)], cwd=REPO_ROOT,
                            env=clean_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    written = out / "demo.json"
    assert json.loads(written.read_text())["stack"] == "demo"
    assert oct(written.stat().st_mode & 0o777) == oct(0o644)


CACHED = "(from the cache: inputs unchanged)"


def test_unchanged_stack_is_reused_from_the_cache_byte_for_byte(tmp_path: Path,
                                                               private_plan_cache: Path):
    fresh, cached, forced = (tmp_path / f"{name}.json" for name in ("fresh", "cached", "forced"))
    first = run("plan", "demo", "-q", "--json", str(fresh))
    assert first.returncode == 0, first.stderr
    assert CACHED not in first.stdout
    assert len(list(private_plan_cache.glob("*.json"))) == 1
    second = run("plan", "demo", "-q", "--json", str(cached))
    assert second.returncode == 0, second.stderr
    assert f"resources planned for stack demo {CACHED}" in second.stdout
    assert cached.read_bytes() == fresh.read_bytes()
    full = run("plan", "demo")
    assert "Reused the cached plan of stack demo" in full.stdout
    assert planned_count(full.stdout) > 60
    third = run("plan", "demo", "-q", "--no-cache", "--json", str(forced))
    assert third.returncode == 0, third.stderr
    assert CACHED not in third.stdout
    assert forced.read_bytes() == fresh.read_bytes()


def test_a_changed_stack_file_is_planned_afresh_and_errors_still_reported(stack_dir: Path):
    assert run("plan", "demo", "-q", "--stack-dir", str(stack_dir)).returncode == 0
    edit_demo(stack_dir, lambda c: c["mlplat:network"].update(vpcCidr="10.77.0.0/16"))
    changed = run("plan", "demo", "-q", "--stack-dir", str(stack_dir))
    assert changed.returncode == 0, changed.stderr
    assert CACHED not in changed.stdout
    edit_demo(stack_dir, lambda c: c["mlplat:network"].update({"natGateways": 1}))
    assert_bad_input(run("plan", "demo", "--stack-dir", str(stack_dir)),
                     "Pulumi.demo.yaml", "mlplat:network.natGateways: unknown key")


def test_plan_all_reuses_cached_stacks_and_plans_the_rest(team_stacks: Path):
    assert run("plan", "speech", "-q", "--stack-dir", str(team_stacks)).returncode == 0
    result = run("plan", "--all", "-q", "-j", "2", "--stack-dir", str(team_stacks))
    assert result.returncode == 0, result.stderr
    reused = re.findall(r"stack (\w+) \(from the cache", result.stdout)
    assert reused == ["speech"]
    assert "3 stacks planned" in result.stdout and "; 1 from the cache" in result.stdout


def imported_by(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run mlplat with `args`; its result and the modules it had imported when it exited."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('MODULES ' + ' '.join(sys.modules)))\n"
            "from mlplat.cli import main\n"
            f"main({list(args)!r})\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=clean_env(),
                            capture_output=True, text=True, timeout=300, check=False)
    modules = result.stderr.rpartition("MODULES ")[2].split()
    return result, set(modules)


def test_a_fully_cached_run_imports_neither_the_config_models_nor_the_sdk(team_stacks: Path):
    """What makes fifty cached stacks take a fraction of a second (ADR 0030): with nothing
    changed, validation is skipped and the plans are not even parsed for `-q`."""
    plan_all = ("plan", "--all", "-q", "-j", "2", "--stack-dir", str(team_stacks))
    first, modules = imported_by(*plan_all)
    assert first.returncode == 0, first.stderr
    assert {"pulumi", "mlplat.config", "pydantic"} <= modules
    again, modules = imported_by(*plan_all)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout.replace("\n", f" {CACHED}\n", 3).replace(
        "resources in all\n", "resources in all; 3 from the cache\n")
    assert not {"pulumi", "mlplat.config", "pydantic", "rich"} & modules


def test_audit_and_cost_reuse_cached_plans_unless_told_not_to(team_stacks: Path):
    assert run("plan", "--all", "-q", "--stack-dir", str(team_stacks)).returncode == 0
    for command in ("audit", "cost"):
        args = (command, "--all", "--format", "json", "--stack-dir", str(team_stacks))
        cached, modules = imported_by(*args)
        assert cached.returncode in (0, 1), cached.stderr
        assert "pulumi" not in modules, f"{command} planned although every plan was cached"
        fresh, modules = imported_by(*args, "--no-cache")
        assert "pulumi" in modules, f"{command} --no-cache did not plan afresh"
        assert (fresh.returncode, fresh.stdout) == (cached.returncode, cached.stdout)
