"""The committed plan snapshots (`plans/<stack>.json`, one per stack file) match what the
code plans now: this is `mlplat plan --check`, run by CI.

Reviewers read `plans/*.json` diffs in a PR (and `mlplat diff`) to see exactly which
resources and inputs a change adds, removes or alters. When a change is intended, refresh
them with `make snapshots` (or `mlplat plan --write-snapshots`, or
`MLPLAT_UPDATE_GOLDEN=1 pytest tests/unit/test_plan_snapshot.py`) and commit the diff with
the change.
"""

from __future__ import annotations

import dataclasses
import os

import pytest
import yaml

from mlplat.core.paths import STACKS_DIR
from mlplat.plan import SECRET, Plan
from mlplat.plan.api import default_jobs, plan_requests, stack_request
from mlplat.plan.mocks import digest
from mlplat.plan.snapshots import SNAPSHOT_DIR, check_snapshots, write_snapshots
from mlplat.stackfile import DEFAULT_NAMESPACES, available_stacks

pytestmark = pytest.mark.unit


def test_every_stack_plan_matches_its_committed_snapshot() -> None:
    # Planned afresh (no cache), in parallel: CI checks what the program plans today.
    plans = plan_requests([stack_request(stack) for stack in available_stacks()],
                          jobs=default_jobs())
    if os.environ.get("MLPLAT_UPDATE_GOLDEN") == "1":
        write_snapshots(plans, SNAPSHOT_DIR, every_stack=True)
    stale = check_snapshots(plans, SNAPSHOT_DIR, every_stack=True)
    assert not stale, ("stale plan snapshots (run `make snapshots` if intended):\n"
                       + "\n".join(map(str, stale)))


# ------------------------------------------------------------------ secrets never leak
# A stack whose config carries a `secure:` value and whose program generates a secret
# (RandomPassword marks `result` with additionalSecretOutputs), planned end to end from the
# stack file. Both must show up as the secret marker wherever they flow, and neither the
# ciphertext nor the generated plaintext may appear anywhere in the plan document.

CIPHERTEXT = "v1:Zm9yLXRlc3RzLW9ubHk6Y2lwaGVydGV4dA=="
SECRETS_PROGRAM = """
import pulumi
import pulumi_aws as aws
import pulumi_random as random

db_password = pulumi.Config("app").require_secret("dbPassword")
generated = random.RandomPassword("generated", length=24, special=False)
aws.ssm.Parameter("db-password", type="SecureString", value=db_password)
aws.ssm.Parameter("generated-password", type="SecureString", value=generated.result)
pulumi.export("db_password", db_password)
pulumi.export("generated_password", generated.result)
"""


@pytest.fixture(scope="module")
def secrets_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    root = tmp_path_factory.mktemp("secrets")
    (root / "program").mkdir()
    (root / "program" / "__main__.py").write_text(SECRETS_PROGRAM)
    (root / "stacks").mkdir()
    document = yaml.safe_load((STACKS_DIR / "Pulumi.demo.yaml").read_text())
    document["config"]["app:dbPassword"] = {"secure": CIPHERTEXT}
    (root / "stacks" / "Pulumi.secrets.yaml").write_text(yaml.safe_dump(document))
    request = dataclasses.replace(
        stack_request("secrets", root / "stacks", namespaces=(*DEFAULT_NAMESPACES, "app")),
        program_dir=root / "program")
    assert "app:dbPassword" in request.secret_keys
    (plan,) = plan_requests([request])
    return plan


def test_secure_config_and_generated_secrets_stay_secret(secrets_plan: Plan) -> None:
    parameters = {r.name: r for r in secrets_plan.of_type("aws:ssm/parameter:Parameter")}
    assert parameters["db-password"].inputs["value"] == SECRET
    assert parameters["generated-password"].inputs["value"] == SECRET
    assert secrets_plan.outputs == {"db_password": SECRET, "generated_password": SECRET}
    (password,) = secrets_plan.of_type("random:index/randomPassword:RandomPassword")
    assert "result" in password.options["additional_secret_outputs"]


def test_plan_document_carries_no_ciphertext_or_generated_plaintext(secrets_plan: Plan) -> None:
    # What the mocks generate for the password (see mlplat.plan.mocks._random).
    plaintext = digest("random", "random:index/randomPassword:RandomPassword", "generated",
                       length=24)
    text = secrets_plan.dumps()
    assert CIPHERTEXT not in text and CIPHERTEXT.removeprefix("v1:") not in text
    assert plaintext not in text
    assert text.count(f'"{SECRET}"') >= 4
