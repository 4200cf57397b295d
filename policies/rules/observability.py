"""CloudWatch log groups, SQS queues and SNS topics: retention and encryption."""

from __future__ import annotations

from collections.abc import Iterator

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline, fsbp
from policies.rules._helpers import truthy

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"


def check_retention(group: ResourceRecord, plan: Plan) -> Iterator[str]:
    days = group.inputs.get("retention_in_days")
    if not isinstance(days, int) or days <= 0:
        yield "no retention: logs are kept (and billed) forever"


#: Retention prod log groups keep at least (the one year checkov's CKV_AWS_338 asks for).
PROD_MIN_RETENTION_DAYS = 365


def check_prod_retention(group: ResourceRecord, plan: Plan) -> Iterator[str]:
    tags = group.inputs.get("tags")
    days = group.inputs.get("retention_in_days")
    if (isinstance(tags, dict) and tags.get("env") == "prod" and isinstance(days, int)
            and 0 < days < PROD_MIN_RETENTION_DAYS):
        yield f"prod log group keeps {days} days, below {PROD_MIN_RETENTION_DAYS}"


def check_log_key(group: ResourceRecord, plan: Plan) -> Iterator[str]:
    if not group.inputs.get("kms_key_id"):
        yield "log group is not encrypted with a customer KMS key"


def check_queue(queue: ResourceRecord, plan: Plan) -> Iterator[str]:
    if not queue.inputs.get("kms_master_key_id") and not truthy(
            queue.inputs.get("sqs_managed_sse_enabled")):
        yield "queue is not encrypted at rest (no KMS key, SQS-managed SSE off)"


def check_topic(topic: ResourceRecord, plan: Plan) -> Iterator[str]:
    if not topic.inputs.get("kms_master_key_id"):
        yield "topic is not encrypted with a KMS key"


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-LOG-001", title="CloudWatch log group has a retention period",
        severity=Severity.LOW,
        rationale="Without retention, logs grow forever; a set period is also what a "
                  "retention policy can be audited against.",
        remediation="Set retention_in_days (e.g. cluster.logRetentionDays).",
        controls=(fsbp("CloudWatch.16"),),
        resource_types=(LOG_GROUP,), check=check_retention,
    ),
    Rule(
        id="MLP-LOG-002", title="CloudWatch log group is encrypted with a customer KMS key",
        severity=Severity.MEDIUM,
        rationale="Control-plane, database and flow logs contain names, addresses and query "
                  "text; a customer key puts reads under a key policy.",
        remediation="Set kms_key_id to a rotating key whose policy admits logs.<region>.",
        controls=(baseline("encryption-at-rest"),),
        resource_types=(LOG_GROUP,), check=check_log_key,
    ),
    Rule(
        id="MLP-SQS-001", title="SQS queue is encrypted at rest",
        severity=Severity.MEDIUM,
        rationale="Queue messages (node interruption notices, job payloads) are data at rest.",
        remediation="Set sqs_managed_sse_enabled=True or kms_master_key_id.",
        controls=(fsbp("SQS.1"), baseline("encryption-at-rest")),
        resource_types=(QUEUE,), check=check_queue,
    ),
    Rule(
        id="MLP-SNS-001", title="SNS topic is encrypted with KMS",
        severity=Severity.MEDIUM,
        rationale="Alarm notifications name resources and thresholds; SNS stores messages "
                  "until delivered.",
        remediation="Set kms_master_key_id to a key whose policy admits the publishers.",
        controls=(fsbp("SNS.1"), baseline("encryption-at-rest")),
        resource_types=(TOPIC,), check=check_topic,
    ),
    Rule(
        id="MLP-LOG-003", title="Prod log groups keep at least a year",
        severity=Severity.MEDIUM,
        rationale="Incident investigations and audits reach back months; prod control-plane, "
                  "flow and database logs are kept a year (CKV_AWS_338's bar).",
        remediation="Leave the retention settings unset in prod (365 days), or set >= 365.",
        controls=(baseline("logging"),),
        resource_types=(LOG_GROUP,), check=check_prod_retention,
    ),
)
