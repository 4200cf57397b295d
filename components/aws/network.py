"""The team VPC: private and public subnets over several AZs, NAT, an S3 gateway endpoint
limited by an endpoint policy, a managed default network ACL and encrypted VPC flow logs.

Subnet layout (documented in docs/components/network.md). The VPC CIDR (a /16 to /20) is
cut into eight equal blocks (prefix + 3):

    block 0..5  private subnet of AZ 0..5   (for a /16: six /19s, 8,187 usable addresses each;
                                              the VPC CNI gives every pod a VPC address, so the
                                              private side gets almost all the space)
    block 6     reserved, unallocated        (room for intra/database subnets later without
                                              renumbering anything)
    block 7     cut again into eight (prefix + 6): public subnet of AZ 0..5
                                              (for a /16: /22s; only NAT gateways and load
                                              balancers live there)

Adding AZs later only appends subnets; existing CIDRs never move.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components._lib.errors import ComponentError
from components._lib.log_group import AccountContext, encrypted_log_group
from components._lib.naming import Tagger, iam_name_prefix
from components._lib.policies import flow_log_role_policy, flow_logs_trust_policy
from mlplat.config import NatMode, NetworkConfig

#: Blocks the VPC CIDR is split into (prefix + 3 bits); see the module docstring. Room for
#: six AZs, which is why config caps `network.availabilityZones` at 6.
_BLOCK_BITS = 3
_PUBLIC_BLOCK = 7
_PUBLIC_BITS = 3


@dataclass(frozen=True)
class SubnetPlan:
    """CIDRs of one AZ's subnet pair."""

    private_cidr: str
    public_cidr: str


