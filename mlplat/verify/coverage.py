"""Which rules `mlplat verify` checks against live AWS state, and why the others are plan-only.

A rule is live only where AWS returns what its check reads *and* moto (the test double the
verifier is tested against) returns it faithfully; a rule we could read but cannot test
stays plan-only rather than be claimed untested. The control matrix of docs/security.md and
docs/verify.md are generated from this module.
"""

from __future__ import annotations

from policies import ALL_RULES, Rule

#: Rules checked live, by ID. Every other rule is plan-only, for the reason below.
LIVE_RULE_IDS: frozenset[str] = frozenset({
    # S3: encryption, Bucket Keys, public access block (4 flags), versioning, ownership,
    # TLS-only policy, access logging, multipart-abort lifecycle.
    "MLP-S3-001", "MLP-S3-002", "MLP-S3-003", "MLP-S3-004", "MLP-S3-005", "MLP-S3-006",
    "MLP-S3-007", "MLP-S3-008", "MLP-S3-009", "MLP-S3-010", "MLP-S3-011",
    # RDS: encryption, not public, managed password, IAM auth, backups, deletion protection
    # in prod, rds.force_ssl in the instance's parameter group.
    "MLP-RDS-001", "MLP-RDS-002", "MLP-RDS-003", "MLP-RDS-004", "MLP-RDS-005",
    "MLP-RDS-006", "MLP-RDS-007",
    # EKS: endpoint exposure (3 rules), secrets encryption, log types, version.
    "MLP-EKS-001", "MLP-EKS-002", "MLP-EKS-003", "MLP-EKS-004", "MLP-EKS-005",
    "MLP-EKS-007",
    # KMS: rotation, key policy principals.
    "MLP-KMS-001", "MLP-KMS-002",
    # IAM: the roles of the stack, their inline and attached policies, their trust policy.
    "MLP-IAM-001", "MLP-IAM-002", "MLP-IAM-003", "MLP-IAM-004", "MLP-IAM-005",
    # Tags, on the five resource types verify reads.
    "MLP-TAG-001",
})

#: Where a live rule checks less live than on a plan: what it covers live.
LIVE_SCOPE: dict[str, str] = {
    "MLP-RDS-003": "managed password; 'password set in the program' is plan-only",
    "MLP-TAG-001": "buckets, RDS instances, EKS clusters, KMS keys, IAM roles",
    "MLP-IAM-001": "inline and attached policies of the stack's roles",
    "MLP-IAM-002": "inline and attached policies of the stack's roles",
    "MLP-IAM-003": "inline and attached policies of the stack's roles",
}

#: Live records built without the inputs a rule reads: the rule is not run on them. An RDS
#: parameter group is read for its parameters and an attached managed policy for its
#: document, not their tags (a policy attached by hand is not the stack's to tag).
NOT_READ_FOR: dict[str, frozenset[str]] = {
    "MLP-TAG-001": frozenset({"aws:rds/parameterGroup:ParameterGroup",
                              "aws:iam/policy:Policy"}),
}

#: Why a rule that verify could be expected to read is plan-only anyway.
PLAN_ONLY_REASONS: dict[str, str] = {
    "MLP-EKS-006": "moto's DescribeCluster returns no accessConfig: untestable here",
    "MLP-RDS-008": "moto's DescribeDBInstances returns no Performance Insights fields",
    "MLP-EKS-008": "EKS add-on configuration values are not read live",
    "MLP-IAM-006": "managed-policy attachments are read as documents, not by the policy ARN "
                   "this rule matches",
}

#: Areas verify does not read at all (yet): the reason for every other plan-only rule.
_UNREAD_AREAS: dict[str, str] = {
    "MLP-EC2": "launch templates are not read live",
    "MLP-K8S": "Kubernetes objects are not read live (no cluster API access)",
    "MLP-HELM": "Helm releases are not read live (no cluster API access)",
    "MLP-NET": "security groups are not read live",
    "MLP-LOG": "log groups are not read live",
    "MLP-SQS": "queues are not read live",
    "MLP-SNS": "topics are not read live",
}


def is_live(rule: Rule) -> bool:
    return rule.id in LIVE_RULE_IDS


def live_rules() -> tuple[Rule, ...]:
    return tuple(rule for rule in ALL_RULES if is_live(rule))


def checks_live(rule: Rule, type_token: str) -> bool:
    """Whether `rule` runs on a live record of `type_token`."""
    return is_live(rule) and type_token not in NOT_READ_FOR.get(rule.id, frozenset())


def plan_only_reason(rule: Rule) -> str:
    """Why `rule` is not checked live ("" if it is)."""
    if is_live(rule):
        return ""
    if rule.id in PLAN_ONLY_REASONS:
        return PLAN_ONLY_REASONS[rule.id]
    area = rule.id.rsplit("-", 1)[0]
    return _UNREAD_AREAS.get(area, "not read live")


#: Every AWS API call verify may make (botocore service and operation name) and the IAM
#: action it needs. The read-only guard refuses any call not listed here, and docs/verify.md
#: builds the reviewer's IAM policy from the actions, so the two cannot drift apart.
READ_CALLS: dict[str, str] = {
    "eks:DescribeCluster": "eks:DescribeCluster",
    "iam:GetPolicy": "iam:GetPolicy",
    "iam:GetPolicyVersion": "iam:GetPolicyVersion",
    "iam:GetRolePolicy": "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies": "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies": "iam:ListRolePolicies",
    "iam:ListRoleTags": "iam:ListRoleTags",
    "iam:GetRole": "iam:GetRole",
    "iam:ListRoles": "iam:ListRoles",
    "kms:DescribeKey": "kms:DescribeKey",
    "kms:GetKeyPolicy": "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus": "kms:GetKeyRotationStatus",
    "kms:ListAliases": "kms:ListAliases",
    "kms:ListResourceTags": "kms:ListResourceTags",
    "rds:DescribeDBInstances": "rds:DescribeDBInstances",
    "rds:DescribeDBParameters": "rds:DescribeDBParameters",
    "s3:ListBuckets": "s3:ListAllMyBuckets",
    "s3:GetBucketTagging": "s3:GetBucketTagging",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketVersioning": "s3:GetBucketVersioning",
    "s3:GetBucketPolicy": "s3:GetBucketPolicy",
    "s3:GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
    "s3:GetBucketLogging": "s3:GetBucketLogging",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "tagging:GetResources": "tag:GetResources",
}


def iam_actions() -> list[str]:
    """The IAM actions a reviewer's credentials need, sorted, each once."""
    return sorted(set(READ_CALLS.values()))
