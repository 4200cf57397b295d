"""IAM roles and policies: wildcards, PassRole, privilege escalation, open trust."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from fnmatch import fnmatchcase

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline, cis_eks, fsbp
from policies.rules._helpers import actions, allows, principal_values, resources, statements

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_TYPES = (ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY)
INLINE_TYPES = (ROLE_POLICY, USER_POLICY, GROUP_POLICY)

#: Actions that let a principal grant itself more than it has (the well-known IAM
#: privilege-escalation paths); iam:PassRole is its own rule.
ESCALATION_ACTIONS = (
    "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:PutUserPolicy",
    "iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:CreateAccessKey",
    "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:UpdateAssumeRolePolicy",
    "iam:AddUserToGroup", "iam:CreateUser", "iam:CreateRole",
)
#: Managed policies too broad for a node role: SSM core reads every SSM parameter of the
#: account (`ssm:GetParameter(s)` on `*`) for whatever holds the node's credentials.
BROAD_NODE_POLICIES = ("AmazonSSMManagedInstanceCore", "AmazonSSMFullAccess",
                       "AmazonEC2RoleforSSM")
ADMIN_POLICY_ARNS = ("arn:aws:iam::aws:policy/AdministratorAccess",
                     "arn:aws:iam::aws:policy/IAMFullAccess",
                     "arn:aws:iam::aws:policy/PowerUserAccess")


def _policy_statements(record: ResourceRecord) -> list[dict[str, object]]:
    return [s for s in statements(record.inputs.get("policy")) if allows(s)]


@functools.lru_cache(maxsize=4096)
def _matches(pattern: str, action: str) -> bool:
    """Whether IAM action `pattern` (wildcards, any case) covers `action`. Cached: the
    escalation check asks about the same pairs for every policy of every plan."""
    return fnmatchcase(action.lower(), pattern.lower())


def check_star_star(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    for s in _policy_statements(record):
        if "*" in actions(s) and "*" in resources(s):
            yield f"statement {s.get('Sid', '(no Sid)')} allows Action '*' on Resource '*'"


def check_pass_role(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    for s in _policy_statements(record):
        # Action '*' on '*' is MLP-IAM-001's finding; not reported twice.
        granted = [a for a in actions(s) if a != "*" and _matches(a, "iam:PassRole")]
        if granted and "*" in resources(s):
            yield f"statement {s.get('Sid', '(no Sid)')} allows iam:PassRole on every role"


def check_escalation(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    for s in _policy_statements(record):
        granted = sorted({e for e in ESCALATION_ACTIONS
                          for a in actions(s) if a != "*" and _matches(a, e)})
        if granted:
            yield (f"statement {s.get('Sid', '(no Sid)')} grants privilege-escalation "
                   f"actions: {', '.join(granted)}")


def check_open_trust(role: ResourceRecord, plan: Plan) -> Iterator[str]:
    for s in statements(role.inputs.get("assume_role_policy")):
        if allows(s) and "*" in principal_values(s) and not s.get("Condition"):
            yield f"trust statement {s.get('Sid', '(no Sid)')} lets any principal assume the role"


def check_inline_admin(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    if record.type == ATTACHMENT:
        arn = str(record.inputs.get("policy_arn", ""))
        if arn in ADMIN_POLICY_ARNS:
            yield f"attaches {arn.rsplit('/', 1)[-1]}"
        return
    if record.type == ROLE:
        for inline in record.inputs.get("inline_policies") or []:
            for s in statements(inline.get("policy") if isinstance(inline, dict) else None):
                if allows(s) and any(a in ("*", "iam:*") for a in actions(s)):
                    yield "inline policy grants administrator actions ('*' or 'iam:*')"
        return
    for s in _policy_statements(record):
        if "iam:*" in actions(s):
            yield f"statement {s.get('Sid', '(no Sid)')} allows iam:* (full IAM administration)"


def check_broad_node_policy(attachment: ResourceRecord, plan: Plan) -> Iterator[str]:
    arn = str(attachment.inputs.get("policy_arn", ""))
    name = arn.rsplit("/", 1)[-1]
    if ":iam::aws:policy/" in arn and name in BROAD_NODE_POLICIES:
        yield (f"{name} is attached: it lets whatever holds this role's credentials read "
               "every SSM parameter of the account")


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-IAM-001", title="IAM policy does not allow '*' actions on '*' resources",
        severity=Severity.CRITICAL,
        rationale="Action '*' on Resource '*' is full administrator access.",
        remediation="List the actions and resource ARNs the workload needs.",
        controls=(fsbp("IAM.1"), cis_eks("4.1.1"), baseline("least-privilege")),
        resource_types=POLICY_TYPES, check=check_star_star,
    ),
    Rule(
        id="MLP-IAM-002", title="IAM policy does not allow iam:PassRole on every role",
        severity=Severity.HIGH,
        rationale="PassRole on '*' lets a principal hand any role, admin included, to a "
                  "service it controls (EC2, Lambda) and act as it.",
        remediation="Restrict iam:PassRole to the ARNs of the roles the workload launches.",
        controls=(fsbp("IAM.21"), baseline("least-privilege")),
        resource_types=POLICY_TYPES, check=check_pass_role,
    ),
    Rule(
        id="MLP-IAM-003", title="IAM policy grants no privilege-escalation actions",
        severity=Severity.HIGH,
        rationale="Actions that edit policies, roles, users or keys let a principal grant "
                  "itself any permission.",
        remediation="Remove the listed actions; administer IAM from the deployment pipeline.",
        controls=(fsbp("IAM.21"), baseline("least-privilege")),
        resource_types=POLICY_TYPES, check=check_escalation,
    ),
    Rule(
        id="MLP-IAM-004", title="IAM role trust policy is not open to every principal",
        severity=Severity.CRITICAL,
        rationale="A trust policy allowing Principal '*' unconditionally lets any AWS "
                  "account assume the role.",
        remediation="Name the service or account principal, with aws:SourceAccount or "
                    "session-tag conditions.",
        controls=(baseline("least-privilege"),),
        resource_types=(ROLE,), check=check_open_trust,
    ),
    Rule(
        id="MLP-IAM-005", title="No administrator policy is attached or inlined",
        severity=Severity.CRITICAL,
        rationale="AdministratorAccess, IAMFullAccess, PowerUserAccess or iam:* in a "
                  "workload or node role turns any compromise into an account compromise.",
        remediation="Grant the specific managed or inline policies the role needs.",
        controls=(fsbp("IAM.1"), cis_eks("4.1.1")),
        resource_types=(*POLICY_TYPES, ROLE, ATTACHMENT), check=check_inline_admin,
    ),
    Rule(
        id="MLP-IAM-006", title="No broad SSM managed policy is attached",
        severity=Severity.MEDIUM,
        rationale="AmazonSSMManagedInstanceCore grants ssm:GetParameter(s) on every parameter; "
                  "on a node role, any pod that reaches the node's credentials (hostNetwork) "
                  "reads them all. Session Manager needs far less.",
        remediation="Drop it; for break-glass shells set cluster.nodeSessionManager (a narrow "
                    "inline policy without parameter reads).",
        controls=(fsbp("IAM.21"), baseline("least-privilege")),
        resource_types=(ATTACHMENT,), check=check_broad_node_policy,
    ),
)
