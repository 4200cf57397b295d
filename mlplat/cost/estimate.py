"""Monthly cost of a planned environment, idle and at full scale, from its offline plan.

Reading the plan (not the stack config) means every stack is costed the same way, a
committed plan JSON can be costed without running the program, and two plans give a cost
delta for a PR. Each chargeable resource type has one pricing function below; a resource
type that is neither priced nor known to be free is reported as *unpriced*, so a new
chargeable resource cannot quietly cost nothing.

Idle: everything that runs with no workload: the control plane, NAT gateways, the system
node group at its desired size, the database, keys, alarms. Karpenter pools are empty.
Full scale: every Karpenter pool at its limit (GPUs or vCPUs), node groups at their maximum,
the database storage at its autoscaling ceiling.

Karpenter picks the cheapest instance type that fits the pending pods, so a pool at its
GPU limit is costed at the lowest price per GPU among the types it allows (per vCPU for CPU
pools); a pool that allows spot capacity is costed at the spot assumption of the price table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mlplat import catalog
from mlplat.cost.prices import PriceError, RegionPrices, region_prices
from mlplat.plan.model import Plan, ResourceRecord


@dataclass(frozen=True)
class LineItem:
    """What one resource costs a month, idle and at full scale, and why."""

    component: str
    resource: str
    type: str
    idle: float
    full: float
    basis: str


@dataclass(frozen=True)
class CostEstimate:
    """The monthly estimate of one stack's plan."""

    stack: str
    env: str
    region: str
    currency: str
    checked: str
    spot_discount: float
    items: list[LineItem]
    usage_based: dict[str, int] = field(default_factory=dict)
    """Resource type -> count of resources billed by usage only (not in the totals)."""
    unpriced: dict[str, int] = field(default_factory=dict)
    """Resource type -> count of resources with no pricing rule at all."""

    @property
    def idle(self) -> float:
        return round(sum(item.idle for item in self.items), 2)

    @property
    def full(self) -> float:
        return round(sum(item.full for item in self.items), 2)

    def by_component(self) -> dict[str, tuple[float, float]]:
        return self._totals(lambda item: item.component)

    def by_type(self) -> dict[str, tuple[float, float]]:
        return self._totals(lambda item: item.type)

    def _totals(self, key: Callable[[LineItem], str]) -> dict[str, tuple[float, float]]:
        """(idle, full) summed per key, rounded to cents, sorted by key."""
        totals: dict[str, tuple[float, float]] = {}
        for item in self.items:
            idle, full = totals.get(key(item), (0.0, 0.0))
            totals[key(item)] = (idle + item.idle, full + item.full)
        return {name: (round(i, 2), round(f, 2)) for name, (i, f) in sorted(totals.items())}


class CostError(ValueError):
    """The plan cannot be costed (no region, a price missing from the table)."""


#: Resource types billed only by what they store or carry: listed, never guessed.
USAGE_BASED_TYPES = frozenset({
    "aws:s3/bucket:Bucket", "aws:efs/fileSystem:FileSystem", "aws:cloudwatch/logGroup:LogGroup",
    "aws:ec2/flowLog:FlowLog", "aws:sqs/queue:Queue", "aws:sns/topic:Topic",
    "aws:cloudwatch/eventRule:EventRule", "aws:efs/backupPolicy:BackupPolicy",
})

#: What costs nothing by itself: whole packages (Kubernetes objects run on priced nodes),
#: whole AWS modules that only configure (IAM, security group rules, bucket settings), and
#: named types. Anything else without a pricing rule is reported as unpriced.
_FREE_PACKAGES = frozenset({"kubernetes", "random", "pulumi", "mlplat", "tls"})
_FREE_AWS_MODULES = frozenset({"iam", "vpc", "s3"})
_FREE_AWS_TYPES = frozenset({
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable",
    "aws:ec2/route:Route", "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/internetGateway:InternetGateway", "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl", "aws:ec2/networkAcl:NetworkAcl",
    "aws:ec2/networkAclRule:NetworkAclRule",
    "aws:eks/addon:Addon", "aws:eks/accessEntry:AccessEntry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "aws:efs/mountTarget:MountTarget", "aws:efs/fileSystemPolicy:FileSystemPolicy",
    "aws:kms/alias:Alias", "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/subnetGroup:SubnetGroup", "aws:sns/topicPolicy:TopicPolicy",
    "aws:sns/topicSubscription:TopicSubscription", "aws:sqs/queuePolicy:QueuePolicy",
    "aws:cloudwatch/eventTarget:EventTarget",
})

Pricer = Callable[[ResourceRecord, RegionPrices, "_PlanIndex"], tuple[float, float, str]]
_PRICERS: dict[str, Pricer] = {}


def _prices(resource_type: str) -> Callable[[Pricer], Pricer]:
    def register(function: Pricer) -> Pricer:
        _PRICERS[resource_type] = function
        return function
    return register