def subnet_layout(vpc_cidr: str, az_count: int) -> list[SubnetPlan]:
    """Non-overlapping private/public CIDRs for `az_count` AZs (see the module docstring);
    config guarantees a /16../20 CIDR and at most six AZs."""
    vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    blocks = list(vpc.subnets(prefixlen_diff=_BLOCK_BITS))
    public = list(blocks[_PUBLIC_BLOCK].subnets(prefixlen_diff=_PUBLIC_BITS))
    return [SubnetPlan(str(blocks[i]), str(public[i])) for i in range(az_count)]


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of the Network component."""

    settings: NetworkConfig
    """VPC settings from the stack config (`mlplat:network`)."""
    cluster_name: str
    """EKS cluster that will use the subnets; drives the discovery tags."""
    tags: Mapping[str, str]
    """Tags set explicitly on every taggable child (not only through provider default_tags)."""
    prod: bool = False
    """The environment is prod: per-tier defaults (flow-log retention) follow it."""


#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/network:Network"


class Network(pulumi.ComponentResource):
    """VPC, subnets, routing, NAT, S3 gateway endpoint, flow logs, locked default SG."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    availability_zones: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        settings = args.settings
        super().__init__(TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        invoke_output = pulumi.InvokeOutputOptions(parent=self)

        tags = Tagger(args.tags, name)

        zones = _pick_zones(settings.availability_zones, invoke)
        layout = subnet_layout(settings.vpc_cidr, len(zones))
        region = aws.get_region_output(opts=invoke_output).region
        account = aws.get_caller_identity_output(opts=invoke_output).account_id
        partition = aws.get_partition_output(opts=invoke_output).partition

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=settings.vpc_cidr,
            # EKS needs both: nodes register by private DNS name, and interface/gateway
            # endpoints resolve only with DNS support on.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=tags("vpc"),
            opts=child,
        )

        # Adopt the VPC's default security group and strip every rule from it: anything
        # launched without an explicit group lands in it and must get no connectivity.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            revoke_rules_on_delete=True,
            tags=tags("default-sg-locked"),
            opts=child,
        )

        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=tags("igw"), opts=child
        )

        cluster_tag = f"kubernetes.io/cluster/{args.cluster_name}"
        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for index, (zone, cidrs) in enumerate(zip(zones, layout, strict=True)):
            # Load balancer controllers pick subnets for internet-facing load balancers by
            # the `elb` role tag: without it, none can be internet-facing (opt-in).
            public_lb_tags = (
                {"kubernetes.io/role/elb": "1"} if settings.internet_facing_load_balancers
                else {}
            )
            public_subnets.append(aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=cidrs.public_cidr,
                # Public subnets host only NAT gateways and load balancers; nothing should
                # get a public address just by being launched here.
                map_public_ip_on_launch=False,
                tags=tags(f"public-{zone}", **{
                    cluster_tag: "shared",
                    **public_lb_tags,
                    "mlplat.io/subnet-tier": "public",
                }),
                opts=child,
            ))
            private_subnets.append(aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=cidrs.private_cidr,
                map_public_ip_on_launch=False,
                tags=tags(f"private-{zone}", **{
                    cluster_tag: "shared",
                    "kubernetes.io/role/internal-elb": "1",
                    # Karpenter's EC2NodeClass selects node subnets by this tag.
                    "karpenter.sh/discovery": args.cluster_name,
                    "mlplat.io/subnet-tier": "private",
                }),
                opts=child,
            ))

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags=tags("public-rt"), opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        for index, subnet in enumerate(public_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}-rta",
                subnet_id=subnet.id,
                route_table_id=public_rt.id,
                opts=child,
            )

        # One NAT per AZ keeps an AZ outage from cutting the others off the internet;
        # `single` trades that for cost outside prod.
        nat_count = len(zones) if settings.nat_mode is NatMode.PER_AZ else 1
        nats: list[aws.ec2.NatGateway] = []
        for index in range(nat_count):
            eip = aws.ec2.Eip(
                f"{name}-nat-{index}-eip",
                domain="vpc",
                tags=tags(f"nat-{zones[index]}"),
                opts=child,
            )
            nats.append(aws.ec2.NatGateway(
                f"{name}-nat-{index}",
                allocation_id=eip.id,
                subnet_id=public_subnets[index].id,
                connectivity_type="public",
                tags=tags(f"nat-{zones[index]}"),
                # A NAT gateway in a VPC without an attached IGW fails to create.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            ))

        private_rts: list[aws.ec2.RouteTable] = []
        for index, subnet in enumerate(private_subnets):
            rt = aws.ec2.RouteTable(
                f"{name}-private-{index}-rt",
                vpc_id=vpc.id,
                tags=tags(f"private-{zones[index]}-rt"),
                opts=child,
            )
            private_rts.append(rt)
            aws.ec2.Route(
                f"{name}-private-{index}-default",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[index % nat_count].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}-rta",
                subnet_id=subnet.id,
                route_table_id=rt.id,
                opts=child,
            )

        # S3 traffic (images layers, datasets, checkpoints) stays on the AWS network and
        # skips NAT processing charges. The endpoint policy limits it to this account's
        # buckets and the AWS-owned buckets nodes need, so a pod cannot copy data to a
        # bucket of another account over the endpoint.
        endpoint_policy = pulumi.Output.all(partition, region, account).apply(
            lambda v: json.dumps(
                s3_endpoint_policy(v[0], v[1], v[2], settings.s3_endpoint_extra_buckets)
            )
        )
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=vpc.id,
            service_name=region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            policy=endpoint_policy,
            tags=tags("s3-endpoint"),
            opts=child,
        )

        # Adopt the default network ACL so its rules are in code rather than whatever the
        # account holds, and associate every subnet with it explicitly. Filtering stays
        # with security groups and NetworkPolicies (stateful); the stateless ACL only
        # refuses remote-administration ports from anywhere as a second line.
        aws.ec2.DefaultNetworkAcl(
            f"{name}-default-nacl",
            default_network_acl_id=vpc.default_network_acl_id,
            subnet_ids=[s.id for s in [*public_subnets, *private_subnets]],
            ingress=default_nacl_ingress(),
            egress=[aws.ec2.DefaultNetworkAclEgressArgs(
                rule_no=100, action="allow", protocol="-1", cidr_block="0.0.0.0/0",
                from_port=0, to_port=0,
            )],
            tags=tags("default-nacl"),
            opts=child,
        )

        self._flow_logs(name, args, vpc, region, account, partition, tags)

        self.vpc_id = vpc.id
        self.vpc_cidr = settings.vpc_cidr
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.availability_zones = pulumi.Output.from_input(list(zones))
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "vpc_cidr": self.vpc_cidr,
            "private_subnet_ids": self.private_subnet_ids,
            "public_subnet_ids": self.public_subnet_ids,
            "availability_zones": self.availability_zones,
        })

    def _flow_logs(
        self,
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        region: pulumi.Output[str],
        account: pulumi.Output[str],
        partition: pulumi.Output[str],
        tag: Tagger,
    ) -> None:
        """Flow logs to a KMS-encrypted CloudWatch log group with a least-privilege role."""
        settings = args.settings.flow_logs
        child = pulumi.ResourceOptions(parent=self)
        logs = encrypted_log_group(
            parent=self,
            prefix=name,
            tag=tag,
            where=AccountContext(partition=partition, account=account, region=region),
            log_group_name=f"/mlplat/{name}/vpc-flow-logs",
            retention_days=settings.effective_retention_days(args.prod),
            key_role="flow-logs-key",
            log_group_role="flow-logs",
            key_description=f"Encrypts VPC flow logs of {name}",
            alias_name=f"alias/mlplat/{name}/vpc-flow-logs",
        )
        log_group = logs.log_group
        assume = account.apply(lambda acct: json.dumps(flow_logs_trust_policy(acct)))
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            name_prefix=iam_name_prefix(args.cluster_name, "flow-logs"),
            description=f"VPC flow logs of {name} write to their log group",
            assume_role_policy=assume,
            tags=tag("flow-logs-role"),
            opts=child,
        )
        log_groups_in_region = pulumi.Output.concat(
            "arn:", partition, ":logs:", region, ":", account, ":log-group:*"
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-write",
            role=role.id,
            policy=pulumi.Output.all(log_group.arn, log_groups_in_region).apply(
                lambda v: json.dumps(flow_log_role_policy(*v))
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type=settings.traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            # One-minute aggregation: incident timelines need better than 10-minute buckets.
            max_aggregation_interval=60,
            tags=tag("flow-log"),
            opts=child,
        )


#: AWS-owned buckets nodes read through the S3 endpoint: ECR keeps image layers in
#: `prod-<region>-starport-layer-bucket`; AL2023 package repositories are in
#: `al2023-repos-<region>-<suffix>` (dnf on the nodes).
AWS_OWNED_BUCKETS: tuple[str, ...] = (
    "prod-{region}-starport-layer-bucket",
    "al2023-repos-{region}-*",
)

#: TCP ports the default network ACL refuses from anywhere: SSH and RDP (nodes have no SSH
#: keys; break-glass access is Session Manager, which needs no inbound port).
ADMIN_PORTS: tuple[int, ...] = (22, 3389)


def s3_endpoint_policy(
    partition: str, region: str, account: str, extra_buckets: Sequence[str] = ()
) -> dict[str, Any]:
    """Endpoint policy of the S3 gateway endpoint: this account's buckets, the AWS-owned
    buckets nodes need, and the named extra buckets; nothing else (an endpoint policy is an
    allow-list: what no statement allows is denied)."""
    def objects(bucket: str) -> str:
        return f"arn:{partition}:s3:::{bucket}/*"

    statements: list[dict[str, Any]] = [
        {
            "Sid": "ThisAccountsBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceAccount": account}},
        },
        {
            "Sid": "AwsOwnedNodeBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": [objects(b.format(region=region)) for b in AWS_OWNED_BUCKETS],
        },
    ]
    if extra_buckets:
        statements.append({
            "Sid": "NamedExtraBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn for b in extra_buckets
                         for arn in (f"arn:{partition}:s3:::{b}", objects(b))],
        })
    return {"Version": "2012-10-17", "Statement": statements}


