"""Plan-level tests of the Cluster component: the security properties and wiring a reviewer
relies on without a cloud (endpoint exposure, secrets encryption, logging, authentication,
add-on pins, node hardening, security group rules, the Kubernetes provider).

Environments are planned through the real offline engine (`plan_environment`).
"""

from __future__ import annotations

import functools
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from components import versions as _addons
from components._lib.naming import iam_name_prefix
from components.aws.cluster import CONTROL_PLANE_LOG_TYPES, access_entry_suffix
from components.aws.system_nodes import ami_type_for
from mlplat.config import SUPPORTED_KUBERNETES_VERSIONS, parse_environment
from mlplat.plan import Plan, ResourceRecord, plan_environment, run_program

pytestmark = pytest.mark.unit

REGION = "eu-west-1"
COMPONENT = "mlplat:aws/cluster:Cluster"
EKS = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"

ADMINS = [
    "arn:aws:iam::111122223333:role/platform-admins",
    "arn:aws:iam::444455556666:role/sre/break-glass",
]
PUBLIC_CIDRS = ["203.0.113.0/24", "198.51.100.7/32"]


def _environment(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "team": "vision",
        "env": "dev",
        "region": REGION,
        "tags": {"cost-center": "cc-4711"},
        "cluster": {"adminRoleArns": ADMINS},
    }
    raw.update(overrides)
    return raw


@functools.cache
def _plan(overrides_json: str) -> Plan:
    config = parse_environment(_environment(**json.loads(overrides_json)), "<test>")
    return plan_environment(config)


def plan_of(**overrides: Any) -> Plan:
    """The plan of a dev environment with `overrides` (cached: plans are deterministic)."""
    return _plan(json.dumps(overrides, sort_keys=True))


def children(plan: Plan, type_token: str | None = None) -> list[ResourceRecord]:
    component = plan.one(COMPONENT)
    return [
        r for r in plan.children(component.urn) if type_token is None or r.type == type_token
    ]


def child(plan: Plan, type_token: str, name_suffix: str = "") -> ResourceRecord:
    found = [r for r in children(plan, type_token) if r.name.endswith(name_suffix)]
    assert len(found) == 1, f"expected one {type_token} *{name_suffix}, got {len(found)}"
    return found[0]


def eks(plan: Plan) -> ResourceRecord:
    return child(plan, EKS)


def depends_on(record: ResourceRecord, target: ResourceRecord) -> bool:
    return target.urn in record.dependencies


@pytest.fixture(scope="module")
def default_plan() -> Plan:
    return plan_of()


@pytest.fixture(scope="module")
def public_plan() -> Plan:
    return plan_of(
        cluster={
            "kubernetesVersion": "1.32",
            "adminRoleArns": [],
            "endpoint": {"publicAccess": True, "publicAccessCidrs": PUBLIC_CIDRS},
            "logRetentionDays": 365,
            "systemNodeGroup": {
                "instanceTypes": ["m7g.large", "c7g.large"],
                "minSize": 1,
                "desiredSize": 3,
                "maxSize": 5,
                "diskSizeGib": 120,
            },
        }
    )


@pytest.fixture(scope="module")
def prod_plan() -> Plan:
    return plan_of(env="prod", cluster={"kubernetesVersion": "1.34", "adminRoleArns": ADMINS})


# ------------------------------------------------------------------ endpoint


def test_api_endpoint_is_private_only_by_default(default_plan: Plan) -> None:
    vpc_config = eks(default_plan).inputs["vpc_config"]
    assert vpc_config["endpoint_private_access"] is True
    assert vpc_config["endpoint_public_access"] is False
    assert not vpc_config.get("public_access_cidrs")


def test_public_endpoint_only_with_the_configured_cidrs(public_plan: Plan) -> None:
    vpc_config = eks(public_plan).inputs["vpc_config"]
    assert vpc_config["endpoint_private_access"] is True
    assert vpc_config["endpoint_public_access"] is True
    assert vpc_config["public_access_cidrs"] == PUBLIC_CIDRS


