"""Bugs the stack-file mutation property (test_stack_file_mutations.py) found, one test
each, so they stay fixed whatever examples Hypothesis draws next."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlplat.cli import cli
from mlplat.core.paths import STACKS_DIR
from mlplat.plan import plan_stack, validate_stack

pytestmark = pytest.mark.unit

DEMO = (STACKS_DIR / "Pulumi.demo.yaml").read_text()


def validate(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    """Exit code and stderr lines of `mlplat validate` on `text` as the demo stack."""
    (tmp_path / "Pulumi.demo.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["validate", "--stack-dir", str(tmp_path), "demo"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr.splitlines()


def refused(tmp_path: Path, text: str) -> str:
    """The one error line for `text`, after checking it is refused as bad input."""
    code, lines = validate(tmp_path, text)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: {tmp_path / 'Pulumi.demo.yaml'}: "), lines
    return lines[0]


@pytest.mark.parametrize(("value", "tag"), [
    ("2026-13-45", "!!timestamp"),  # looks like a date, is none: datetime raised ValueError
    ("!!int abc", "!!int"),
    ("!!float x", "!!float"),
    ("!!timestamp soon", "!!timestamp"),  # the constructor failed with AttributeError
])
def test_a_value_yaml_cannot_build_is_bad_input_not_a_crash(tmp_path: Path, value: str,
                                                            tag: str) -> None:
    line = refused(tmp_path, DEMO.replace("aws:region: eu-west-1", f"aws:region: {value}"))
    assert f"line 5: '{value.split()[-1]}' is not a valid {tag} value" in line


def test_an_unknown_top_level_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    # `confg:` beside `config:` was ignored: its settings looked applied and were not.
    text = DEMO + "confg:\n  mlplat:env: prod\n"
    line = refused(tmp_path, text)
    assert (f"line {len(text.splitlines()) - 1}: confg: unknown top-level key; "
            "did you mean 'config'?") in line


def test_every_key_pulumi_puts_in_a_stack_file_is_accepted(tmp_path: Path) -> None:
    text = ("secretsprovider: awskms://alias/x\nencryptedkey: abc\nencryptionsalt: v1:x\n"
            "environment: [shared]\n" + DEMO)
    assert validate(tmp_path, text) == (0, [])


@pytest.mark.parametrize(("addition", "shown"), [
    ('"\\r": 0\n', f"line {len(DEMO.splitlines()) + 1}: \\r: unknown top-level key"),
    ('  "mlplat:a\\nb": 0\n', "Pulumi.demo.yaml: mlplat:a\\nb: unknown key"),
    ('  "x\\u2028y:team": 0\n', "unknown namespace 'x\\u2028y:'"),
])
def test_a_key_with_a_line_break_stays_on_its_problems_line(tmp_path: Path, addition: str,
                                                            shown: str) -> None:
    # The key was printed as is: "\r", "\n" or U+2028 split one problem over two lines.
    assert shown in refused(tmp_path, DEMO + addition)


def test_a_nested_unknown_key_with_a_line_break_stays_on_one_line(tmp_path: Path) -> None:
    text = DEMO.replace("    natMode: per-az\n", '    natMode: per-az\n    "nat\\nMode": x\n')
    assert "mlplat:network.nat\\nMode: unknown key" in refused(tmp_path, text)


@pytest.mark.parametrize("value", ["0", "1", "'false'", "'yes'", "'on'", "'t'"])
def test_the_public_endpoint_switch_is_true_or_false_nothing_else(tmp_path: Path,
                                                                  value: str) -> None:
    # pydantic's lax bool read `publicAccess: 0` as false and `"on"` as true.
    text = DEMO.replace("publicAccess: false", f"publicAccess: {value}")
    assert "mlplat:cluster.endpoint.publicAccess: must be true or false" in refused(tmp_path,
                                                                                     text)


@pytest.mark.parametrize(("old", "new", "path"), [
    ("gpuLimit: 32", "gpuLimit: yes", "mlplat:gpuPools[0].gpuLimit"),
    ("availabilityZones: 3", "availabilityZones: on", "mlplat:network.availabilityZones"),
    ("retentionDays: 90", "retentionDays: true", "mlplat:network.flowLogs.retentionDays"),
])
def test_a_boolean_is_not_a_count(tmp_path: Path, old: str, new: str, path: str) -> None:
    # YAML reads `yes`/`on` as true and pydantic read true as 1: `gpuLimit: yes` was 1.
    line = refused(tmp_path, DEMO.replace(old, new, 1))
    assert f"{path}: must be a whole number (got true)" in line


@pytest.mark.parametrize(("key", "where", "shown"), [
    ("1", "mlplat:network", "1"),
    ("null", "mlplat:network", "null"),
    ("2026-01-01", "mlplat:network", "2026-01-01"),
])
def test_a_key_that_is_not_a_string_is_named_as_a_key(tmp_path: Path, key: str, where: str,
                                                       shown: str) -> None:
    # Was `mlplat:network[1]: Keys should be strings` (reads as a list index) and
    # `mlplat:network.datetime.date(2026, 1, 1): ...` (Python's spelling of the key).
    text = DEMO.replace("    natMode: per-az\n", f"    natMode: per-az\n    {key}: x\n")
    assert f"{where}: key {shown} must be a string; quote it" in refused(tmp_path, text)


def test_a_tag_key_that_is_not_a_string_is_named_as_a_key(tmp_path: Path) -> None:
    text = DEMO.replace("    owner: vision", "    7: vision")
    assert "mlplat:tags: key 7 must be a string; quote it" in refused(tmp_path, text)


def test_a_layer_set_to_null_plans_as_validated(tmp_path: Path) -> None:
    # `mlplat:objectStore: null` (here sharedFilesystem, which no other layer refers to)
    # validated (the layer is optional) but the program received
    # the string "null" from the runtime and failed: "must be a mapping of keys (got 'null')".
    data = yaml.safe_load(DEMO)
    assert data["config"].get("mlplat:sharedFilesystem") is not None
    data["config"]["mlplat:sharedFilesystem"] = None
    (tmp_path / "Pulumi.demo.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert validate_stack("demo", tmp_path).shared_filesystem is None
    plan = plan_stack("demo", tmp_path)
    assert plan.managed()
    assert not [r for r in plan.managed() if r.type.startswith("aws:efs/")]


def test_a_team_called_null_stays_a_string_in_the_program(tmp_path: Path) -> None:
    # The other side of decoding runtime values: a string field keeps the string "null".
    (tmp_path / "Pulumi.demo.yaml").write_text(DEMO.replace("mlplat:team: vision",
                                                            "mlplat:team: 'null'"))
    plan = plan_stack("demo", tmp_path)
    assert any(r.name.startswith("null-staging") for r in plan.managed())


def test_a_boolean_is_not_a_count_in_an_optional_number_either(tmp_path: Path) -> None:
    # `int | None` fields slipped past the first fix: `false` became 0 days.
    text = DEMO.replace("intelligentTieringAfterDays: 0", "intelligentTieringAfterDays: false")
    assert text != DEMO
    assert ("mlplat:objectStore.buckets.datasets.intelligentTieringAfterDays: must be a whole "
            "number (got false)") in refused(tmp_path, text)


@pytest.mark.parametrize(("old", "new", "tag"), [
    ("    owner: vision", "    !!binary b3duZXI=: vision", "!!binary"),  # became tag 'owner'
    ("cost-center: cc-4711", "cost-center: !!binary Y2MtNDcxMQ==", "!!binary"),
    ("instanceFamilies: [g5]", "instanceFamilies: !!set {g5}", "!!set"),
    ("capacityTypes: [spot, on-demand]", "capacityTypes: !!omap [spot: 1]", "!!omap"),
])
def test_yaml_types_that_are_not_plain_data_are_refused(tmp_path: Path, old: str, new: str,
                                                        tag: str) -> None:
    # `!!binary` read as bytes, which pydantic accepted as the text they decode to: the
    # file showed base64, the plan got `owner`. `!!set` has no order.
    text = DEMO.replace(old, new, 1)
    assert text != DEMO
    assert f"{tag} values are not accepted" in refused(tmp_path, text)


@pytest.mark.parametrize("value", ["0", "-0", "'no'", "'off'"])
def test_every_switch_is_true_or_false_nothing_else(tmp_path: Path, value: str) -> None:
    # After publicAccess, the search found `sharedFilesystem.backup: -0` read as false.
    text = DEMO.replace("    backup: true", f"    backup: {value}", 1)
    assert text != DEMO
    assert "mlplat:sharedFilesystem.backup: must be true or false" in refused(tmp_path, text)
