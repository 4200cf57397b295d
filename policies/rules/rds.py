"""RDS database instances and their parameter groups."""

from __future__ import annotations

from collections.abc import Iterator

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Check, Rule, Severity, baseline, fsbp
from policies.rules._helpers import OPAQUE, as_list, environment_tag, names_match, truthy

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
MIN_BACKUP_DAYS = 7
#: Environments whose data must survive an accidental `pulumi destroy`.
PROTECTED_ENVIRONMENTS = frozenset({"prod", "production"})


def _flag(name: str, message: str) -> Check:
    def check(db: ResourceRecord, plan: Plan) -> Iterator[str]:
        if not truthy(db.inputs.get(name)):
            yield message
    return check


def check_not_public(db: ResourceRecord, plan: Plan) -> Iterator[str]:
    if truthy(db.inputs.get("publicly_accessible")):
        yield "publicly_accessible is true"


def check_managed_password(db: ResourceRecord, plan: Plan) -> Iterator[str]:
    if not truthy(db.inputs.get("manage_master_user_password")):
        yield "master password is not managed by RDS in Secrets Manager"
    if "password" in db.inputs:
        yield "a master password is set in the program (it lands in state)"


def check_backups(db: ResourceRecord, plan: Plan) -> Iterator[str]:
    days = db.inputs.get("backup_retention_period")
    if not isinstance(days, int) or days < MIN_BACKUP_DAYS:
        yield f"backup_retention_period is {days}, below {MIN_BACKUP_DAYS} days"


def check_deletion_protection(db: ResourceRecord, plan: Plan) -> Iterator[str]:
    env = environment_tag(db)
    if env in PROTECTED_ENVIRONMENTS and not truthy(db.inputs.get("deletion_protection")):
        yield f"deletion protection is off in environment {env!r}"


def check_force_ssl(db: ResourceRecord, plan: Plan) -> Iterator[str]:
    engine = str(db.inputs.get("engine", ""))
    if "postgres" not in engine:
        return  # rds.force_ssl is a PostgreSQL parameter; other engines differ
    group_name = db.inputs.get("parameter_group_name")
    if isinstance(group_name, str) and group_name not in OPAQUE:
        groups = [g for g in plan.of_type(PARAMETER_GROUP) if names_match(g, group_name)]
    else:  # a generated name is unknown during preview: the database depends on its group
        groups = [g for g in plan.of_type(PARAMETER_GROUP) if g.urn in db.dependencies]
    for group in groups:
        for parameter in as_list(group.inputs.get("parameters")):
            if (isinstance(parameter, dict) and parameter.get("name") == "rds.force_ssl"
                    and str(parameter.get("value")) == "1"):
                return
    yield "no parameter group of this database sets rds.force_ssl=1"


def check_insights_key(db: ResourceRecord, plan: Plan) -> Iterator[str]:
    if truthy(db.inputs.get("performance_insights_enabled")) and not db.inputs.get(
            "performance_insights_kms_key_id"):
        yield "Performance Insights is on without a customer KMS key"


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-RDS-001", title="RDS storage is encrypted", severity=Severity.HIGH,
        rationale="Unencrypted storage, snapshots and replicas expose the data to anyone "
                  "holding a copy of the volume or snapshot.",
        remediation="Set storage_encrypted=True with kms_key_id (cannot change in place).",
        controls=(fsbp("RDS.3"), baseline("encryption-at-rest")),
        resource_types=(INSTANCE,),
        check=_flag("storage_encrypted", "storage_encrypted is not true"),
    ),
    Rule(
        id="MLP-RDS-002", title="RDS instance is not publicly accessible",
        severity=Severity.CRITICAL,
        rationale="A public DNS name and address turn the database into an internet "
                  "service guarded by a password alone.",
        remediation="Set publicly_accessible=False and place it in private subnets.",
        controls=(fsbp("RDS.2"), baseline("network-isolation")),
        resource_types=(INSTANCE,), check=check_not_public,
    ),
    Rule(
        id="MLP-RDS-003", title="RDS master password is managed by RDS",
        severity=Severity.HIGH,
        rationale="A password set by the program is stored in Pulumi state and config; "
                  "RDS-managed passwords live in Secrets Manager and rotate.",
        remediation="Set manage_master_user_password=True and remove password.",
        controls=(baseline("secrets-management"),),
        resource_types=(INSTANCE,), check=check_managed_password,
    ),
    Rule(
        id="MLP-RDS-004", title="RDS IAM database authentication is enabled",
        severity=Severity.MEDIUM,
        rationale="IAM authentication gives short-lived, auditable credentials instead of "
                  "shared database passwords.",
        remediation="Set iam_database_authentication_enabled=True.",
        controls=(fsbp("RDS.10"),),
        resource_types=(INSTANCE,),
        check=_flag("iam_database_authentication_enabled",
                    "IAM database authentication is off"),
    ),
    Rule(
        id="MLP-RDS-005", title="RDS keeps automated backups for at least 7 days",
        severity=Severity.MEDIUM,
        rationale="A week of point-in-time recovery covers a bad migration noticed after a "
                  "weekend.",
        remediation="Set backup_retention_period >= 7 (metadataDb.backupRetentionDays).",
        controls=(fsbp("RDS.11"), baseline("recoverability")),
        resource_types=(INSTANCE,), check=check_backups,
    ),
    Rule(
        id="MLP-RDS-006", title="RDS deletion protection is on in prod",
        severity=Severity.HIGH,
        rationale="In production, one mistaken destroy must not delete the database.",
        remediation="Set deletion_protection=True (protectData, on by default in prod).",
        controls=(fsbp("RDS.8"), baseline("recoverability")),
        resource_types=(INSTANCE,), check=check_deletion_protection,
    ),
    Rule(
        id="MLP-RDS-007", title="RDS PostgreSQL forces TLS (rds.force_ssl=1)",
        severity=Severity.HIGH,
        rationale="Without rds.force_ssl, clients may connect in clear text and expose "
                  "credentials and data on the network.",
        remediation="Use a parameter group that sets rds.force_ssl to 1.",
        controls=(baseline("encryption-in-transit"),),
        resource_types=(INSTANCE,), check=check_force_ssl, needs_plan=True,
    ),
    Rule(
        id="MLP-RDS-008", title="RDS Performance Insights uses a customer KMS key",
        severity=Severity.LOW,
        rationale="Performance Insights stores query text, which can contain data; it "
                  "should be under the same key as the database.",
        remediation="Set performance_insights_kms_key_id to the database key.",
        controls=(baseline("encryption-at-rest"),),
        resource_types=(INSTANCE,), check=check_insights_key,
    ),
)
