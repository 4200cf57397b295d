"""The serving layer: `mlplat:serving` config rules, the plan of cert-manager, KServe in
RawDeployment mode with its runtimes, the AWS Load Balancer Controller (internal unless
explicitly opted out, scoped IAM through Pod Identity), the team's disruption budgets and
load balancer ingress, the custom resources against their pinned API versions, and the
InferenceService sample in docs/components/serving.md."""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pytest
import yaml
from crd_fields import problems
from test_mlflow import error_of, parse
from test_tenancy import ESCALATION_ACTIONS
from test_training import doc_sample, release, tolerates

from components import versions
from components.k8s.nvidia_device_plugin import GPU_TAINT
from mlplat.core.paths import STACKS_DIR
from mlplat.plan import Plan, ResourceRecord, plan_environment
from policies import rule_by_id

pytestmark = pytest.mark.unit

RUNTIME = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
PARAMS = "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams"
INGRESS_CLASS = "kubernetes:networking.k8s.io/v1:IngressClass"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
VAP_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
LBC = "mlplat:aws/load_balancer_controller:LoadBalancerController"
TEAM_SERVING = "mlplat:k8s/team_serving:TeamServing"
K8S_VERSION = "1.33"
ACCOUNT = "111122223333"
REGION = "eu-west-1"


def lbc_policy(plan: Plan) -> dict[str, Any]:
    (record,) = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
                 if r.name.endswith("-aws-load-balancer-controller-policy")]
    document: dict[str, Any] = json.loads(record.inputs["policy"])
    return document


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in document["Statement"] if s["Sid"] == sid]
    assert len(found) == 1, sid
    return found[0]


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def children(plan: Plan, component: str, type_token: str) -> list[ResourceRecord]:
    return [r for r in plan.children(plan.one(component).urn) if r.type == type_token]


@pytest.fixture(scope="module")
def internet_facing_plan(demo_stack_config: dict[str, Any]) -> Plan:
    """The demo with the explicit internet-facing opt-in."""
    config = copy.deepcopy(demo_stack_config)
    config["mlplat:serving"]["ingress"].update(
        scheme="internet-facing", inboundCidrs=["198.51.100.0/24"])
    config["mlplat:network"]["internetFacingLoadBalancers"] = True
    return plan_environment(parse(config), "demo")


@pytest.fixture(scope="module")
def on_prem_ingress_plan(demo_stack_config: dict[str, Any]) -> Plan:
    """The demo serving through an existing ingress controller, two runtimes only."""
    config = copy.deepcopy(demo_stack_config)
    config["mlplat:serving"] = {"runtimes": ["sklearn", "triton"], "namespaces": ["serving"],
                                "ingress": {"controller": "existing", "className": "nginx"}}
    return plan_environment(parse(config), "demo")


# ------------------------------------------------------------------ config


def test_serving_defaults_are_internal(demo_config: dict[str, Any]) -> None:
    demo_config["mlplat:serving"] = {}
    serving = parse(demo_config).serving
    assert serving.ingress.scheme.value == "internal" and not serving.ingress.internet_facing
    assert serving.ingress.controller.value == "aws-load-balancer"
    assert [r.value for r in serving.runtimes] == ["sklearn", "xgboost", "triton", "vllm"]
    assert serving.autoscaling.min_replicas == 2 and serving.max_unavailable == 1


@pytest.mark.parametrize(("ingress", "message"), [
    ({"scheme": "internet-facing"}, "scheme internet-facing needs inboundCidrs"),
    ({"scheme": "internet-facing", "inboundCidrs": ["0.0.0.0/0"]},
     "0.0.0.0/0 admits the whole internet"),
    ({"scheme": "public"}, "mlplat:serving.ingress.scheme"),
    ({"controller": "existing", "scheme": "internet-facing"},
     "apply only to the aws-load-balancer controller"),
    ({"domain": "Not A Domain"}, "is not a DNS domain"),
])
def test_ingress_rules(demo_config: dict[str, Any], ingress: dict[str, Any],
                       message: str) -> None:
    demo_config["mlplat:serving"]["ingress"] = ingress
    assert message in error_of(demo_config)


