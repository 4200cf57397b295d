"""Customer-managed KMS keys."""

from __future__ import annotations

from collections.abc import Iterator

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline, fsbp
from policies.rules._helpers import open_to_everyone, statements, truthy

KEY = "aws:kms/key:Key"


def check_rotation(key: ResourceRecord, plan: Plan) -> Iterator[str]:
    symmetric = key.inputs.get("customer_master_key_spec", "SYMMETRIC_DEFAULT")
    if symmetric == "SYMMETRIC_DEFAULT" and not truthy(key.inputs.get("enable_key_rotation")):
        yield "automatic key rotation is off"


def check_policy_principals(key: ResourceRecord, plan: Plan) -> Iterator[str]:
    for statement in statements(key.inputs.get("policy")):
        if open_to_everyone(statement):
            sid = statement.get("Sid", "(no Sid)")
            yield f"key policy statement {sid} allows Principal '*' without a Condition"


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-KMS-001",
        title="KMS key rotates automatically",
        severity=Severity.MEDIUM,
        rationale="Rotation bounds how much data one key version protects and is expected by "
                  "every compliance framework mlplat maps to.",
        remediation="Set enable_key_rotation=True (components/_lib/kms.py does).",
        controls=(fsbp("KMS.4"),),
        resource_types=(KEY,),
        check=check_rotation,
    ),
    Rule(
        id="MLP-KMS-002",
        title="KMS key policy does not allow every principal without conditions",
        severity=Severity.CRITICAL,
        rationale="A key policy allowing Principal '*' unconditionally lets any AWS account "
                  "use (or administer) the key; the key policy is the only gate on a KMS key.",
        remediation="Name the account root or specific roles, or add conditions such as "
                    "kms:CallerAccount and kms:ViaService.",
        controls=(fsbp("KMS.5"), baseline("least-privilege")),
        resource_types=(KEY,),
        check=check_policy_principals,
    ),
)
