"""`mlplat verify` on the command line: exit 0 clean, 1 drift, 2 bad input with one
`error:` line and no traceback. Run in-process (`mlplat.cli.main`) to stay fast."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from moto_seed import clients, deploy, reset

from mlplat.audit.engine import load_plan_file
from mlplat.cli import main
from mlplat.core.paths import REPO_ROOT
from mlplat.verify.engine import subjects

pytestmark = pytest.mark.live

DEMO_PLAN = str(REPO_ROOT / "plans" / "demo.json")
AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
           "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
           "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")


@pytest.fixture()
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Test credentials only; no shared files; never the instance metadata service."""
    for name in AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return monkeypatch


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["verify", *args])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_clean_then_drifted_stack_exit_0_then_1(moto_url: str, credentials: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A deployment as planned: no drift, every planned bucket, database, cluster, key and
    role found and read. Then one public access block removed: drift, exit 1."""
    plan = load_plan_file(Path(DEMO_PLAN))
    reset(moto_url)
    names = deploy(plan, clients(moto_url))
    code, out, _ = run(["demo", "--plan", DEMO_PLAN, "--endpoint-url", moto_url,
                        "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["drifted"] is False
    assert report["drift"] == [] and report["planned"] == []
    assert report["checked"] == [r.urn for r in subjects(plan)]
    kinds = ("aws:s3/bucket:Bucket", "aws:rds/instance:Instance", "aws:eks/cluster:Cluster",
             "aws:kms/key:Key", "aws:iam/role:Role")
    assert len(report["checked"]) == sum(r.type in kinds for r in plan.resources) > 20
    code, out, _ = run(["demo", "--plan", DEMO_PLAN, "--endpoint-url", moto_url], capsys)
    assert code == 0 and "no drift" in out
    clients(moto_url)["s3"].delete_public_access_block(
        Bucket=names["vision-staging-objects-datasets"])
    code, out, _ = run(["demo", "--plan", DEMO_PLAN, "--endpoint-url", moto_url,
                        "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["drifted"] is True
    assert {(d["rule"], d["resource"]) for d in report["drift"]} == {
        (rule, "vision-staging-objects-datasets")
        for rule in ("MLP-S3-003", "MLP-S3-004", "MLP-S3-005", "MLP-S3-006")}
    # AWS_ENDPOINT_URL does what --endpoint-url does; the table names the drift.
    credentials.setenv("AWS_ENDPOINT_URL", moto_url)
    code, out, _ = run(["demo", "--plan", DEMO_PLAN], capsys)
    assert code == 1 and "MLP-S3-003" in out and "DRIFT: 4 findings" in out


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("args", "expected"), [
    (["nosuchstack"], "unknown stack 'nosuchstack'"),
    (["demo", "--plan", DEMO_PLAN, "--endpoint-url", "not-a-url"], "not an http(s) URL"),
    (["demo", "--plan", DEMO_PLAN, "--endpoint-url", "http://127.0.0.1:port"],
     "port is not a number"),
    (["demo", "--plan", "/nonexistent/plan.json"], "cannot read"),
    (["other", "--plan", DEMO_PLAN], "a plan of stack 'demo', not 'other'"),
    (["demo", "--format", "xml"], "Invalid value for '--format'"),
    (["demo", "--plan", DEMO_PLAN, "--profile", "nosuchprofile"], "nosuchprofile"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], expected: str,
                                          credentials: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(args, capsys)
    assert code == 2 and out == ""
    assert expected in one_error_line(err)


def test_unreachable_endpoint_is_one_line_and_exit_2(
        credentials: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    code, _, err = run(["demo", "--plan", DEMO_PLAN, "--endpoint-url", url], capsys)
    assert code == 2 and "cannot reach AWS" in one_error_line(err)


def test_no_credentials_is_one_line_and_exit_2(moto_url: str, credentials: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    credentials.delenv("AWS_ACCESS_KEY_ID")
    credentials.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = run(["demo", "--plan", DEMO_PLAN, "--endpoint-url", moto_url], capsys)
    assert code == 2 and "no AWS credentials found" in one_error_line(err)