def test_internet_facing_is_refused_in_prod(demo_config: dict[str, Any]) -> None:
    demo_config["mlplat:env"] = "prod"
    demo_config["mlplat:tags"].pop("env", None)
    demo_config["mlplat:serving"]["ingress"] = {"scheme": "internet-facing",
                                                "inboundCidrs": ["198.51.100.0/24"]}
    assert "internet-facing is refused in prod" in error_of(demo_config)


def test_internet_facing_needs_public_subnets_for_load_balancers(
    demo_config: dict[str, Any],
) -> None:
    demo_config["mlplat:serving"]["ingress"] = {"scheme": "internet-facing",
                                                "inboundCidrs": ["198.51.100.0/24"]}
    assert "needs network.internetFacingLoadBalancers: true" in error_of(demo_config)
    demo_config["mlplat:network"]["internetFacingLoadBalancers"] = True
    assert parse(demo_config).serving.ingress.internet_facing


def test_serving_namespaces_must_be_tenancy_namespaces(demo_config: dict[str, Any]) -> None:
    demo_config["mlplat:serving"]["namespaces"] = ["inference"]
    assert ("mlplat:serving.namespaces[0]: 'inference' is not one of tenancy.namespaces"
            in error_of(demo_config))


def test_autoscaling_bounds(demo_config: dict[str, Any]) -> None:
    demo_config["mlplat:serving"]["autoscaling"] = {"minReplicas": 5, "maxReplicas": 2}
    assert "minReplicas (5) exceeds maxReplicas (2)" in error_of(demo_config)


# ------------------------------------------------------------------ pins


def test_every_serving_chart_and_image_is_pinned(demo_plan: Plan) -> None:
    expected = {
        "cert-manager": (versions.CERT_MANAGER_CHART, "v1.21.1"),
        "kserve-crd": ("oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0"),
        "kserve": ("oci://ghcr.io/kserve/charts/kserve-resources", "v0.20.0"),
        "aws-load-balancer-controller": (versions.AWS_LOAD_BALANCER_CONTROLLER_CHART, "3.5.0"),
    }
    for name, (chart, version) in expected.items():
        record = release(demo_plan, name)
        assert (record.inputs["chart"], record.inputs["version"]) == (chart, version), name
    lbc = release(demo_plan, "aws-load-balancer-controller").inputs["values"]
    assert lbc["image"] == {"repository": "public.ecr.aws/eks/aws-load-balancer-controller",
                            "tag": "v3.5.0"}
    images = {r.inputs["metadata"]["name"]: r.inputs["spec"]["containers"][0]["image"]
              for r in demo_plan.of_type(RUNTIME)}
    assert images == {
        "mlplat-sklearn": "docker.io/kserve/sklearnserver:v0.20.0",
        "mlplat-xgboost": "docker.io/kserve/xgbserver:v0.20.0",
        "mlplat-triton": "nvcr.io/nvidia/tritonserver:23.05-py3",
        "mlplat-vllm": "docker.io/vllm/vllm-openai:v0.20.0",
    }
    for image in images.values():
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")


def test_kserve_runs_raw_deployments_without_istio(demo_plan: Plan) -> None:
    values = release(demo_plan, "kserve").inputs["values"]["kserve"]
    controller = values["controller"]
    assert controller["deploymentMode"] == "RawDeployment"
    assert controller["gateway"]["disableIstioVirtualHost"] is True
    assert controller["gateway"]["ingressGateway"] == {"className": "alb",
                                                      "enableGatewayApi": False}
    assert controller["gateway"]["domain"] == "models.vision.example.internal"
    assert values["security"] == {"autoMountServiceAccountToken": False}
    assert values["autoscaler"]["scaleDownStabilizationWindowSeconds"] == "300"
    storage = values["storage"]["containerSecurityContext"]
    assert storage["runAsNonRoot"] is True and storage["allowPrivilegeEscalation"] is False
    # cert-manager (for the chart's webhook certificate) and the ingress controller first.
    kserve = release(demo_plan, "kserve")
    assert release(demo_plan, "cert-manager").urn in kserve.dependencies
    assert release(demo_plan, "aws-load-balancer-controller").urn in kserve.dependencies
    assert release(demo_plan, "cert-manager").inputs["values"]["crds"] == {
        "enabled": True, "keep": True}