def test_control_plane_sits_in_the_private_subnets(default_plan: Plan) -> None:
    network = default_plan.one("mlplat:aws/network:Network")
    private = [
        r
        for r in default_plan.children(network.urn)
        if r.type == "aws:ec2/subnet:Subnet" and "-private-" in r.name
    ]
    cluster = eks(default_plan)
    assert len(cluster.inputs["vpc_config"]["subnet_ids"]) == len(private) == 3
    assert all(depends_on(cluster, subnet) for subnet in private)


# ------------------------------------------------------------------ encryption and logs


def test_secrets_are_envelope_encrypted_with_a_rotating_customer_key(default_plan: Plan) -> None:
    cluster = eks(default_plan)
    encryption = cluster.inputs["encryption_config"]
    assert encryption["resources"] == ["secrets"]
    key = child(default_plan, "aws:kms/key:Key", "-secrets-key")
    assert depends_on(cluster, key)
    assert encryption["provider"]["key_arn"].startswith(f"arn:aws:kms:{REGION}:")
    assert key.inputs["enable_key_rotation"] is True


def test_secrets_key_policy_names_only_the_account_and_the_cluster_role(
    default_plan: Plan,
) -> None:
    key = child(default_plan, "aws:kms/key:Key", "-secrets-key")
    role = child(default_plan, ROLE, "-cluster-role")
    statements = json.loads(key.inputs["policy"])["Statement"]
    principals = sorted(s["Principal"]["AWS"] for s in statements)
    assert principals == [
        "arn:aws:iam::111122223333:role/" + role.inputs.get("name", role.name),
        "arn:aws:iam::111122223333:root",
    ]
    role_statement = next(s for s in statements if s["Principal"]["AWS"].endswith(role.name))
    assert "kms:*" not in role_statement["Action"]
    assert set(role_statement["Action"]) <= {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ListGrants",
        "kms:DescribeKey",
    }


def test_all_control_plane_log_types_are_enabled(default_plan: Plan) -> None:
    enabled = eks(default_plan).inputs["enabled_cluster_log_types"]
    assert sorted(enabled) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )
    assert tuple(enabled) == CONTROL_PLANE_LOG_TYPES


def test_control_plane_log_group_exists_first_encrypted_with_retention(
    default_plan: Plan, public_plan: Plan
) -> None:
    for plan, retention in ((default_plan, 90), (public_plan, 365)):
        cluster = eks(plan)
        log_group = child(plan, "aws:cloudwatch/logGroup:LogGroup")
        assert log_group.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster"
        assert log_group.inputs["retention_in_days"] == retention
        assert log_group.inputs["kms_key_id"].startswith("arn:aws:kms:")
        assert depends_on(cluster, log_group), "EKS would create an unencrypted group first"
        logs_key = child(plan, "aws:kms/key:Key", "-logs-key")
        assert logs_key.inputs["enable_key_rotation"] is True
        assert depends_on(log_group, logs_key)


# ------------------------------------------------------------------ authentication


def test_authentication_mode_is_api_without_creator_admin(default_plan: Plan) -> None:
    access = eks(default_plan).inputs["access_config"]
    assert access["authentication_mode"] == "API"
    assert access["bootstrap_cluster_creator_admin_permissions"] is False


def test_no_aws_auth_configmap_anywhere(default_plan: Plan) -> None:
    for record in default_plan.resources:
        if record.type.startswith("kubernetes:core/v1:ConfigMap"):
            assert record.inputs.get("metadata", {}).get("name") != "aws-auth"


