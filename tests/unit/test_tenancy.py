"""Plan-level tests of team tenancy: the in-cluster fences (components/k8s/tenancy.py) and the
team's AWS access (components/aws/team_access.py), read from plans the real offline engine
produced — plus two checks over the whole demo plan: every Kubernetes object is valid for the
cluster's Kubernetes version, and every IAM policy document is least privilege."""

from __future__ import annotations

import copy
import ipaddress
import json
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest

from components.aws.team_access import bucket_access_policy
from components.k8s.tenancy import MEMBER_RULES
from mlplat.config import BucketGrantConfig, environment_from_stack_config
from mlplat.plan import Plan, ResourceRecord, plan_environment

pytestmark = pytest.mark.unit

TENANCY = "mlplat:k8s/tenancy:TeamTenancy"
ACCESS = "mlplat:aws/team_access:TeamAccess"
NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
IAM_ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"

TEAM_NAMESPACES = ["vision-staging", "vision-staging-serving"]
TEAM_ROLE = "arn:aws:iam::111122223333:role/vision-developers"
IMDS = ipaddress.ip_address("169.254.169.254")
POD_IDENTITY_AGENT = ipaddress.ip_address("169.254.170.23")


@pytest.fixture(scope="module")
def variant_plan(demo_stack_config: dict[str, Any]) -> Plan:
    """The demo with no database, a baseline opt-in namespace, a named group and a service
    account that uses no bucket."""
    config = copy.deepcopy(demo_stack_config)
    del config["mlplat:metadataDb"], config["mlplat:mlflow"]
    config["mlplat:tenancy"] = {
        "teamRoleArn": TEAM_ROLE,
        "group": "vision-ml",
        "namespaces": [{}, {"purpose": "notebooks", "podSecurity": "baseline"}],
        "serviceAccounts": {"batch": {"namespace": "notebooks"}},
        "monitoringNamespace": "prometheus",
        "ingressNamespace": "ingress-nginx",
    }
    return plan_environment(environment_from_stack_config(config, "<test>"), "demo")


def under(plan: Plan, component: str, type_token: str) -> list[ResourceRecord]:
    """Records of `type_token` that are children of the one `component` of the plan."""
    parent = plan.one(component)
    return [r for r in plan.children(parent.urn) if r.type == type_token]


def in_namespace(records: list[ResourceRecord], namespace: str) -> list[ResourceRecord]:
    return [r for r in records if r.inputs["metadata"].get("namespace") == namespace]


def policies_of(plan: Plan, namespace: str) -> dict[str, dict[str, Any]]:
    records = in_namespace(under(plan, TENANCY, NETWORK_POLICY), namespace)
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in records}


# ------------------------------------------------------------------ namespaces and PSA


def test_namespaces_enforce_restricted_pod_security_pinned_to_the_cluster_version(
    demo_plan: Plan,
) -> None:
    namespaces = under(demo_plan, TENANCY, NAMESPACE)
    assert sorted(r.inputs["metadata"]["name"] for r in namespaces) == TEAM_NAMESPACES
    for record in namespaces:
        labels = record.inputs["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", mode
            assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.33", mode


def test_baseline_is_an_explicit_opt_in_that_still_warns_at_restricted(
    variant_plan: Plan,
) -> None:
    labels = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
              for r in under(variant_plan, TENANCY, NAMESPACE)}
    assert labels["vision-staging"]["pod-security.kubernetes.io/enforce"] == "restricted"
    notebooks = labels["vision-staging-notebooks"]
    assert notebooks["pod-security.kubernetes.io/enforce"] == "baseline"
    assert notebooks["pod-security.kubernetes.io/audit"] == "restricted"
    assert notebooks["pod-security.kubernetes.io/warn"] == "restricted"
    values = {v for ns in labels.values() for k, v in ns.items() if "pod-security" in k}
    assert "privileged" not in values


