"""Security groups: nothing reachable from the whole internet."""

from __future__ import annotations

from collections.abc import Iterator

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline, fsbp
from policies.rules._helpers import WORLD_V4, WORLD_V6, as_list

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_TYPES = (SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE)


def _ingress_cidrs(record: ResourceRecord) -> tuple[set[str], set[str]]:
    """(IPv4 CIDRs, IPv6 CIDRs) that may open inbound traffic on this record."""
    v4: set[str] = set()
    v6: set[str] = set()
    if record.type == INGRESS_RULE:
        v4 |= {str(record.inputs.get("cidr_ipv4"))}
        v6 |= {str(record.inputs.get("cidr_ipv6"))}
    elif record.type == LEGACY_RULE:
        if record.inputs.get("type") == "ingress":
            v4 |= set(map(str, as_list(record.inputs.get("cidr_blocks"))))
            v6 |= set(map(str, as_list(record.inputs.get("ipv6_cidr_blocks"))))
    else:
        for rule in as_list(record.inputs.get("ingress")):
            if isinstance(rule, dict):
                v4 |= set(map(str, as_list(rule.get("cidr_blocks"))))
                v6 |= set(map(str, as_list(rule.get("ipv6_cidr_blocks"))))
    return v4, v6


def check_world_v4(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    if WORLD_V4 in _ingress_cidrs(record)[0]:
        yield "ingress allowed from 0.0.0.0/0"


def check_world_v6(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    if WORLD_V6 in _ingress_cidrs(record)[1]:
        yield "ingress allowed from ::/0"


def check_default_group(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    for direction in ("ingress", "egress"):
        if as_list(record.inputs.get(direction)):
            yield f"the VPC default security group keeps {direction} rules"
    if "ingress" not in record.inputs and "egress" not in record.inputs:
        yield "the VPC default security group is adopted without clearing its rules"


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-NET-001", title="No security group ingress from 0.0.0.0/0",
        severity=Severity.HIGH,
        rationale="Nothing in an mlplat environment is an internet service; inbound from "
                  "anywhere exposes node, database or API ports to scanning and exploits.",
        remediation="Allow ingress from the VPC, a peer security group or named CIDRs only.",
        controls=(fsbp("EC2.18"), fsbp("EC2.53"), baseline("network-isolation")),
        resource_types=INGRESS_TYPES, check=check_world_v4,
    ),
    Rule(
        id="MLP-NET-002", title="No security group ingress from ::/0",
        severity=Severity.HIGH,
        rationale="IPv6 ::/0 is the whole internet, as 0.0.0.0/0 is for IPv4.",
        remediation="Allow ingress from the VPC, a peer security group or named CIDRs only.",
        controls=(fsbp("EC2.18"), fsbp("EC2.54"), baseline("network-isolation")),
        resource_types=INGRESS_TYPES, check=check_world_v6,
    ),
    Rule(
        id="MLP-NET-003", title="The VPC default security group has no rules",
        severity=Severity.MEDIUM,
        rationale="Anything launched without a security group lands in the default group; "
                  "with no rules it can talk to nothing.",
        remediation="Manage aws.ec2.DefaultSecurityGroup with ingress=[] and egress=[].",
        controls=(fsbp("EC2.2"),),
        resource_types=(DEFAULT_SECURITY_GROUP,), check=check_default_group,
    ),
)
