"""`mlplat diff` and `mlplat plan --check / --write-snapshots` on a real git history.

A scratch repository holds a small stack (stacks/Pulumi.team.yaml) and its snapshot
(plans/team.json), committed over four revisions:

    EMPTY  a README only: the stack does not exist yet
    BARE   the stack file, no snapshot (history from before snapshots)
    A      the snapshot of that stack file
    B      the API endpoint opened to one CIDR (a security rule's field), a new bucket, a
           bigger system node group (no rule reads it), and the refreshed snapshot

The stale-snapshot check is exercised between A and B on the uncommitted change.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_plan_cli import MLPLAT, assert_bad_input, clean_env

pytestmark = pytest.mark.cli

TEAM: dict[str, Any] = {"config": {
    "aws:region": "eu-west-1",
    "mlplat:team": "vision",
    "mlplat:env": "dev",
    "mlplat:tags": {"cost-center": "cc-1", "owner": "vision@example.com"},
    "mlplat:cluster": {
        "adminRoleArns": ["arn:aws:iam::111122223333:role/platform-admins"],
        "systemNodeGroup": {"instanceTypes": ["m7i.large"], "minSize": 2, "desiredSize": 2,
                            "maxSize": 4},
    },
    "mlplat:objectStore": {"buckets": {"datasets": {}, "artifacts": {}}},
}}
#: What B adds to the bucket set, and the companions every bucket gets.
SCRATCH = "vision-dev-objects-scratch"
SCRATCH_RESOURCES = {
    ("aws:s3/bucket:Bucket", SCRATCH),
    *((f"aws:s3/{kind}:{kind[0].upper()}{kind[1:]}", f"{SCRATCH}-{suffix}") for kind, suffix in (
        ("bucketLifecycleConfiguration", "lifecycle"), ("bucketLogging", "logging"),
        ("bucketOwnershipControls", "ownership"), ("bucketPolicy", "policy"),
        ("bucketPublicAccessBlock", "public-access"), ("bucketVersioning", "versioning"),
        ("bucketServerSideEncryptionConfiguration", "encryption"))),
}
CLUSTER = ("aws:eks/cluster:Cluster", "vision-dev-cluster-eks")
NODE_GROUP = ("aws:eks/nodeGroup:NodeGroup", "vision-dev-cluster-system")
LOG_POLICY = ("aws:s3/bucketPolicy:BucketPolicy", "vision-dev-objects-access-logs-policy")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=test",
                           "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false",
                           *args], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def write_stack(repo: Path, document: dict[str, Any]) -> None:
    (repo / "stacks" / "Pulumi.team.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def changed_stack() -> dict[str, Any]:
    document = json.loads(json.dumps(TEAM))
    config = document["config"]
    config["mlplat:cluster"]["endpoint"] = {"publicAccess": True,
                                            "publicAccessCidrs": ["203.0.113.0/24"]}
    config["mlplat:cluster"]["systemNodeGroup"]["maxSize"] = 6
    config["mlplat:objectStore"]["buckets"]["scratch"] = {}
    return document


class History:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.repo = root / "repo"
        self.env = env
        self.revisions: dict[str, str] = {}
        #: `plan --check` / `--write-snapshots` runs made while building the history.
        self.runs: dict[str, subprocess.CompletedProcess[str]] = {}

    def mlplat(self, *args: str, stack_dir: Path | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        directory = stack_dir or self.repo / "stacks"
        return subprocess.run([*MLPLAT, *args, "--stack-dir", str(directory)],
                              cwd=cwd or self.repo, env=self.env, capture_output=True,
                              text=True, timeout=300, check=False)

    def diff(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.mlplat("diff", "team", *args)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    root = tmp_path_factory.mktemp("history")
    env = clean_env()
    env["MLPLAT_CACHE_DIR"] = str(root / "plan-cache")
    made = History(root, env)
    repo = made.repo
    (repo / "stacks").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("scratch repository of tests/cli/test_diff_cli.py\n")
    made.revisions["EMPTY"] = commit(repo, "empty")
    write_stack(repo, TEAM)
    made.revisions["BARE"] = commit(repo, "stack file, no snapshot")
    written = made.mlplat("plan", "--write-snapshots")
    assert written.returncode == 0, written.stderr
    assert (repo / "plans" / "team.json").exists()
    made.revisions["A"] = commit(repo, "snapshot")

    write_stack(repo, changed_stack())
    made.runs["stale"] = made.mlplat("plan", "--check")
    made.runs["rewritten"] = made.mlplat("plan", "--write-snapshots")
    made.runs["current"] = made.mlplat("plan", "--check")
    made.revisions["B"] = commit(repo, "public endpoint, scratch bucket, bigger node group")
    return made


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def changes(document: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(c["kind"], c["type"], c["name"]): c for c in document["resources"]}


# ------------------------------------------------------------------ plan --check

def test_check_fails_on_an_uncommitted_change_naming_the_stack(history: History) -> None:
    result = history.runs["stale"]
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("stale:")]
    assert line.startswith("stale: team: ") and "plans/team.json" in line
    assert "1 removed" not in line and "0 removed, 3 changed, 8 added" in line
    assert "--write-snapshots" in result.stderr


def test_check_passes_once_the_snapshot_is_refreshed(history: History) -> None:
    rewritten, current = history.runs["rewritten"], history.runs["current"]
    assert rewritten.returncode == 0, rewritten.stderr
    assert "Wrote" in rewritten.stdout
    assert current.returncode == 0, current.stderr
    assert "1 plan snapshots current" in current.stdout


def test_check_reports_a_snapshot_without_a_stack(history: History, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(history.repo / "stacks", copy / "stacks")
    # written here: a plan names its stack file, whose path outside the repo is absolute
    assert history.mlplat("plan", "--write-snapshots", stack_dir=copy / "stacks").returncode == 0
    shutil.copy(copy / "plans" / "team.json", copy / "plans" / "gone.json")
    result = history.mlplat("plan", "--check", stack_dir=copy / "stacks")
    assert result.returncode == 1
    assert "stale: gone: " in result.stderr and "no such stack file" in result.stderr
    assert "stale: team" not in result.stderr


# ------------------------------------------------------------------ diff between revisions

def test_diff_lists_exactly_what_changed_between_two_commits(history: History) -> None:
    document = as_json(history.diff("--base", history.revisions["A"], "--head",
                                    history.revisions["B"], "--format", "json"))
    found = changes(document)
    assert set(found) == {
        ("changed", *CLUSTER), ("changed", *NODE_GROUP), ("changed", *LOG_POLICY),
        *(("added", type_, name) for type_, name in SCRATCH_RESOURCES)}
    assert document["notes"] == []
    cluster = found[("changed", *CLUSTER)]
    fields = {f["path"]: f for f in cluster["fields"]}
    assert set(fields) == {"vpc_config.endpoint_public_access", "vpc_config.public_access_cidrs"}
    public = fields["vpc_config.endpoint_public_access"]
    assert (public["old"], public["new"]) == (False, True)
    assert "MLP-EKS-001" in public["rules"]
    (size,) = found[("changed", *NODE_GROUP)]["fields"]
    assert (size["path"], size["old"], size["new"], size["rules"]) == (
        "scaling_config.max_size", 4, 6, [])


def test_diff_against_the_working_tree_is_the_default_head(history: History) -> None:
    committed = as_json(history.diff("--base", history.revisions["A"], "--head",
                                     history.revisions["B"], "--format", "json"))
    working = as_json(history.diff("--base", "HEAD~1", "--format", "json"))
    assert working["head"] == "working tree"
    assert working["base"].endswith("plans/team.json@HEAD~1")
    assert working["resources"] == committed["resources"]


def test_text_and_markdown_mark_the_security_relevant_change(history: History) -> None:
    text = history.diff("--base", history.revisions["A"], "--head", history.revisions["B"])
    assert text.returncode == 0, text.stderr
    line = next(line for line in text.stdout.splitlines()
                if "vpc_config.endpoint_public_access" in line)
    assert "false -> true" in line and "⚠ " in line and "MLP-EKS-001" in line
    size = next(line for line in text.stdout.splitlines() if "scaling_config.max_size" in line)
    assert "4 -> 6" in size and "⚠" not in size
    markdown = history.diff("--base", history.revisions["A"], "--head",
                            history.revisions["B"], "--format", "markdown")
    assert markdown.returncode == 0
    assert "#### Changed (3)" in markdown.stdout and "#### Added (8)" in markdown.stdout
    assert "| `vpc_config.endpoint_public_access` | `false` | `true` | ⚠ " in markdown.stdout


def test_a_revision_without_snapshot_plans_its_stack_file(history: History) -> None:
    document = as_json(history.diff("--base", history.revisions["BARE"], "--head",
                                    history.revisions["A"], "--format", "json"))
    assert document["resources"] == [] and document["outputs"] == []
    (note,) = document["notes"]
    assert note.startswith(f"no snapshot at {history.revisions['BARE']}")


def test_a_stack_new_since_base_is_all_added(history: History) -> None:
    document = as_json(history.diff("--base", history.revisions["EMPTY"], "--head", "main~1",
                                    "--format", "json"))
    assert document["resources"] and {c["kind"] for c in document["resources"]} == {"added"}
    assert "does not exist" in document["notes"][0]


def test_exit_code_flag_reports_changes_like_git_diff(history: History) -> None:
    a, b = history.revisions["A"], history.revisions["B"]
    assert history.diff("--base", a, "--head", b, "--exit-code").returncode == 1
    assert history.diff("--base", b, "--head", b, "--exit-code").returncode == 0
    assert history.diff("--base", a, "--head", b).returncode == 0


# ------------------------------------------------------------------ bad input: one line, exit 2

def test_diff_bad_revision(history: History) -> None:
    assert_bad_input(history.diff("--base", "no-such-branch"), "unknown git revision",
                     "no-such-branch")
    assert_bad_input(history.diff("--base", "--upload-pack=x"), "invalid git revision")
    assert_bad_input(history.diff("--base", "main", "--head", "nope~9"),
                     "unknown git revision 'nope~9'")


def test_diff_unknown_stack(history: History) -> None:
    assert_bad_input(history.mlplat("diff", "nope", "--base", "main"), "unknown stack 'nope'",
                     "team")
    assert_bad_input(history.mlplat("diff", "../x", "--base", "main"), "invalid stack name")
    assert_bad_input(history.mlplat("diff", "nope", "--base", "main~1", "--head", "main"),
                     "unknown stack 'nope'")


def test_diff_invalid_stack_file_at_the_base(history: History) -> None:
    git(history.repo, "checkout", "-q", "-b", "broken-stack")
    try:
        broken = changed_stack()
        broken["config"]["mlplat:cluster"]["endpoint"]["publicAccessCidrs"] = []
        write_stack(history.repo, broken)
        git(history.repo, "rm", "-q", "plans/team.json")
        commit(history.repo, "invalid stack file, no snapshot")
    finally:
        git(history.repo, "checkout", "-q", "main")
    assert_bad_input(history.diff("--base", "broken-stack"),
                     "stacks/Pulumi.team.yaml@broken-stack: mlplat:cluster",
                     "publicAccessCidrs is empty")


def test_diff_outside_a_git_repository(history: History, tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    shutil.copy(history.repo / "stacks" / "Pulumi.team.yaml", tmp_path / "stacks")
    result = history.mlplat("diff", "team", "--base", "main", stack_dir=tmp_path / "stacks",
                            cwd=tmp_path)
    assert_bad_input(result, "not inside a git repository")


def test_diff_bad_arguments(history: History) -> None:
    assert_bad_input(history.diff("--base", "main", "--format", "html"), "--format")
    assert_bad_input(history.mlplat("diff", "team"), "--base")
    assert_bad_input(history.diff("--base", "main", "-o", "/nonexistent/dir/x.md"),
                     "does not exist")


def test_plan_snapshot_options_bad_input(history: History) -> None:
    assert_bad_input(history.mlplat("plan", "--check", "--write-snapshots"), "give one of them")
    assert_bad_input(history.mlplat("plan", "--check", "nope"), "nope")
    assert_bad_input(history.mlplat("plan", "--check", "--json", "x.json"), "--json")
    assert_bad_input(history.mlplat("plan", "--check", "--all", "team"), "not both")