def test_every_tenancy_object_carries_the_ownership_labels(demo_plan: Plan) -> None:
    component = demo_plan.one(TENANCY)
    children = demo_plan.children(component.urn)
    assert len(children) > 20
    for record in children:
        labels = record.inputs["metadata"]["labels"]
        assert labels["mlplat.io/team"] == "vision", record.name
        assert labels["mlplat.io/env"] == "staging"
        assert labels["mlplat.io/stack"] == "demo"
        assert labels["app.kubernetes.io/managed-by"] == "mlplat"
        if record.type != NAMESPACE:
            assert record.inputs["metadata"]["namespace"] in TEAM_NAMESPACES


def test_namespaced_objects_wait_for_their_namespace(demo_plan: Plan) -> None:
    namespaces = {r.inputs["metadata"]["name"]: r.urn
                  for r in under(demo_plan, TENANCY, NAMESPACE)}
    for record in demo_plan.children(demo_plan.one(TENANCY).urn):
        if record.type != NAMESPACE:
            assert namespaces[record.inputs["metadata"]["namespace"]] in record.dependencies


# ------------------------------------------------------------------ quota and defaults


def test_quota_bounds_compute_gpus_storage_and_service_types(demo_plan: Plan) -> None:
    quotas = under(demo_plan, TENANCY, QUOTA)
    hard = {r.inputs["metadata"]["namespace"]: r.inputs["spec"]["hard"] for r in quotas}
    assert sorted(hard) == TEAM_NAMESPACES
    assert hard["vision-staging"] == {
        "requests.cpu": "64", "limits.cpu": "128",
        "requests.memory": "256Gi", "limits.memory": "512Gi",
        "requests.nvidia.com/gpu": "16", "pods": "100", "persistentvolumeclaims": "20",
        "requests.storage": "1Ti", "services.loadbalancers": "0", "services.nodeports": "0",
    }
    serving = hard["vision-staging-serving"]
    assert serving["requests.nvidia.com/gpu"] == "4"
    assert serving["services.loadbalancers"] == "1"  # allowed by config for this namespace
    assert serving["services.nodeports"] == "0"


def test_limit_range_gives_containers_default_requests_and_limits(demo_plan: Plan) -> None:
    ranges = under(demo_plan, TENANCY, LIMIT_RANGE)
    assert sorted(r.inputs["metadata"]["namespace"] for r in ranges) == TEAM_NAMESPACES
    for record in ranges:
        assert record.inputs["spec"]["limits"] == [{
            "type": "Container",
            "defaultRequest": {"cpu": "100m", "memory": "256Mi"},
            "default": {"cpu": "2", "memory": "1Gi"},
        }]


# ------------------------------------------------------------------ network policies