# ------------------------------------------------------------------ internal by default


def test_load_balancers_are_internal_by_default(demo_plan: Plan) -> None:
    (params,) = demo_plan.of_type(PARAMS)
    assert params.inputs["spec"]["scheme"] == "internal"
    assert params.inputs["spec"]["targetType"] == "ip"
    assert "inboundCIDRs" not in params.inputs["spec"]
    values = release(demo_plan, "aws-load-balancer-controller").inputs["values"]
    assert values["defaultLoadBalancerScheme"] == "internal"
    assert values["createIngressClassResource"] is False
    create = statement(lbc_policy(demo_plan), "CreateLoadBalancersOfAllowedScheme")
    assert create["Condition"]["StringEquals"]["elasticloadbalancing:Scheme"] == ["internal"]
    (ingress_class,) = demo_plan.of_type(INGRESS_CLASS)
    assert ingress_class.inputs["spec"] == {
        "controller": "ingress.k8s.aws/alb",
        "parameters": {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams",
                       "name": "alb"}}
    rule = rule_by_id("MLP-SRV-001")
    assert rule is not None and rule.run(demo_plan) == []


def test_internet_facing_only_by_explicit_opt_in_and_the_audit_reports_it(
    internet_facing_plan: Plan,
) -> None:
    (params,) = internet_facing_plan.of_type(PARAMS)
    assert params.inputs["spec"]["scheme"] == "internet-facing"
    assert params.inputs["spec"]["inboundCIDRs"] == ["198.51.100.0/24"]
    create = statement(lbc_policy(internet_facing_plan), "CreateLoadBalancersOfAllowedScheme")
    assert create["Condition"]["StringEquals"]["elasticloadbalancing:Scheme"] == [
        "internal", "internet-facing"]
    rule = rule_by_id("MLP-SRV-001")
    assert rule is not None
    (finding,) = rule.run(internet_facing_plan)
    assert "internet-facing" in finding.message and "198.51.100.0/24" in finding.message


# ------------------------------------------------------------------ controller IAM