def test_access_entries_match_the_configured_admin_roles(default_plan: Plan) -> None:
    entries = children(default_plan, "aws:eks/accessEntry:AccessEntry")
    associations = children(default_plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert sorted(e.inputs["principal_arn"] for e in entries) == sorted(ADMINS)
    assert all(e.inputs["type"] == "STANDARD" for e in entries)
    assert sorted(a.inputs["principal_arn"] for a in associations) == sorted(ADMINS)
    for association in associations:
        assert association.inputs["policy_arn"].endswith(
            ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        )
        assert association.inputs["access_scope"] == {"type": "cluster"}
        entry = next(
            e for e in entries if e.inputs["principal_arn"] == association.inputs["principal_arn"]
        )
        assert depends_on(association, entry)


def test_no_admin_roles_means_no_access_entries(public_plan: Plan) -> None:
    assert children(public_plan, "aws:eks/accessEntry:AccessEntry") == []
    assert children(public_plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation") == []


def test_access_entry_names_derive_from_the_arn_not_the_list_position(
    default_plan: Plan,
) -> None:
    # Names built from the ARN alone: reordering adminRoleArns replaces nothing.
    assert access_entry_suffix(ADMINS[1]).startswith("break-glass-")
    assert access_entry_suffix(ADMINS[0]) != access_entry_suffix(
        ADMINS[0].replace("111122223333", "999988887777")
    )
    by_arn = {
        e.inputs["principal_arn"]: e.name
        for e in children(default_plan, "aws:eks/accessEntry:AccessEntry")
    }
    for arn, name in by_arn.items():
        assert name.endswith(f"-admin-{access_entry_suffix(arn)}")


# ------------------------------------------------------------------ deletion protection


def test_deletion_protection_follows_the_environment(default_plan: Plan, prod_plan: Plan) -> None:
    assert eks(default_plan).inputs["deletion_protection"] is False
    assert eks(prod_plan).inputs["deletion_protection"] is True


# ------------------------------------------------------------------ add-ons


def test_pin_table_covers_every_supported_kubernetes_version() -> None:
    assert set(_addons.ADDON_VERSIONS) == set(SUPPORTED_KUBERNETES_VERSIONS)
    for version, row in _addons.ADDON_VERSIONS.items():
        assert set(row) == {*_addons.ADDON_NAMES, *_addons.OPTIONAL_ADDON_NAMES}, version
        for addon, pin in row.items():
            assert re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", pin), (version, addon, pin)
        # kube-proxy must match the control plane's minor version.
        assert row[_addons.KUBE_PROXY].startswith(f"v{version}."), version


def test_addons_are_installed_with_the_pinned_versions(
    default_plan: Plan, public_plan: Plan, prod_plan: Plan
) -> None:
    planned = {eks(p).inputs["version"]: p for p in (default_plan, public_plan, prod_plan)}
    assert sorted(planned) == sorted(SUPPORTED_KUBERNETES_VERSIONS)  # every pinned row is used
    for version, plan in planned.items():
        _assert_pinned_addons(plan, version)
        node_group = child(plan, NODE_GROUP)
        assert node_group.inputs["version"] == version


def _assert_pinned_addons(plan: Plan, version: str) -> None:
    installed = {a.inputs["addon_name"]: a.inputs["addon_version"] for a in children(plan, ADDON)}
    expected = {name: pin for name, pin in _addons.ADDON_VERSIONS[version].items()
                if name in _addons.ADDON_NAMES}
    assert installed == expected
    assert all(installed.values())


def test_addon_ordering_around_the_node_group(default_plan: Plan) -> None:
    addons = {a.inputs["addon_name"]: a for a in children(default_plan, ADDON)}
    node_group = child(default_plan, NODE_GROUP)
    # Nodes only become Ready with networking in place...
    for name in (_addons.VPC_CNI, _addons.KUBE_PROXY, _addons.POD_IDENTITY_AGENT):
        assert depends_on(node_group, addons[name]), name
    # ...and Deployments only become healthy once nodes exist.
    for name in (_addons.COREDNS, _addons.EBS_CSI_DRIVER):
        assert depends_on(addons[name], node_group), name


def test_vpc_cni_enforces_network_policies(default_plan: Plan) -> None:
    addons = {a.inputs["addon_name"]: a for a in children(default_plan, ADDON)}
    configuration = json.loads(addons[_addons.VPC_CNI].inputs["configuration_values"])
    assert configuration["enableNetworkPolicy"] == "true"


def test_eks_does_not_install_unmanaged_copies_of_the_addons(default_plan: Plan) -> None:
    assert eks(default_plan).inputs["bootstrap_self_managed_addons"] is False


def _pod_identity(plan: Plan, service_account: str) -> tuple[ResourceRecord, ResourceRecord]:
    association = next(
        a
        for a in children(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["service_account"] == service_account
    )
    role = next(r for r in children(plan, ROLE) if depends_on(association, r))
    return association, role


def _attached_policies(plan: Plan, role: ResourceRecord) -> list[str]:
    return sorted(
        a.inputs["policy_arn"].rsplit("/", 1)[-1]
        for a in children(plan, ATTACHMENT)
        if depends_on(a, role)
    )


@pytest.mark.parametrize(
    ("service_account", "policy"),
    [("ebs-csi-controller-sa", "AmazonEBSCSIDriverPolicy"), ("aws-node", "AmazonEKS_CNI_Policy")],
)
def test_addon_permissions_come_through_pod_identity(
    default_plan: Plan, service_account: str, policy: str
) -> None:
    association, role = _pod_identity(default_plan, service_account)
    assert association.inputs["namespace"] == "kube-system"
    assert _attached_policies(default_plan, role) == [policy]
    (statement,) = json.loads(role.inputs["assume_role_policy"])["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    condition = statement["Condition"]["StringEquals"]
    assert condition["aws:RequestTag/kubernetes-service-account"] == service_account
    assert condition["aws:RequestTag/kubernetes-namespace"] == "kube-system"
    assert condition["aws:RequestTag/eks-cluster-name"] == eks(default_plan).inputs["name"]


def test_addons_wait_for_their_pod_identity(default_plan: Plan) -> None:
    addons = {a.inputs["addon_name"]: a for a in children(default_plan, ADDON)}
    for addon, service_account in (
        (_addons.EBS_CSI_DRIVER, "ebs-csi-controller-sa"),
        (_addons.VPC_CNI, "aws-node"),
    ):
        association, _ = _pod_identity(default_plan, service_account)
        assert depends_on(addons[addon], association), addon


# ------------------------------------------------------------------ system node group


def test_launch_template_requires_imdsv2_with_hop_limit_one(default_plan: Plan) -> None:
    metadata = child(default_plan, LAUNCH_TEMPLATE).inputs["metadata_options"]
    assert metadata["http_tokens"] == "required"
    assert metadata["http_put_response_hop_limit"] == 1
    assert metadata["http_endpoint"] == "enabled"


def test_root_volumes_are_encrypted_gp3_of_the_configured_size(
    default_plan: Plan, public_plan: Plan
) -> None:
    for plan, size in ((default_plan, 50), (public_plan, 120)):
        mappings = child(plan, LAUNCH_TEMPLATE).inputs["block_device_mappings"]
        assert len(mappings) == 1
        ebs = mappings[0]["ebs"]
        assert ebs["encrypted"] == "true"
        assert ebs["volume_type"] == "gp3"
        assert ebs["volume_size"] == size


def test_system_node_group_is_on_demand_al2023_from_config(
    default_plan: Plan, public_plan: Plan
) -> None:
    group = child(default_plan, NODE_GROUP)
    assert group.inputs["capacity_type"] == "ON_DEMAND"
    assert group.inputs["ami_type"] == "AL2023_x86_64_STANDARD"
    assert group.inputs["instance_types"] == ["m7i.large"]
    assert group.inputs["scaling_config"] == {"min_size": 2, "desired_size": 2, "max_size": 4}
    assert group.inputs["subnet_ids"] == eks(default_plan).inputs["vpc_config"]["subnet_ids"]
    assert depends_on(group, child(default_plan, LAUNCH_TEMPLATE))
    graviton = child(public_plan, NODE_GROUP)
    assert graviton.inputs["ami_type"] == "AL2023_ARM_64_STANDARD"
    assert graviton.inputs["scaling_config"] == {"min_size": 1, "desired_size": 3, "max_size": 5}


def test_node_role_has_only_the_minimal_managed_policies(default_plan: Plan) -> None:
    role = child(default_plan, ROLE, "-node-role")
    assert _attached_policies(default_plan, role) == [
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
    ]


def test_session_manager_is_a_narrow_opt_in_without_parameter_reads(
    default_plan: Plan,
) -> None:
    policy_names = [r.name for r in children(default_plan, "aws:iam/rolePolicy:RolePolicy")]
    assert not any("session-manager" in n for n in policy_names)
    plan = plan_of(cluster={"nodeSessionManager": True})
    (inline,) = [r for r in children(plan, "aws:iam/rolePolicy:RolePolicy")
                 if r.name.endswith("-node-session-manager")]
    actions = {a for s in json.loads(inline.inputs["policy"])["Statement"] for a in s["Action"]}
    assert actions == {"ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
                       "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                       "ssmmessages:OpenDataChannel"}
    # Still no SSM managed policy: it would grant ssm:GetParameter(s) on everything.
    assert _attached_policies(plan, child(plan, ROLE, "-node-role")) == [
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
    ]


def test_ami_type_selection() -> None:
    assert ami_type_for(["m7i.large", "c6a.xlarge"]) == "AL2023_x86_64_STANDARD"
    assert ami_type_for(["m7g.large", "t4g.medium", "c8g.xlarge"]) == "AL2023_ARM_64_STANDARD"


# ------------------------------------------------------------------ security groups


def test_no_security_group_rule_opens_ingress_to_the_internet(default_plan: Plan) -> None:
    for rule in children(default_plan, INGRESS):
        assert "cidr_ipv4" not in rule.inputs and "cidr_ipv6" not in rule.inputs, rule.name
        assert rule.inputs.get("referenced_security_group_id"), rule.name


def test_control_plane_accepts_only_https_from_nodes(default_plan: Plan) -> None:
    cluster_sg = child(default_plan, SECURITY_GROUP, "-cluster-sg")
    node_sg = child(default_plan, SECURITY_GROUP, "-node-sg")
    into_cluster = [
        r
        for r in children(default_plan, INGRESS)
        if depends_on(r, cluster_sg) and r.name.endswith("api-from-nodes")
    ]
    (rule,) = into_cluster
    assert (rule.inputs["from_port"], rule.inputs["to_port"]) == (443, 443)
    assert rule.inputs["ip_protocol"] == "tcp"
    assert depends_on(rule, node_sg)
    # Every other ingress rule targets the node group, never the control plane.
    others = [r for r in children(default_plan, INGRESS) if r is not rule]
    assert all(r.name.split("-cluster-", 1)[1].startswith("nodes-from-") for r in others)


def test_node_security_group_carries_discovery_tags(default_plan: Plan) -> None:
    name = eks(default_plan).inputs["name"]
    tags = child(default_plan, SECURITY_GROUP, "-node-sg").inputs["tags"]
    assert tags["karpenter.sh/discovery"] == name
    assert tags[f"kubernetes.io/cluster/{name}"] == "owned"
    cluster_tags = child(default_plan, SECURITY_GROUP, "-cluster-sg").inputs["tags"]
    assert "karpenter.sh/discovery" not in cluster_tags


def test_private_endpoint_access_cidrs_open_only_https(tmp_path: Path) -> None:
    # Not in the stack config yet: plan the component directly through the engine.
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""
        from components.aws.cluster import Cluster, ClusterArgs
        from mlplat.config import ClusterConfig

        Cluster("t", ClusterArgs(
            settings=ClusterConfig(), cluster_name="t", vpc_id="vpc-1",
            vpc_cidr="10.40.0.0/16", private_subnet_ids=["subnet-a", "subnet-b"],
            tags={"team": "t", "env": "dev", "cost-center": "c"}, deletion_protection=False,
            private_endpoint_access_cidrs=["10.99.0.0/16", "192.168.7.0/24"],
        ))
    """))
    plan = run_program(stack="t", config={"aws:region": REGION}, program_dir=tmp_path)
    cluster_sg = child(plan, SECURITY_GROUP, "-cluster-sg")
    from_cidrs = [r for r in children(plan, INGRESS) if "cidr_ipv4" in r.inputs]
    assert sorted(r.inputs["cidr_ipv4"] for r in from_cidrs) == ["10.99.0.0/16", "192.168.7.0/24"]
    for rule in from_cidrs:
        assert depends_on(rule, cluster_sg)
        assert (rule.inputs["ip_protocol"], rule.inputs["from_port"], rule.inputs["to_port"]) == (
            "tcp",
            443,
            443,
        )


def test_node_egress_is_https_out_and_peer_groups_only(default_plan: Plan) -> None:
    cluster_sg = child(default_plan, SECURITY_GROUP, "-cluster-sg")
    node_sg = child(default_plan, SECURITY_GROUP, "-node-sg")
    node_egress = [r for r in children(default_plan, EGRESS)
                   if "-control-plane-to-nodes-" not in r.name]
    assert node_egress and all(depends_on(r, node_sg) for r in node_egress)
    shape = sorted(
        (r.inputs["ip_protocol"], r.inputs.get("from_port", 0), r.inputs.get("cidr_ipv4", "-"))
        for r in node_egress)
    # Every protocol only to the node group itself; to anywhere else, 443/tcp only.
    assert shape == [("-1", 0, "-"), ("tcp", 443, "-"), ("tcp", 443, "0.0.0.0/0")]
    (api,) = [r for r in node_egress if r.name.endswith("-nodes-to-api")]
    assert depends_on(api, cluster_sg)


def test_prod_keeps_control_plane_logs_a_year_by_default(prod_plan: Plan) -> None:
    assert child(prod_plan, "aws:cloudwatch/logGroup:LogGroup").inputs[
        "retention_in_days"] == 365


def test_control_plane_egress_is_limited_to_node_ports(default_plan: Plan) -> None:
    cluster_sg = child(default_plan, SECURITY_GROUP, "-cluster-sg")
    egress = [r for r in children(default_plan, EGRESS) if r.name.split("-cluster-", 1)[1]
              .startswith("control-plane-to-nodes-")]
    assert egress and all(depends_on(r, cluster_sg) for r in egress)
    assert all(r.inputs["ip_protocol"] == "tcp" for r in egress)
    assert {r.inputs["from_port"] for r in egress} >= {443, 10250}


# ------------------------------------------------------------------ Kubernetes provider


def test_kubeconfig_uses_aws_eks_get_token_and_no_static_token(default_plan: Plan) -> None:
    providers = [
        r for r in children(default_plan) if r.type == "pulumi:providers:kubernetes"
    ]
    (provider,) = providers
    raw = provider.inputs["kubeconfig"]
    # The engine decodes JSON-valued provider config into structure; accept either form.
    kubeconfig = json.loads(raw) if isinstance(raw, str) else raw
    (user,) = kubeconfig["users"]
    assert "token" not in user["user"]
    exec_config = user["user"]["exec"]
    assert exec_config["command"] == "aws"
    args = exec_config["args"]
    name = eks(default_plan).inputs["name"]
    assert args[:2] == ["eks", "get-token"]
    assert args[args.index("--cluster-name") + 1] == name
    assert args[args.index("--region") + 1] == REGION
    (cluster_entry,) = kubeconfig["clusters"]
    assert cluster_entry["cluster"]["server"].startswith("https://")
    assert cluster_entry["cluster"]["certificate-authority-data"]


def test_provider_waits_for_admin_access_and_nodes(default_plan: Plan) -> None:
    (provider,) = [r for r in children(default_plan) if r.type == "pulumi:providers:kubernetes"]
    for association in children(
        default_plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
    ):
        assert depends_on(provider, association)
    assert depends_on(provider, child(default_plan, NODE_GROUP))


# ------------------------------------------------------------------ naming


def test_iam_roles_use_short_readable_name_prefixes(default_plan: Plan) -> None:
    roles = default_plan.of_type(ROLE)
    ours = [r for r in roles if r.parent and (COMPONENT in r.parent
                                              or "mlplat:aws/network:Network" in r.parent)]
    assert len(ours) == 5
    for role in ours:
        prefix = role.inputs["name_prefix"]
        assert prefix.startswith("vision-dev-") and len(prefix) <= 38, prefix
    longest = iam_name_prefix("a" * 30 + "-staging", "ebs-csi")
    assert len(longest) == 38 and longest.endswith("-ebs-csi-")


# ------------------------------------------------------------------ tags


def test_every_taggable_child_has_explicit_environment_tags(default_plan: Plan) -> None:
    untaggable = {ATTACHMENT, "aws:kms/alias:Alias", "aws:eks/accessPolicyAssociation:"
                  "AccessPolicyAssociation", "pulumi:providers:kubernetes"}
    checked = 0
    for record in children(default_plan):
        if record.type in untaggable:
            continue
        tags = record.inputs.get("tags") or {}
        assert {"team", "env", "cost-center"} <= set(tags), f"{record.name}: {tags}"
        checked += 1
    assert checked >= 25
