"""Security groups, network ACLs, subnets and VPC endpoints: nothing reachable from (or
sending everything to) the whole internet."""

from __future__ import annotations

from collections.abc import Iterator

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline, fsbp
from policies.rules._helpers import WORLD_V4, WORLD_V6, allows, as_list, statements

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_TYPES = (SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE)
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
EGRESS_TYPES = (SECURITY_GROUP, EGRESS_RULE, LEGACY_RULE)
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
DEFAULT_NACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
#: The subnet tag load balancer controllers look for to place internet-facing load balancers.
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
ALL_PROTOCOLS = ("-1", "all")


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


def _all_protocol_egress_cidrs(record: ResourceRecord) -> set[str]:
    """CIDRs this record sends every protocol and port to."""
    if record.type == EGRESS_RULE:
        if str(record.inputs.get("ip_protocol")) in ALL_PROTOCOLS:
            return {str(record.inputs.get("cidr_ipv4")), str(record.inputs.get("cidr_ipv6"))}
        return set()
    if record.type == LEGACY_RULE:
        if (record.inputs.get("type") == "egress"
                and str(record.inputs.get("protocol")) in ALL_PROTOCOLS):
            return {*map(str, as_list(record.inputs.get("cidr_blocks"))),
                    *map(str, as_list(record.inputs.get("ipv6_cidr_blocks")))}
        return set()
    found: set[str] = set()
    for rule in as_list(record.inputs.get("egress")):
        if isinstance(rule, dict) and str(rule.get("protocol")) in ALL_PROTOCOLS:
            found |= {*map(str, as_list(rule.get("cidr_blocks"))),
                      *map(str, as_list(rule.get("ipv6_cidr_blocks")))}
    return found


def check_open_egress(record: ResourceRecord, plan: Plan) -> Iterator[str]:
    for world in sorted(_all_protocol_egress_cidrs(record) & {WORLD_V4, WORLD_V6}):
        yield f"egress on every protocol and port to {world}"


def check_s3_endpoint_policy(endpoint: ResourceRecord, plan: Plan) -> Iterator[str]:
    if not str(endpoint.inputs.get("service_name", "")).endswith(".s3"):
        return
    allowed = [s for s in statements(endpoint.inputs.get("policy")) if allows(s)]
    if not allowed:
        yield "the S3 endpoint has no endpoint policy: it reaches every bucket of every account"
        return
    for statement in allowed:
        if "*" in as_list(statement.get("Resource")) and not statement.get("Condition"):
            yield (f"statement {statement.get('Sid', '(no Sid)')} allows every bucket of "
                   "every account (Resource '*' without a condition such as "
                   "aws:ResourceAccount)")


def _depends_on(plan: Plan, record: ResourceRecord, target: str, hops: int = 2) -> bool:
    if target in record.dependencies:
        return True
    if hops <= 1:
        return False
    by_urn = {r.urn: r for r in plan.resources}
    return any(_depends_on(plan, by_urn[d], target, hops - 1)
               for d in record.dependencies if d in by_urn)


def check_default_nacl(vpc: ResourceRecord, plan: Plan) -> Iterator[str]:
    managed = [acl for acl in plan.of_type(DEFAULT_NACL)
               if _depends_on(plan, acl, vpc.urn)
               and (as_list(acl.inputs.get("ingress")) or as_list(acl.inputs.get("egress")))]
    if not managed:
        yield ("the VPC's default network ACL is not managed with explicit rules (adopt it "
               "with aws.ec2.DefaultNetworkAcl)")


def check_public_elb_tag(subnet: ResourceRecord, plan: Plan) -> Iterator[str]:
    tags = subnet.inputs.get("tags")
    if isinstance(tags, dict) and tags.get(PUBLIC_ELB_TAG) == "1":
        yield (f"subnet is tagged {PUBLIC_ELB_TAG}: any Service of type LoadBalancer can "
               "become internet-facing here")


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
    Rule(
        id="MLP-NET-004", title="The S3 gateway endpoint has a policy limiting its buckets",
        severity=Severity.MEDIUM,
        rationale="Without an endpoint policy, anything in the VPC can copy data to a "
                  "bucket of any account over the endpoint; an allow-list of this account's "
                  "buckets (and the AWS-owned ones nodes need) makes that path fail.",
        remediation="Set the endpoint policy (network.s3EndpointExtraBuckets for buckets of "
                    "other accounts).",
        controls=(baseline("data-exfiltration"),),
        resource_types=(VPC_ENDPOINT,), check=check_s3_endpoint_policy,
    ),
    Rule(
        id="MLP-NET-005", title="No security group egress on every protocol to the internet",
        severity=Severity.MEDIUM,
        rationale="Nodes and pods need HTTPS out, not every port and protocol; open egress "
                  "makes exfiltration and command-and-control channels easy.",
        remediation="Allow the ports needed (443 to anywhere, the rest to peer groups).",
        controls=(fsbp("EC2.53"), baseline("network-isolation")),
        resource_types=EGRESS_TYPES, check=check_open_egress,
    ),
    Rule(
        id="MLP-NET-006", title="The VPC's default network ACL is managed",
        severity=Severity.LOW,
        rationale="An unmanaged default ACL holds whatever the account was given or someone "
                  "edited; adopting it puts its rules and subnet associations in code and "
                  "in review.",
        remediation="Adopt it with aws.ec2.DefaultNetworkAcl and explicit rules.",
        controls=(fsbp("EC2.21"), baseline("network-isolation")),
        resource_types=(VPC,), check=check_default_nacl, needs_plan=True,
    ),
    Rule(
        id="MLP-NET-007", title="No subnet is tagged for internet-facing load balancers",
        severity=Severity.MEDIUM,
        rationale="With public subnets tagged kubernetes.io/role/elb, any LoadBalancer "
                  "Service can become an internet-facing load balancer; internet exposure "
                  "is an explicit, reviewed opt-in.",
        remediation="Leave network.internetFacingLoadBalancers off, or waive this finding "
                    "for the stack with the reason the exposure is wanted.",
        controls=(baseline("network-isolation"),),
        resource_types=(SUBNET,), check=check_public_elb_tag,
    ),
)
