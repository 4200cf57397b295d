"""`mlplat cloud-init`: clear errors, exit codes, nothing half-written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cloudinit_cases import EXAMPLES_DIR, REPO, load_example, require_cloud_init

from mlplat.cli import main as mlplat_main
from mlplat.cloudinit import render

pytestmark = pytest.mark.unit

GPU_EXAMPLE = EXAMPLES_DIR / "gpu-node--ansible-pull.yaml"


def main(argv: list[str]) -> int:
    """`mlplat cloud-init ARGV...` in-process; its exit code."""
    with pytest.raises(SystemExit) as info:
        mlplat_main(["cloud-init", *argv])
    return int(info.value.code or 0)


def test_render_to_stdout_is_the_library_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "gpu-node", "--inputs", str(GPU_EXAMPLE)]) == 0
    assert capsys.readouterr().out == render("gpu-node", load_example(GPU_EXAMPLE))


def test_render_to_file_with_validation(tmp_path: Path) -> None:
    require_cloud_init()
    out = tmp_path / "user-data"
    argv = ["render", "gpu-node", "--inputs", str(GPU_EXAMPLE), "--out", str(out), "--validate"]
    assert main(argv) == 0
    assert out.read_text() == render("gpu-node", load_example(GPU_EXAMPLE))
    assert [p.name for p in tmp_path.iterdir()] == ["user-data"]  # no temp file left


def test_bad_inputs_exit_2_name_file_and_field_and_keep_old_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        GPU_EXAMPLE.read_text().replace("https://git.example.org", "http://git.example.org")
        + "node_pol: typo\n"
    )
    out = tmp_path / "user-data"
    out.write_text("previous rendering\n")
    assert main(["render", "gpu-node", "--inputs", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {bad}: ansible_pull.repo_url: " in err and "https://" in err
    assert f"error: {bad}: node_pol: unknown key; did you mean node_pool?" in err
    assert "Traceback" not in err
    assert out.read_text() == "previous rendering\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "user-data"]


def test_invalid_yaml_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("admin:\n  name: [ops\n")
    assert main(["render", "onprem-host", "--inputs", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: not valid YAML (line ")


def test_inputs_must_be_a_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n")
    assert main(["render", "onprem-host", "--inputs", str(bad)]) == 2
    assert "must be a YAML mapping, got list" in capsys.readouterr().err


def test_missing_inputs_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["render", "onprem-host", "--inputs", str(missing)]) == 2
    assert f"error: {missing}: cannot read inputs" in capsys.readouterr().err


def test_unwritable_output_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no-such-dir" / "user-data"
    assert main(["render", "gpu-node", "--inputs", str(GPU_EXAMPLE), "--out", str(out)]) == 2
    assert f"error: {out}: cannot write" in capsys.readouterr().err


def test_unknown_template_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "gpu", "--inputs", str(GPU_EXAMPLE)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "'gpu'" in err, err


def test_validate_command_reports_unknown_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_cloud_init()
    ud = tmp_path / "user-data"
    ud.write_text("#cloud-config\nruncmds:\n  - [echo, typo]\n")
    assert main(["validate", str(ud)]) == 1
    assert f"error: {ud}: unknown top-level key 'runcmds'" in capsys.readouterr().err


def test_module_entry_point_runs_as_a_subprocess(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("admin: {name: ops, ssh_authorized_keys: ['ssh-ed25519 AAAA']}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "mlplat.cli", "cloud-init", "render", "onprem-host",
         "--inputs", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"error: {bad}: admin.ssh_authorized_keys[0]: not an SSH public key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_problem_is_one_line_in_the_users_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    data = load_example(GPU_EXAMPLE)
    data["admin"]["name"] = 1.33
    data["admin"]["ssh_authorised_keys"] = []
    data["node_pol"] = "x"
    bad.write_text(yaml.safe_dump(data))
    assert main(["render", "gpu-node", "--inputs", str(bad)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f'error: {bad}: admin.name: must be a string, got 1.33 (a number): quote it, "1.33"',
        f"error: {bad}: admin.ssh_authorised_keys: unknown key; "
        "did you mean admin.ssh_authorized_keys?",
        f"error: {bad}: node_pol: unknown key; did you mean node_pool?",
    ]