class _PlanIndex:
    """Lookups a pricing function needs beyond its own record."""

    def __init__(self, plan: Plan) -> None:
        self.by_urn = {record.urn: record for record in plan.resources}

    def dependencies_of_type(self, record: ResourceRecord, resource_type: str
                             ) -> list[ResourceRecord]:
        return [self.by_urn[urn] for urn in record.dependencies
                if urn in self.by_urn and self.by_urn[urn].type == resource_type]


@_prices("aws:eks/cluster:Cluster")
def _eks_cluster(record: ResourceRecord, prices: RegionPrices, _: _PlanIndex
                 ) -> tuple[float, float, str]:
    monthly = prices.monthly(prices.services.eks_cluster_hour)
    return monthly, monthly, "EKS control plane, standard support"


@_prices("aws:ec2/natGateway:NatGateway")
def _nat_gateway(record: ResourceRecord, prices: RegionPrices, _: _PlanIndex
                 ) -> tuple[float, float, str]:
    monthly = prices.monthly(prices.services.nat_gateway_hour)
    return monthly, monthly, "NAT gateway hours (data processed is usage-based)"


@_prices("aws:ec2/eip:Eip")
def _public_ipv4(record: ResourceRecord, prices: RegionPrices, _: _PlanIndex
                 ) -> tuple[float, float, str]:
    monthly = prices.monthly(prices.services.public_ipv4_hour)
    return monthly, monthly, "public IPv4 address"


@_prices("aws:ec2/vpcEndpoint:VpcEndpoint")
def _vpc_endpoint(record: ResourceRecord, prices: RegionPrices, _: _PlanIndex
                  ) -> tuple[float, float, str]:
    if record.inputs.get("vpc_endpoint_type") != "Interface":
        return 0.0, 0.0, "gateway endpoint (no charge)"
    zones = max(1, len(record.inputs.get("subnet_ids") or []))
    monthly = prices.monthly(prices.services.interface_endpoint_hour) * zones
    return monthly, monthly, f"interface endpoint in {zones} AZ"


@_prices("aws:kms/key:Key")
def _kms_key(record: ResourceRecord, prices: RegionPrices, _: _PlanIndex
             ) -> tuple[float, float, str]:
    return prices.services.kms_key_month, prices.services.kms_key_month, "customer-managed key"


@_prices("aws:cloudwatch/metricAlarm:MetricAlarm")
def _alarm(record: ResourceRecord, prices: RegionPrices, _: _PlanIndex
           ) -> tuple[float, float, str]:
    monthly = prices.services.cloudwatch_alarm_month
    return monthly, monthly, "standard-resolution alarm"


@_prices("aws:secretsmanager/secret:Secret")
def _secret(record: ResourceRecord, prices: RegionPrices, _: _PlanIndex
            ) -> tuple[float, float, str]:
    return prices.services.secret_month, prices.services.secret_month, "Secrets Manager secret"


@_prices("aws:eks/nodeGroup:NodeGroup")
def _node_group(record: ResourceRecord, prices: RegionPrices, index: _PlanIndex
                ) -> tuple[float, float, str]:
    scaling = record.inputs.get("scaling_config") or {}
    types = list(record.inputs.get("instance_types") or [])
    if not types:
        raise CostError(f"{record.name}: node group without instance types")
    # EKS launches the first listed type while it has capacity.
    hourly = prices.ec2_hour(types[0])
    if record.inputs.get("capacity_type") == "SPOT":
        hourly *= 1 - prices.spot_discount
    volume_gib = sum(
        int((mapping.get("ebs") or {}).get("volume_size") or 0)
        for template in index.dependencies_of_type(record, "aws:ec2/launchTemplate:LaunchTemplate")
        for mapping in template.inputs.get("block_device_mappings") or [])
    per_node = prices.monthly(hourly) + volume_gib * prices.services.ebs_gp3_gib_month
    desired, maximum = int(scaling.get("desired_size", 0)), int(scaling.get("max_size", 0))
    return (per_node * desired, per_node * maximum,
            f"{desired} (max {maximum}) x {types[0]} with {volume_gib} GiB gp3")


@_prices("aws:rds/instance:Instance")
def _database(record: ResourceRecord, prices: RegionPrices, _: _PlanIndex
              ) -> tuple[float, float, str]:
    multi_az = bool(record.inputs.get("multi_az"))
    instance = prices.monthly(prices.rds_hour(str(record.inputs["instance_class"]),
                                              multi_az=multi_az))
    copies = 2 if multi_az else 1
    storage = int(record.inputs.get("allocated_storage") or 0)
    ceiling = int(record.inputs.get("max_allocated_storage") or storage)
    per_gib = prices.services.rds_gp3_gib_month * copies
    secret = prices.services.secret_month if record.inputs.get(
        "manage_master_user_password") else 0.0
    return (instance + storage * per_gib + secret, instance + ceiling * per_gib + secret,
            f"{record.inputs['instance_class']}{' Multi-AZ' if multi_az else ''}, "
            f"{storage}-{ceiling} GiB gp3" + (", managed master secret" if secret else ""))