def test_controller_role_trusts_only_its_service_account(demo_plan: Plan) -> None:
    (role,) = [r for r in demo_plan.of_type("aws:iam/role:Role")
               if r.name.endswith("-aws-load-balancer-controller-role")]
    (trust,) = json.loads(role.inputs["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"] == (
        "kube-system")
    assert trust["Condition"]["StringEquals"][
        "aws:RequestTag/kubernetes-service-account"] == "aws-load-balancer-controller"
    (association,) = [r for r in demo_plan.of_type(
        "aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if r.inputs["service_account"] == "aws-load-balancer-controller"]
    assert association.inputs["namespace"] == "kube-system"
    lbc = release(demo_plan, "aws-load-balancer-controller")
    assert association.urn in lbc.dependencies


def test_controller_policy_is_scoped(demo_plan: Plan) -> None:
    document = lbc_policy(demo_plan)
    for entry in document["Statement"]:
        assert entry["Effect"] == "Allow" and "NotAction" not in entry
        assert "NotResource" not in entry
        actions = listed(entry["Action"])
        for action in actions:
            assert action != "*" and not action.endswith(":*") and "*" not in action, action
            assert action not in ESCALATION_ACTIONS, action
        resources = listed(entry["Resource"])
        if resources == ["*"]:
            # Only reads AWS cannot scope, and only in the environment's region.
            assert entry["Sid"] == "ReadLoadBalancingContext"
            assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in actions)
            assert entry["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}
            continue
        for resource in resources:
            assert resource.startswith("arn:aws:"), resource
            service, region, account = resource.split(":")[2:5]
            assert account == ACCOUNT, resource
            assert region == ("" if service == "iam" else REGION), resource
    # Everything the controller changes carries this cluster's tag, at creation or before.
    for sid in ("CreateTargetGroups", "ManageOwnLoadBalancers", "ManageOwnSecurityGroups",
                "CreateTaggedSecurityGroupInVpc"):
        condition = statement(document, sid)["Condition"]["StringEquals"]
        assert "vision-staging" in condition.values(), sid
    vpc = statement(document, "ManageSecurityGroupRulesInVpc")["Condition"]["ArnEquals"]
    assert vpc["ec2:Vpc"].startswith(f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-")
    linked = statement(document, "CreateElbServiceLinkedRole")
    assert linked["Condition"] == {"StringEquals": {
        "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}
    granted = {a for s in document["Statement"] for a in listed(s["Action"])}
    assert not {a for a in granted if a.split(":")[0] in ("wafv2", "waf-regional", "shield",
                                                           "cognito-idp", "acm")}


def test_controller_chart_needs_no_instance_metadata(demo_plan: Plan) -> None:
    values = release(demo_plan, "aws-load-balancer-controller").inputs["values"]
    assert values["region"] == REGION
    assert values["vpcId"].startswith("vpc-")
    assert values["replicaCount"] == 2
    assert values["podDisruptionBudget"] == {"maxUnavailable": 1}
    assert (values["enableWaf"], values["enableWafv2"], values["enableShield"]) == (
        False, False, False)


# ------------------------------------------------------------------ runtimes


def test_runtimes_run_restricted_with_limits(demo_plan: Plan) -> None:
    runtimes = demo_plan.of_type(RUNTIME)
    assert len(runtimes) == 4
    for runtime in runtimes:
        spec = runtime.inputs["spec"]
        assert spec["hostIPC"] is False
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] >= 1000
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["privileged"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}
            resources = container["resources"]
            assert resources["limits"] == resources["requests"]
            assert {"cpu", "memory"} <= set(resources["limits"])
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/tmp", "/dev/shm"} <= mounts


def test_runtimes_fit_the_pinned_kserve_api(demo_plan: Plan) -> None:
    for runtime in demo_plan.of_type(RUNTIME):
        assert runtime.inputs["apiVersion"] == versions.KSERVE_API_VERSION
        assert problems(runtime.inputs, K8S_VERSION) == [], runtime.name
    broken = copy.deepcopy(demo_plan.of_type(RUNTIME)[0].inputs)
    broken["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True
    broken["spec"]["protocolVersions"] = ["v3"]
    found = sorted(problems(broken, K8S_VERSION))
    assert len(found) == 2
    assert found[0].startswith("spec.containers: ") and "runAsNonroot" in found[0]
    assert found[1] == "spec.protocolVersions[]: 'v3' not one of ['grpc-v1', 'grpc-v2', " \
                       "'v1', 'v2']"


def test_ingress_class_params_fit_the_pinned_controller_api(
    demo_plan: Plan, internet_facing_plan: Plan,
) -> None:
    for plan in (demo_plan, internet_facing_plan):
        (params,) = plan.of_type(PARAMS)
        assert params.inputs["apiVersion"] == versions.ELBV2_API_VERSION
        assert problems(params.inputs, K8S_VERSION) == []
    broken = copy.deepcopy(params.inputs)
    broken["spec"]["scheme"] = "public"
    assert problems(broken, K8S_VERSION) == [
        "spec.scheme: 'public' not one of ['internal', 'internet-facing']"]


# ------------------------------------------------------------------ team part


def test_disruption_budget_per_serving_namespace(demo_plan: Plan) -> None:
    budgets = children(demo_plan, TEAM_SERVING, PDB)
    # The demo names no serving namespaces: every team namespace gets one.
    assert sorted(b.inputs["metadata"]["namespace"] for b in budgets) == [
        "vision-staging", "vision-staging-serving"]
    for budget in budgets:
        assert budget.inputs["spec"] == {"maxUnavailable": 1, "selector": {
            "matchExpressions": [{"key": "serving.kserve.io/inferenceservice",
                                  "operator": "Exists"}]}}
        assert budget.inputs["metadata"]["labels"]["mlplat.io/team"] == "vision"


def test_load_balancer_reaches_only_model_pods_from_the_vpc(demo_plan: Plan) -> None:
    policies = children(demo_plan, TEAM_SERVING, NETWORK_POLICY)
    assert len(policies) == 2
    for policy in policies:
        spec = policy.inputs["spec"]
        assert spec["podSelector"]["matchExpressions"][0]["key"] == (
            "serving.kserve.io/inferenceservice")
        assert spec["policyTypes"] == ["Ingress"]
        (rule,) = spec["ingress"]
        assert rule == {"from": [{"ipBlock": {"cidr": "10.40.0.0/16"}}],
                        "ports": [{"protocol": "TCP", "port": 8080}]}


def test_core_serving_objects_are_valid_kubernetes(
    demo_plan: Plan, on_prem_ingress_plan: Plan,
) -> None:
    records = [*children(demo_plan, TEAM_SERVING, PDB),
               *children(demo_plan, TEAM_SERVING, NETWORK_POLICY),
               *children(demo_plan, TEAM_SERVING, VAP),
               *children(demo_plan, TEAM_SERVING, VAP_BINDING),
               *children(demo_plan, LBC, INGRESS_CLASS),
               *children(on_prem_ingress_plan, TEAM_SERVING, PDB)]
    assert len(records) == 2 + 2 + 1 + 1 + 1 + 1
    for record in records:
        kubernetes_validate.validate(record.inputs, K8S_VERSION, strict=True)


def test_replicas_are_capped_in_the_teams_namespaces_only(demo_plan: Plan) -> None:
    (policy,) = children(demo_plan, TEAM_SERVING, VAP)
    (binding,) = children(demo_plan, TEAM_SERVING, VAP_BINDING)
    spec = policy.inputs["spec"]
    assert spec["failurePolicy"] == "Fail"
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert (rule["apiGroups"], rule["resources"]) == (["serving.kserve.io"],
                                                      ["inferenceservices"])
    assert [v["expression"] for v in spec["validations"]] == [
        "!has(object.spec.predictor.minReplicas) || object.spec.predictor.minReplicas <= 4",
        "!has(object.spec.predictor.maxReplicas) || object.spec.predictor.maxReplicas <= 4",
    ]
    assert binding.inputs["spec"] == {
        "policyName": policy.inputs["metadata"]["name"], "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": {"matchLabels": {
            "mlplat.io/team": "vision", "mlplat.io/env": "staging"}}}}
    assert policy.urn in binding.dependencies


def test_existing_ingress_controller_on_prem(on_prem_ingress_plan: Plan) -> None:
    plan = on_prem_ingress_plan
    assert not any(r.type == LBC for r in plan.resources)
    assert not plan.of_type(PARAMS) and not plan.of_type(INGRESS_CLASS)
    names = {r.inputs["name"] for r in plan.of_type("kubernetes:helm.sh/v3:Release")}
    assert "aws-load-balancer-controller" not in names and "kserve" in names
    gateway = release(plan, "kserve").inputs["values"]["kserve"]["controller"]["gateway"]
    assert gateway["ingressGateway"]["className"] == "nginx"
    # Traffic comes through the in-cluster controller: no VPC ingress to model pods.
    assert children(plan, TEAM_SERVING, NETWORK_POLICY) == []
    assert [b.inputs["metadata"]["namespace"] for b in children(plan, TEAM_SERVING, PDB)] == [
        "vision-staging-serving"]
    assert sorted(r.inputs["metadata"]["name"] for r in plan.of_type(RUNTIME)) == [
        "mlplat-sklearn", "mlplat-triton"]


# ------------------------------------------------------------------ the docs' InferenceService


@pytest.fixture(scope="module")
def inference_service() -> dict[str, Any]:
    return doc_sample("serving.md", "inference-service")


def test_sample_inference_service_fits_the_pinned_kserve_api(
    inference_service: dict[str, Any],
) -> None:
    assert inference_service["apiVersion"] == "serving.kserve.io/v1beta1"
    assert problems(inference_service, K8S_VERSION) == []


def test_sample_uses_an_installed_runtime_in_a_serving_namespace(
    inference_service: dict[str, Any], demo_plan: Plan,
) -> None:
    model = inference_service["spec"]["predictor"]["model"]
    runtimes = {r.inputs["metadata"]["name"]: r.inputs["spec"]
                for r in demo_plan.of_type(RUNTIME)}
    formats = {f["name"] for f in runtimes[model["runtime"]]["supportedModelFormats"]}
    assert model["modelFormat"]["name"] in formats
    namespaces = {b.inputs["metadata"]["namespace"]
                  for b in children(demo_plan, TEAM_SERVING, PDB)}
    assert inference_service["metadata"]["namespace"] in namespaces
    assert inference_service["metadata"]["annotations"][
        "serving.kserve.io/deploymentMode"] == "RawDeployment"


def test_sample_lands_on_the_serving_pool_and_tolerates_its_taint(
    inference_service: dict[str, Any], demo_config: dict[str, Any],
) -> None:
    predictor = inference_service["spec"]["predictor"]
    serving_pools = {p.name for p in parse(demo_config).gpu_pools
                     if p.purpose.value == "serving"}
    assert predictor["nodeSelector"]["mlplat.io/pool"] in serving_pools
    assert tolerates(predictor["tolerations"], GPU_TAINT)


def test_sample_follows_the_autoscaling_and_security_defaults(
    inference_service: dict[str, Any], demo_config: dict[str, Any],
) -> None:
    defaults = parse(demo_config).serving.autoscaling
    predictor = inference_service["spec"]["predictor"]
    assert predictor["minReplicas"] == defaults.min_replicas
    assert predictor["maxReplicas"] == defaults.max_replicas
    assert predictor["securityContext"]["runAsNonRoot"] is True
    assert predictor["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    resources = predictor["model"]["resources"]
    assert resources["limits"] == resources["requests"]


# ------------------------------------------------------------------ on-prem substrate


def _onprem_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        (STACKS_DIR / "Pulumi.onprem-demo.yaml").read_text())["config"]
    return config


def test_onprem_serving_uses_the_existing_ingress_controller() -> None:
    config = _onprem_config()
    config["mlplat:serving"] = {"runtimes": ["sklearn"]}
    assert ("mlplat:serving.ingress.controller: ingress.controller aws-load-balancer is "
            "AWS-only" in error_of(config))
    config["mlplat:serving"]["ingress"] = {"controller": "existing", "className": "nginx"}
    plan = plan_environment(parse(config), "onprem-demo")
    assert not any(r.type == LBC for r in plan.resources)
    assert not any(r.package == "aws" for r in plan.resources)
    gateway = release(plan, "kserve").inputs["values"]["kserve"]["controller"]["gateway"]
    assert gateway["ingressGateway"]["className"] == "nginx"
    assert [r.inputs["metadata"]["name"] for r in plan.of_type(RUNTIME)] == ["mlplat-sklearn"]
    assert children(plan, TEAM_SERVING, PDB) and not children(plan, TEAM_SERVING,
                                                              NETWORK_POLICY)


def test_onprem_training_is_refused_until_gpu_queues_exist_there() -> None:
    config = _onprem_config()
    config["mlplat:training"] = {"quotas": {"training": {"gpus": 1}}}
    assert "is not available on substrate 'onprem' yet" in error_of(config)
