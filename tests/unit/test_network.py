"""Plan-level tests of the Network component: the properties a reviewer relies on without a
cloud (subnet layout and tags, NAT topology, S3 endpoint routing, encrypted flow logs, the
locked default security group).

Environments are planned through the real offline engine (`plan_environment`), so these
tests see exactly the registrations `mlplat plan` shows.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from components._lib.errors import ComponentError
from components.aws import network
from mlplat.config import REQUIRED_TAGS, parse_environment
from mlplat.plan import Plan, ResourceRecord, plan_environment

pytestmark = pytest.mark.unit

CLUSTER = "vision-dev"
REGION = "eu-west-1"
NETWORK = "mlplat:aws/network:Network"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"


def _environment(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "team": "vision",
        "env": "dev",
        "region": REGION,
        "tags": {"cost-center": "cc-4711"},
    }
    raw.update(overrides)
    return raw


@functools.cache
def _plan(overrides_json: str = "{}") -> Plan:
    config = parse_environment(_environment(**json.loads(overrides_json)), "<test>")
    return plan_environment(config)


def plan_of(**overrides: Any) -> Plan:
    """The plan of a dev environment with `overrides` (cached: plans are deterministic)."""
    return _plan(json.dumps(overrides, sort_keys=True))


def network_children(plan: Plan, type_token: str | None = None) -> list[ResourceRecord]:
    component = plan.one(NETWORK)
    return [
        r
        for r in plan.children(component.urn)
        if type_token is None or r.type == type_token
    ]


def subnets(plan: Plan, tier: str) -> list[ResourceRecord]:
    return [
        s
        for s in network_children(plan, SUBNET)
        if s.inputs["tags"].get("mlplat.io/subnet-tier") == tier
    ]


@pytest.fixture(scope="module")
def default_plan() -> Plan:
    return plan_of()


@pytest.fixture(scope="module")
def single_nat_plan() -> Plan:
    return plan_of(
        network={
            "natMode": "single",
            "availabilityZones": 2,
            "flowLogs": {"retentionDays": 30, "trafficType": "REJECT"},
        }
    )


# ------------------------------------------------------------------ subnet layout


@pytest.mark.parametrize("prefix", [16, 17, 18, 19, 20])
@pytest.mark.parametrize("azs", [1, 2, 3, 6])
def test_layout_is_inside_the_vpc_and_never_overlaps(prefix: int, azs: int) -> None:
    vpc = ipaddress.IPv4Network(f"10.40.0.0/{prefix}")
    layout = network.subnet_layout(str(vpc), azs)
    cidrs = [ipaddress.IPv4Network(c) for p in layout for c in (p.private_cidr, p.public_cidr)]
    assert len(layout) == azs
    for index, cidr in enumerate(cidrs):
        assert cidr.subnet_of(vpc), f"{cidr} outside {vpc}"
        for other in cidrs[index + 1 :]:
            assert not cidr.overlaps(other), f"{cidr} overlaps {other}"
    # Pods take VPC addresses: the private side must get the lion's share.
    for pair in layout:
        private = ipaddress.IPv4Network(pair.private_cidr)
        public = ipaddress.IPv4Network(pair.public_cidr)
        assert private.num_addresses == 8 * public.num_addresses


def test_layout_is_stable_when_azs_are_added() -> None:
    three = network.subnet_layout("10.40.0.0/16", 3)
    six = network.subnet_layout("10.40.0.0/16", 6)
    assert six[:3] == three


def test_too_few_zones_in_the_region_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        network.aws,
        "get_availability_zones",
        lambda **_: SimpleNamespace(names=["eu-west-1a", "eu-west-1b"]),
    )
    # Deploy-time fact, not config: a RunError (Pulumi prints it without a traceback) naming
    # the field.
    assert issubclass(ComponentError, pulumi.RunError)
    with pytest.raises(ComponentError, match=r"mlplat:network\.availabilityZones is 3 .* only 2 "):
        network._pick_zones(3, None)  # type: ignore[arg-type]


# ------------------------------------------------------------------ VPC and subnets


def test_vpc_has_dns_support_and_hostnames(default_plan: Plan) -> None:
    (vpc,) = network_children(default_plan, "aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidr_block"] == "10.40.0.0/16"
    assert vpc.inputs["enable_dns_support"] is True
    assert vpc.inputs["enable_dns_hostnames"] is True


def test_one_private_and_one_public_subnet_per_az(default_plan: Plan) -> None:
    private, public = subnets(default_plan, "private"), subnets(default_plan, "public")
    assert len(private) == len(public) == 3
    for tier in (private, public):
        zones = [s.inputs["availability_zone"] for s in tier]
        assert sorted(zones) == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    cidrs = [ipaddress.IPv4Network(s.inputs["cidr_block"]) for s in private + public]
    assert all(not a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])


def test_az_count_follows_config(single_nat_plan: Plan) -> None:
    assert len(subnets(single_nat_plan, "private")) == 2
    assert len(subnets(single_nat_plan, "public")) == 2


def test_no_subnet_hands_out_public_ips(default_plan: Plan) -> None:
    for subnet in network_children(default_plan, SUBNET):
        assert subnet.inputs["map_public_ip_on_launch"] is False, subnet.name


def test_private_subnets_are_tagged_for_internal_lbs_and_karpenter(default_plan: Plan) -> None:
    for subnet in subnets(default_plan, "private"):
        tags = subnet.inputs["tags"]
        assert tags[f"kubernetes.io/cluster/{CLUSTER}"] == "shared"
        assert tags["kubernetes.io/role/internal-elb"] == "1"
        assert tags["karpenter.sh/discovery"] == CLUSTER
        assert "kubernetes.io/role/elb" not in tags


def test_public_subnets_are_not_tagged_for_internet_lbs_by_default(default_plan: Plan) -> None:
    for subnet in subnets(default_plan, "public"):
        tags = subnet.inputs["tags"]
        assert tags[f"kubernetes.io/cluster/{CLUSTER}"] == "shared"
        # No `elb` role tag: no load balancer controller finds a subnet for an
        # internet-facing load balancer.
        assert "kubernetes.io/role/elb" not in tags
        # Karpenter must never place nodes in a public subnet.
        assert "karpenter.sh/discovery" not in tags
        assert "kubernetes.io/role/internal-elb" not in tags


def test_internet_facing_load_balancers_are_an_opt_in() -> None:
    plan = plan_of(network={"internetFacingLoadBalancers": True})
    for subnet in subnets(plan, "public"):
        assert subnet.inputs["tags"]["kubernetes.io/role/elb"] == "1"
    for subnet in subnets(plan, "private"):
        assert "kubernetes.io/role/elb" not in subnet.inputs["tags"]


def test_every_taggable_child_has_explicit_environment_tags(default_plan: Plan) -> None:
    untaggable = {
        ROUTE,
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:kms/alias:Alias",
        "aws:iam/rolePolicy:RolePolicy",
    }
    checked = 0
    for record in network_children(default_plan):
        if record.type in untaggable:
            continue
        tags = record.inputs.get("tags") or {}
        assert all(tags.get(key) for key in REQUIRED_TAGS), f"{record.name}: {tags}"
        assert tags["Name"].startswith("vision-dev-network-")
        checked += 1
    assert checked >= 20


# ------------------------------------------------------------------ NAT and routing


def _depends_on(record: ResourceRecord, target: ResourceRecord) -> bool:
    return target.urn in record.dependencies


def _private_default_routes(plan: Plan) -> list[ResourceRecord]:
    return [
        r
        for r in network_children(plan, ROUTE)
        if r.inputs["destination_cidr_block"] == "0.0.0.0/0" and "nat_gateway_id" in r.inputs
    ]


def test_per_az_nat_gives_each_private_subnet_its_own_gateway(default_plan: Plan) -> None:
    nats = network_children(default_plan, NAT)
    eips = network_children(default_plan, EIP)
    assert len(nats) == 3 and len(eips) == 3
    assert all(e.inputs["domain"] == "vpc" for e in eips)
    routes = _private_default_routes(default_plan)
    assert len(routes) == 3
    used = {nat.urn for route in routes for nat in nats if _depends_on(route, nat)}
    assert used == {nat.urn for nat in nats}
    # Each NAT sits in a public subnet, a different one per AZ.
    public = subnets(default_plan, "public")
    homes = {s.urn for nat in nats for s in public if _depends_on(nat, s)}
    assert len(homes) == 3


def test_single_nat_mode_shares_one_gateway(single_nat_plan: Plan) -> None:
    (nat,) = network_children(single_nat_plan, NAT)
    assert len(network_children(single_nat_plan, EIP)) == 1
    routes = _private_default_routes(single_nat_plan)
    assert len(routes) == 2
    assert all(_depends_on(route, nat) for route in routes)


def test_public_route_table_goes_through_the_internet_gateway(default_plan: Plan) -> None:
    (igw,) = network_children(default_plan, "aws:ec2/internetGateway:InternetGateway")
    igw_routes = [r for r in network_children(default_plan, ROUTE) if _depends_on(r, igw)]
    assert len(igw_routes) == 1
    assert igw_routes[0].inputs["destination_cidr_block"] == "0.0.0.0/0"
    assert "nat_gateway_id" not in igw_routes[0].inputs


def test_s3_gateway_endpoint_serves_every_private_route_table(default_plan: Plan) -> None:
    (endpoint,) = network_children(default_plan, "aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpc_endpoint_type"] == "Gateway"
    assert endpoint.inputs["service_name"] == f"com.amazonaws.{REGION}.s3"
    tables = network_children(default_plan, ROUTE_TABLE)
    private_tables = [t for t in tables if "-private-" in t.name]
    public_tables = [t for t in tables if "-public-" in t.name]
    assert len(private_tables) == 3 and len(endpoint.inputs["route_table_ids"]) == 3
    assert all(_depends_on(endpoint, t) for t in private_tables)
    assert not any(_depends_on(endpoint, t) for t in public_tables)


# ------------------------------------------------------------------ flow logs


def _flow_log_parts(plan: Plan) -> tuple[ResourceRecord, ResourceRecord, ResourceRecord]:
    (flow_log,) = network_children(plan, "aws:ec2/flowLog:FlowLog")
    (log_group,) = network_children(plan, "aws:cloudwatch/logGroup:LogGroup")
    (key,) = network_children(plan, "aws:kms/key:Key")
    return flow_log, log_group, key


def test_flow_logs_go_to_an_encrypted_log_group_with_retention(default_plan: Plan) -> None:
    flow_log, log_group, key = _flow_log_parts(default_plan)
    assert flow_log.inputs["log_destination_type"] == "cloud-watch-logs"
    assert flow_log.inputs["traffic_type"] == "ALL"
    assert _depends_on(flow_log, log_group)
    # dev: the non-prod default (checkov's CKV_AWS_338 one-year bar is waived for dev and
    # staging in stacks/checkov-waivers.yaml, with the reason).
    assert log_group.inputs["retention_in_days"] == 90
    assert log_group.inputs["kms_key_id"].startswith(f"arn:aws:kms:{REGION}:")
    assert _depends_on(log_group, key)
    assert key.inputs["enable_key_rotation"] is True


def test_prod_keeps_flow_logs_a_year_by_default() -> None:
    _, log_group, _ = _flow_log_parts(plan_of(env="prod"))
    assert log_group.inputs["retention_in_days"] == 365


def test_flow_log_settings_follow_config(single_nat_plan: Plan) -> None:
    flow_log, log_group, _ = _flow_log_parts(single_nat_plan)
    assert log_group.inputs["retention_in_days"] == 30
    assert flow_log.inputs["traffic_type"] == "REJECT"


def test_flow_log_key_lets_cloudwatch_use_it_for_that_log_group_only(default_plan: Plan) -> None:
    _, log_group, key = _flow_log_parts(default_plan)
    policy = json.loads(key.inputs["policy"])
    service_statements = [s for s in policy["Statement"] if "Service" in s["Principal"]]
    (statement,) = service_statements
    assert statement["Principal"]["Service"] == f"logs.{REGION}.amazonaws.com"
    condition = statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert condition.endswith(f":log-group:{log_group.inputs['name']}")
    assert not any("kms:*" in str(s["Action"]) for s in service_statements)


def test_flow_log_role_can_only_write_to_its_log_group(default_plan: Plan) -> None:
    (role,) = network_children(default_plan, "aws:iam/role:Role")
    trust = json.loads(role.inputs["assume_role_policy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "vpc-flow-logs.amazonaws.com"}]
    (policy,) = network_children(default_plan, "aws:iam/rolePolicy:RolePolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    write = [s for s in statements if any(a != "logs:DescribeLogGroups" for a in s["Action"])]
    assert {a for s in write for a in s["Action"]} == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogStreams",
    }
    for statement in write:
        assert all(":log-group:/mlplat/" in r for r in statement["Resource"]), statement
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert all(a.startswith("logs:") and "*" not in a for a in statement["Action"])
        assert "*" not in statement["Resource"]
        assert all(r.startswith(f"arn:aws:logs:{REGION}:") for r in statement["Resource"])


# ------------------------------------------------------------------ default security group


def test_default_security_group_is_stripped_of_all_rules(default_plan: Plan) -> None:
    (default_sg,) = network_children(
        default_plan, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
    )
    assert default_sg.inputs["ingress"] == []
    assert default_sg.inputs["egress"] == []


# ------------------------------------------------------------------ S3 endpoint policy


def _endpoint_policy(plan: Plan) -> list[dict[str, Any]]:
    (endpoint,) = network_children(plan, "aws:ec2/vpcEndpoint:VpcEndpoint")
    statements: list[dict[str, Any]] = json.loads(endpoint.inputs["policy"])["Statement"]
    return statements


def test_s3_endpoint_reaches_this_accounts_buckets_and_the_aws_node_buckets_only(
    default_plan: Plan,
) -> None:
    statements = _endpoint_policy(default_plan)
    assert all(s["Effect"] == "Allow" for s in statements)
    unconditioned = [r for s in statements if "Condition" not in s for r in s["Resource"]]
    # Every statement either names buckets or is limited to this account's buckets.
    assert "*" not in unconditioned
    assert sorted(unconditioned) == [
        f"arn:aws:s3:::al2023-repos-{REGION}-*/*",
        f"arn:aws:s3:::prod-{REGION}-starport-layer-bucket/*",
    ]
    (own,) = [s for s in statements if "Condition" in s]
    assert own["Condition"] == {"StringEquals": {"aws:ResourceAccount": "111122223333"}}


def test_extra_buckets_of_other_accounts_are_named_one_by_one() -> None:
    plan = plan_of(network={"s3EndpointExtraBuckets": ["open-datasets"]})
    (extra,) = [s for s in _endpoint_policy(plan) if s["Sid"] == "NamedExtraBuckets"]
    assert extra["Resource"] == ["arn:aws:s3:::open-datasets", "arn:aws:s3:::open-datasets/*"]


# ------------------------------------------------------------------ default network ACL


def test_default_network_acl_is_managed_and_refuses_admin_ports(default_plan: Plan) -> None:
    (acl,) = network_children(default_plan, "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl")
    assert len(acl.inputs["subnet_ids"]) == 2 * 3  # every public and private subnet
    ingress = sorted(acl.inputs["ingress"], key=lambda r: r["rule_no"])
    denied = [(r["from_port"], r["cidr_block"]) for r in ingress if r["action"] == "deny"]
    assert denied == [(22, "0.0.0.0/0"), (3389, "0.0.0.0/0")]
    # The denies come before the allow: ACL rules are evaluated lowest number first.
    assert ingress[-1]["action"] == "allow"
    assert max(r["rule_no"] for r in ingress if r["action"] == "deny") < ingress[-1]["rule_no"]