@pytest.mark.parametrize("namespace", TEAM_NAMESPACES)
def test_default_deny_selects_every_pod_in_both_directions(
    demo_plan: Plan, namespace: str
) -> None:
    deny = policies_of(demo_plan, namespace)["default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def _egress_rules(plan: Plan) -> Iterator[tuple[str, dict[str, Any]]]:
    for record in plan.of_type(NETWORK_POLICY):
        for rule in record.inputs["spec"].get("egress", []):
            yield record.inputs["metadata"]["name"], rule


def test_dns_egress_goes_only_to_kube_dns_on_port_53(demo_plan: Plan) -> None:
    (rule,) = policies_of(demo_plan, "vision-staging")["allow-dns"]["egress"]
    assert rule == {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name":
                                                      "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


@pytest.mark.parametrize("plan_name", ["demo_plan", "variant_plan"])
def test_no_egress_rule_reaches_the_instance_metadata_service(
    plan_name: str, request: pytest.FixtureRequest
) -> None:
    plan: Plan = request.getfixturevalue(plan_name)
    checked = 0
    for name, rule in _egress_rules(plan):
        for peer in rule.get("to", []):
            block = peer.get("ipBlock")
            if block is None:
                # Pod and namespace selectors select pods, never host addresses.
                assert set(peer) <= {"podSelector", "namespaceSelector"}, name
                continue
            allowed = ipaddress.ip_network(block["cidr"])
            excluded = [ipaddress.ip_network(c) for c in block.get("except", [])]
            if IMDS in allowed:
                assert any(IMDS in e for e in excluded), f"{name} reaches {IMDS}"
            checked += 1
    assert checked >= 4


def test_egress_is_dns_namespace_https_database_and_pod_identity_only(demo_plan: Plan) -> None:
    policies = policies_of(demo_plan, "vision-staging")
    assert sorted(policies) == [
        "allow-dns", "allow-from-ingress", "allow-from-monitoring", "allow-https-egress",
        "allow-metadata-db", "allow-pod-identity-agent", "allow-same-namespace", "default-deny"]
    (https,) = policies["allow-https-egress"]["egress"]
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    block = https["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    for private in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"):
        assert private in block["except"]
    (database,) = policies["allow-metadata-db"]["egress"]
    assert database == {"to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}],
                        "ports": [{"protocol": "TCP", "port": 5432}]}
    (agent,) = policies["allow-pod-identity-agent"]["egress"]
    assert agent == {"to": [{"ipBlock": {"cidr": f"{POD_IDENTITY_AGENT}/32"}}],
                     "ports": [{"protocol": "TCP", "port": 80}]}


def test_without_a_database_there_is_no_database_egress(variant_plan: Plan) -> None:
    policies = policies_of(variant_plan, "vision-staging")
    assert "allow-metadata-db" not in policies
    assert "allow-pod-identity-agent" in policies


def test_ingress_only_from_the_namespace_monitoring_and_the_ingress_controller(
    demo_plan: Plan, variant_plan: Plan
) -> None:
    def sources(plan: Plan) -> list[Any]:
        return sorted(
            json.dumps(peer, sort_keys=True)
             for spec in policies_of(plan, "vision-staging").values()
             for rule in spec.get("ingress", []) for peer in rule["from"])

    def namespace(name: str) -> str:
        return json.dumps({"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": name}}}, sort_keys=True)

    same = json.dumps({"podSelector": {}})
    assert sources(demo_plan) == sorted([same, namespace("monitoring"), namespace("ingress")])
    assert sources(variant_plan) == sorted(
        [same, namespace("prometheus"), namespace("ingress-nginx")])


# ------------------------------------------------------------------ RBAC and access


def test_team_gets_no_cluster_scoped_rbac(demo_plan: Plan) -> None:
    # The cluster owner's singletons come from Helm charts (not in the plan); every RBAC
    # object the plan holds is the team's, and all of them are namespaced.
    rbac = [r for r in demo_plan.managed() if "rbac.authorization.k8s.io" in r.type]
    assert sorted({r.type.rsplit(":", 1)[-1] for r in rbac}) == ["Role", "RoleBinding"]
    assert all(r.inputs["metadata"]["namespace"] in TEAM_NAMESPACES for r in rbac)


def test_member_role_has_no_wildcards_or_escalation(demo_plan: Plan) -> None:
    roles = under(demo_plan, TENANCY, ROLE)
    assert sorted(r.inputs["metadata"]["namespace"] for r in roles) == TEAM_NAMESPACES
    for record in roles:
        rules = record.inputs["rules"]
        assert rules == [dict(rule) for rule in MEMBER_RULES]
        for rule in rules:
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[key], (key, rule)
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
            if "rbac.authorization.k8s.io" in rule["apiGroups"]:
                assert set(rule["verbs"]) <= {"get", "list", "watch"}
            if "networkpolicies" in rule["resources"] or "resourcequotas" in rule["resources"]:
                assert set(rule["verbs"]) <= {"get", "list", "watch"}
            assert "serviceaccounts/token" not in rule["resources"]
            assert "nonResourceURLs" not in rule