@_prices("kubernetes:karpenter.sh/v1:NodePool")
def _node_pool(record: ResourceRecord, prices: RegionPrices, _index: _PlanIndex
               ) -> tuple[float, float, str]:
    spec = record.inputs.get("spec") or {}
    limits = spec.get("limits") or {}
    requirements = {item["key"]: item.get("values") or []
                    for item in (spec.get("template") or {}).get("spec", {}).get(
                        "requirements", [])}
    types = _allowed_types(requirements)
    spot = "spot" in requirements.get("karpenter.sh/capacity-type", [])
    factor = (1 - prices.spot_discount) if spot else 1.0
    market = "spot" if spot else "on-demand"
    if "nvidia.com/gpu" in limits:
        gpus = int(limits["nvidia.com/gpu"])
        priced = [(prices.ec2_hour(name) / gpu.gpus, gpu.gpus, name) for name in types
                  if (gpu := catalog.lookup(name)) is not None and gpu.gpus]
        if not priced:
            raise CostError(f"{record.name}: no priced GPU instance type in the pool")
        per_gpu, _, cheapest = min(priced)
        return (0.0, prices.monthly(per_gpu * factor) * gpus,
                f"{gpus} GPUs at {cheapest}'s price per GPU, {market}")
    if "cpu" in limits:
        cpus = int(limits["cpu"])
        priced = [(prices.ec2_hour(name) / count, count, name) for name in types
                  if (count := catalog.vcpus(name))]
        if not priced:
            raise CostError(f"{record.name}: no priced instance type in the pool")
        per_cpu, _, cheapest = min(priced)
        return (0.0, prices.monthly(per_cpu * factor) * cpus,
                f"{cpus} vCPUs at {cheapest}'s price per vCPU, {market}")
    return 0.0, 0.0, "no limit set: full scale not bounded (not costed)"


def _allowed_types(requirements: dict[str, list[str]]) -> list[str]:
    """Instance types a NodePool's requirements admit, from the catalog."""
    if "node.kubernetes.io/instance-type" in requirements:
        return list(requirements["node.kubernetes.io/instance-type"])
    families = requirements.get("karpenter.k8s.aws/instance-family", [])
    names: list[str] = []
    for family in families:
        names += [t.name for t in catalog.types_in_family(family)]
        names += catalog.general_types_in_family(family)
    return names


def _component_of(record: ResourceRecord, index: _PlanIndex) -> str:
    """The top-level component a resource belongs to (the child of the composition)."""
    current = record
    label = "environment"
    while current.parent and current.parent in index.by_urn:
        parent = index.by_urn[current.parent]
        if parent.parent is None or parent.parent not in index.by_urn:
            return label
        label = f"{parent.type.rpartition(':')[2]} {parent.name}"
        current = parent
    return label


def _is_free(resource_type: str) -> bool:
    package, _, rest = resource_type.partition(":")
    if package in _FREE_PACKAGES or resource_type in _FREE_AWS_TYPES:
        return True
    return package == "aws" and rest.partition("/")[0] in _FREE_AWS_MODULES


def estimate(plan: Plan, prices: RegionPrices | None = None) -> CostEstimate:
    """The monthly estimate of `plan`; CostError names what is missing."""
    region = str(plan.outputs.get("region") or "")
    if prices is None:
        if not region:
            raise CostError(f"{plan.source}: the plan has no `region` output to price it in")
        try:
            prices = region_prices(region)
        except PriceError as error:
            raise CostError(str(error)) from None
    index = _PlanIndex(plan)
    items: list[LineItem] = []
    usage: dict[str, int] = {}
    unpriced: dict[str, int] = {}
    for record in plan.resources:
        if not record.custom or record.is_provider:
            continue
        pricer = _PRICERS.get(record.type)
        if pricer is None:
            bucket = usage if record.type in USAGE_BASED_TYPES else (
                None if _is_free(record.type) else unpriced)
            if bucket is not None:
                bucket[record.type] = bucket.get(record.type, 0) + 1
            continue
        try:
            idle, full, basis = pricer(record, prices, index)
        except PriceError as error:
            raise CostError(str(error)) from None
        if idle or full:
            items.append(LineItem(_component_of(record, index), record.name, record.type,
                                  round(idle, 2), round(full, 2), basis))
    return CostEstimate(stack=plan.stack, env=str(plan.outputs.get("env") or ""),
                        region=prices.region, currency="USD", checked=prices.checked,
                        spot_discount=prices.spot_discount, items=items,
                        usage_based=dict(sorted(usage.items())),
                        unpriced=dict(sorted(unpriced.items())))