def _nacl_entry(
    rule_no: int, action: str, protocol: str, from_port: int, to_port: int
) -> aws.ec2.DefaultNetworkAclIngressArgs:
    return aws.ec2.DefaultNetworkAclIngressArgs(
        rule_no=rule_no, action=action, protocol=protocol, cidr_block="0.0.0.0/0",
        from_port=from_port, to_port=to_port,
    )


def default_nacl_ingress() -> list[aws.ec2.DefaultNetworkAclIngressArgs]:
    """Deny the admin ports from anywhere, then allow the rest: return traffic of NAT'd
    connections arrives from internet addresses on ephemeral ports, so a stateless ACL
    cannot be narrower without breaking egress."""
    denies = [_nacl_entry(10 * (i + 1), "deny", "tcp", port, port)
              for i, port in enumerate(ADMIN_PORTS)]
    return [*denies, _nacl_entry(100, "allow", "-1", 0, 0)]


def _pick_zones(count: int, invoke: pulumi.InvokeOptions) -> list[str]:
    """The first `count` available AZs of the region, or a clear error."""
    available = list(aws.get_availability_zones(state="available", opts=invoke).names or [])
    if len(available) < count:
        raise ComponentError(
            f"mlplat:network.availabilityZones is {count} but the region has only "
            f"{len(available)} available zone(s) ({', '.join(available) or 'none'})"
        )
    return available[:count]