def test_role_binding_binds_the_team_group_to_the_member_role(
    demo_plan: Plan, variant_plan: Plan
) -> None:
    for plan, group in ((demo_plan, "vision-staging:members"), (variant_plan, "vision-ml")):
        for record in under(plan, TENANCY, ROLE_BINDING):
            assert record.inputs["subjects"] == [
                {"kind": "Group", "name": group, "apiGroup": "rbac.authorization.k8s.io"}]
            assert record.inputs["roleRef"] == {
                "kind": "Role", "name": "vision-staging-member",
                "apiGroup": "rbac.authorization.k8s.io"}


def test_access_entry_maps_the_team_role_to_its_group_and_nothing_else(
    demo_plan: Plan,
) -> None:
    (entry,) = under(demo_plan, ACCESS, "aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["principal_arn"] == TEAM_ROLE
    assert entry.inputs["type"] == "STANDARD"
    assert entry.inputs["kubernetes_groups"] == ["vision-staging:members"]
    associations = demo_plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert associations and all(a.inputs["principal_arn"] != TEAM_ROLE for a in associations)


# ------------------------------------------------------------------ service accounts


def test_service_accounts_live_where_config_says_without_api_tokens(demo_plan: Plan) -> None:
    accounts = {r.inputs["metadata"]["name"]: r for r in under(demo_plan, TENANCY,
                                                               SERVICE_ACCOUNT)}
    assert {n: r.inputs["metadata"]["namespace"] for n, r in accounts.items()} == {
        "training": "vision-staging", "serving": "vision-staging-serving"}
    assert all(r.inputs["automountServiceAccountToken"] is False for r in accounts.values())
    associations = {r.inputs["service_account"]: r.inputs["namespace"]
                    for r in under(demo_plan, ACCESS, POD_IDENTITY)}
    # The MLflow server's account is made by its own component (tests/unit/test_mlflow.py).
    assert associations == {"training": "vision-staging", "serving": "vision-staging-serving",
                            "mlflow": "vision-staging"}


def _bucket_arn(plan: Plan, purpose: str) -> str:
    (bucket,) = [r for r in plan.of_type("aws:s3/bucketVersioning:BucketVersioning")
                 if r.name.endswith(f"-{purpose}-versioning")]
    return f"arn:aws:s3:::{bucket.inputs['bucket']}"


def _role_policy(plan: Plan, account: str) -> dict[str, Any]:
    (record,) = [r for r in under(plan, ACCESS, ROLE_POLICY)
                 if r.name.endswith(f"-sa-{account}-policy")]
    document: dict[str, Any] = json.loads(record.inputs["policy"])
    return document


def _grants(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, resource) pairs the document allows."""
    pairs = set()
    for statement in document["Statement"]:
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                pairs.add((action, resource))
    return pairs


def test_pod_identity_roles_are_scoped_to_the_granted_buckets_and_prefixes(
    demo_plan: Plan,
) -> None:
    datasets, artifacts = _bucket_arn(demo_plan, "datasets"), _bucket_arn(demo_plan, "artifacts")
    (sse,) = [r for r in demo_plan.of_type("aws:s3/bucketServerSideEncryptionConfiguration:"
                                         "BucketServerSideEncryptionConfiguration")
              if r.name.endswith("-datasets-encryption")]
    key_arn = sse.inputs["rules"][0]["apply_server_side_encryption_by_default"][
        "kms_master_key_id"]
    serving = _role_policy(demo_plan, "serving")
    assert _grants(serving) == {
        ("s3:ListBucket", artifacts), ("s3:GetBucketLocation", artifacts),
        ("s3:GetObject", f"{artifacts}/models/*"), ("s3:GetObjectVersion", f"{artifacts}/models/*"),
        ("kms:Decrypt", key_arn),
    }
    listing = serving["Statement"][0]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["models/*"]}}
    training = _grants(_role_policy(demo_plan, "training"))
    assert ("s3:PutObject", f"{artifacts}/checkpoints/*") in training
    assert ("s3:PutObject", f"{artifacts}/models/*") in training
    assert ("s3:GetObject", f"{datasets}/*") in training
    assert not any(a == "s3:PutObject" and r.startswith(datasets) for a, r in training)
    assert ("kms:GenerateDataKey", key_arn) in training
    for account in ("serving", "training"):
        (kms,) = [s for s in _role_policy(demo_plan, account)["Statement"]
                  if s["Sid"] == "UseStoreKeyThroughS3"]
        assert kms["Condition"]["StringEquals"] == {"kms:ViaService":
                                                    "s3.eu-west-1.amazonaws.com"}


def test_read_only_grants_get_no_data_keys() -> None:
    grants = {"datasets": BucketGrantConfig.model_validate({"access": "read"})}
    document = bucket_access_policy(grants, {"datasets": "arn:aws:s3:::d"}, "k", "eu-west-1")
    actions = {a for a, _ in _grants(document)}
    assert actions == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject",
                       "s3:GetObjectVersion", "kms:Decrypt"}


def test_pod_identity_trust_is_one_cluster_namespace_and_service_account(
    demo_plan: Plan,
) -> None:
    roles = {r.name: json.loads(r.inputs["assume_role_policy"])
             for r in under(demo_plan, ACCESS, IAM_ROLE)}
    assert len(roles) == 3
    expected = {"training": "vision-staging", "serving": "vision-staging-serving",
                "mlflow": "vision-staging"}
    for name, document in roles.items():
        account = name.rsplit("-sa-", 1)[1].removesuffix("-role")
        (statement,) = document["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
        assert statement["Condition"]["StringEquals"] == {
            "aws:RequestTag/eks-cluster-name": "vision-staging",
            "aws:RequestTag/kubernetes-namespace": expected[account],
            "aws:RequestTag/kubernetes-service-account": account,
            "aws:SourceAccount": "111122223333",
        }
        # The cluster's ARN output (the mocks derive it from the resource, not its name).
        source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        assert source.startswith("arn:aws:eks:eu-west-1:111122223333:cluster/vision-staging")


def test_service_account_without_buckets_gets_no_iam_role(variant_plan: Plan) -> None:
    (account,) = under(variant_plan, TENANCY, SERVICE_ACCOUNT)
    assert account.inputs["metadata"] == {
        "name": "batch", "namespace": "vision-staging-notebooks",
        "labels": account.inputs["metadata"]["labels"]}
    assert under(variant_plan, ACCESS, IAM_ROLE) == []
    assert under(variant_plan, ACCESS, POD_IDENTITY) == []


# ------------------------------------------------------------------ the whole demo plan


#: Kubernetes objects kubernetes-validate cannot check, and why.
NOT_SCHEMA_CHECKED = {
    # Custom resources: their schemas come from CRDs installed by a chart, which no offline
    # schema set holds (kubernetes-validate would only warn that it skipped them).
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": "Karpenter CRD",
    "kubernetes:karpenter.sh/v1:NodePool": "Karpenter CRD",
    # Prometheus Operator CRDs (monitoring stack): checked field by field against a fact
    # table of the pinned CRD version in tests/unit/test_monitoring_crds.py.
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": "Prometheus Operator CRD",
    "kubernetes:monitoring.coreos.com/v1:PodMonitor": "Prometheus Operator CRD",
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": "Prometheus Operator CRD",
    "kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig": "Prometheus Operator CRD",
    # Training and serving CRDs: checked against their field fact table in
    # tests/unit/crd_fields.py (tests/unit/test_training.py, test_serving.py).
    "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": "Kueue CRD",
    "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue": "Kueue CRD",
    "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue": "Kueue CRD",
    "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime": "KServe CRD",
    "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams": "AWS Load Balancer Controller CRD",
    # A Pulumi resource describing a Helm release, not a Kubernetes object.
    "kubernetes:helm.sh/v3:Release": "Helm release (rendered manifests are not in the plan)",
    # A server-side apply patch carries only the fields it sets (no provisioner).
    "kubernetes:storage.k8s.io/v1:StorageClassPatch": "partial object (patch)",
}


#: How the plan shows a secret value (its content never reaches the plan).
SECRET_PLACEHOLDER = "[secret]"
#: Components whose children are all Kubernetes objects checked below.
KUBERNETES_COMPONENTS = (TENANCY, "mlplat:k8s/mlflow:MlflowServer",
                         "mlplat:k8s/pod_security:ClusterAdmissionPolicies",
                         "mlplat:k8s/monitoring:MonitoringStack",
                         "mlplat:k8s/team_serving:TeamServing",
                         "mlplat:aws/load_balancer_controller:LoadBalancerController")


def schema_checked_manifest(record: ResourceRecord) -> dict[str, Any]:
    """The record's inputs as a manifest; a Secret's hidden `stringData` becomes an empty
    map (its keys are not in the plan to check)."""
    manifest = dict(record.inputs)
    if manifest.get("stringData") == SECRET_PLACEHOLDER:
        manifest["stringData"] = {}
    return manifest


def test_every_kubernetes_object_is_valid_for_the_cluster_version(demo_plan: Plan) -> None:
    version = demo_plan.one("aws:eks/cluster:Cluster").inputs["version"]
    checked = 0
    for record in demo_plan.managed():
        if record.package != "kubernetes" or record.type in NOT_SCHEMA_CHECKED:
            continue
        kubernetes_validate.validate(schema_checked_manifest(record), version, strict=True)
        checked += 1
    storage_classes = len(demo_plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass"))
    assert storage_classes == 2  # gp3-encrypted and efs-shared
    in_components = sum(
        1 for component in KUBERNETES_COMPONENTS
        for r in demo_plan.children(demo_plan.one(component).urn)
        if r.package == "kubernetes" and r.type not in NOT_SCHEMA_CHECKED)
    mlflow_db = [r for r in demo_plan.children(
        demo_plan.one("mlplat:aws/mlflow_db:MlflowDatabase").urn) if r.package == "kubernetes"]
    assert len(mlflow_db) >= 10  # namespace, policies, account, secret, script, job
    assert checked == in_components + len(mlflow_db) + storage_classes
    assert checked > 20


def test_schema_validation_catches_a_misspelt_field() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "x", "lables": {"a": "b"}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(namespace, "1.33", strict=True)


#: Allow statements the walk below accepts, by the resource whose document holds them and the
#: statement id, each with the reason it is as narrow as AWS allows.
IAM_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("-controller-policy", "AllowRegionalReadActions"):
        "Karpenter's ec2:Describe* calls cannot be scoped to resources; pinned to the region",
    ("-controller-policy", "AllowPricingReadActions"):
        "pricing:GetProducts has no resource type; read-only",
    ("-controller-policy", "AllowUnscopedInstanceProfileListAction"):
        "iam:ListInstanceProfiles cannot be scoped; read-only",
    ("-ebs-csi-key-policy", "GrantsForEbsOnly"):
        "EC2 needs grants to attach encrypted volumes: kms:CreateGrant on the one volume key, "
        "only for AWS resources (kms:GrantIsForAWSResource)",
    ("-efs-csi-policy", "DescribeZones"):
        "ec2:DescribeAvailabilityZones cannot be scoped to resources; read-only",
    ("-fs-policy", "MountThroughMountTargets"):
        "the EFS CSI driver mounts without IAM auth (anonymous principal): mount and write "
        "only through a mount target, which the security group limits to cluster nodes",
    ("-s3-endpoint", "ThisAccountsBuckets"):
        "S3 gateway endpoint policy (a boundary, not a grant): any principal, any S3 action, "
        "but only on buckets of this account (aws:ResourceAccount); IAM policies still decide "
        "who may do what",
    ("-s3-endpoint", "AwsOwnedNodeBuckets"):
        "S3 gateway endpoint policy: ECR serves image layers through URLs presigned by AWS and "
        "dnf reads the AL2023 repositories anonymously, so the principal cannot be narrowed; "
        "s3:GetObject on the two named AWS-owned buckets only",
    ("-aws-load-balancer-controller-policy", "ReadLoadBalancingContext"):
        "the load balancer controller's ec2/elasticloadbalancing Describe* reads cannot be "
        "scoped to resources; read-only, pinned to the region",
    ("-controller-policy", "AllowPassingNodeRole"):
        "Karpenter launches nodes with the node role: iam:PassRole on that one role ARN, "
        "only to ec2.amazonaws.com",
}
#: Actions that let a principal grant itself more (or act as someone else). Launching compute
#: (ec2:RunInstances, lambda:CreateFunction) escalates only together with iam:PassRole, which
#: is refused itself.
ESCALATION_ACTIONS = frozenset({
    "iam:PassRole", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy",
    "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:CreateAccessKey",
    "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:UpdateAssumeRolePolicy",
    "iam:AddUserToGroup", "iam:CreateRole", "iam:CreateUser", "sts:AssumeRole",
    "kms:CreateGrant", "kms:PutKeyPolicy", "ssm:SendCommand",
})


def _documents(plan: Plan) -> Iterator[tuple[ResourceRecord, str, dict[str, Any]]]:
    """Every policy document in the plan: any string input that is JSON with a Statement."""
    for record in plan.managed():
        for key, value in record.inputs.items():
            if isinstance(value, str) and '"Statement"' in value:
                yield record, key, json.loads(value)


def _listed(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def test_every_iam_policy_document_is_least_privilege(demo_plan: Plan) -> None:
    kinds: set[str] = set()
    used: set[tuple[str, str]] = set()
    for record, key, document in _documents(demo_plan):
        trust = key == "assume_role_policy"
        # A key policy belongs to one key: its only valid Resource is "*" (that key).
        key_policy = record.type == "aws:kms/key:Key"
        kinds.add("trust" if trust else record.type)
        for statement in document["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            where = f"{record.name} {key} {statement.get('Sid')}"
            assert "NotAction" not in statement and "NotResource" not in statement, where
            exception = next(((suffix, sid) for suffix, sid in IAM_EXCEPTIONS
                              if record.name.endswith(suffix)
                              and statement.get("Sid") == sid), None)
            if exception is not None:
                used.add(exception)
                continue
            principal = statement.get("Principal")
            assert principal not in ("*", {"AWS": "*"}), where
            actions = _listed(statement.get("Action"))
            if trust:
                assert set(actions) <= {"sts:AssumeRole", "sts:TagSession"}, where
                assert set(principal) == {"Service"}, where
                continue
            if key_policy and statement.get("Sid") == "AccountAdministers":
                # The default key policy: the account root holds the key and IAM policies
                # decide who may use it (without it the key becomes unmanageable).
                assert principal == {"AWS": "arn:aws:iam::111122223333:root"}, where
                continue
            for action in actions:
                assert action != "*" and not action.endswith(":*"), where
                assert action not in ESCALATION_ACTIONS, where
            if not key_policy:
                assert "*" not in _listed(statement.get("Resource")), where
    assert {"trust", "aws:iam/rolePolicy:RolePolicy", "aws:kms/key:Key",
            "aws:s3/bucketPolicy:BucketPolicy", "aws:sqs/queuePolicy:QueuePolicy",
            "aws:sns/topicPolicy:TopicPolicy"} <= kinds
    assert used == set(IAM_EXCEPTIONS), "an exception no longer applies: remove it"


def test_stack_exports_the_team_namespaces_and_service_account_roles(demo_plan: Plan) -> None:
    assert demo_plan.outputs["team_namespaces"] == TEAM_NAMESPACES
    roles = demo_plan.outputs["service_account_role_arns"]
    assert sorted(roles) == ["mlflow", "serving", "training"]
    assert all(arn.startswith("arn:aws:iam::111122223333:role/") for arn in roles.values())
