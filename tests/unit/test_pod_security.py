"""Tests of the cluster-wide admission policies (components/k8s/pod_security.py): host
isolation everywhere but an explicit allow-list, internal load balancers unless opted in.
No API server runs here: the plan is checked for the policies and bindings, and their CEL
expressions are evaluated on sample objects by cel-python (a CEL implementation; the API
server uses cel-go, so Kubernetes-specific extensions are not exercised)."""

from __future__ import annotations

import functools
import json
from typing import Any

import celpy
import pytest

from components.k8s import pod_security
from mlplat.config import parse_environment
from mlplat.plan import Plan, ResourceRecord, plan_environment

pytestmark = pytest.mark.unit

POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"


@functools.cache
def _plan(overrides_json: str = "{}") -> Plan:
    raw: dict[str, Any] = {"team": "vision", "env": "dev", "region": "eu-west-1",
                           "tags": {"cost-center": "cc-4711"}, **json.loads(overrides_json)}
    return plan_environment(parse_environment(raw, "<test>"))


def plan_of(**overrides: Any) -> Plan:
    return _plan(json.dumps(overrides, sort_keys=True))


def _by_name(plan: Plan, type_token: str) -> dict[str, ResourceRecord]:
    return {r.inputs["metadata"]["name"]: r for r in plan.of_type(type_token)}


def test_host_isolation_denies_every_namespace_but_the_allow_list() -> None:
    plan = plan_of(cluster={"privilegedNamespaces": ["gpu-operator"]})
    binding = _by_name(plan, BINDING)[pod_security.HOST_ISOLATION_POLICY]
    spec = binding.inputs["spec"]
    assert spec["validationActions"] == ["Deny"]
    assert spec["policyName"] == pod_security.HOST_ISOLATION_POLICY
    (expression,) = spec["matchResources"]["namespaceSelector"]["matchExpressions"]
    assert expression == {"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                          "values": ["gpu-operator", "kube-system", "monitoring"]}
    policy = _by_name(plan, POLICY)[pod_security.HOST_ISOLATION_POLICY]
    assert policy.inputs["spec"]["failurePolicy"] == "Fail"
    (rule,) = policy.inputs["spec"]["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["pods", "pods/ephemeralcontainers"]
    assert sorted(rule["operations"]) == ["CREATE", "UPDATE"]


def test_team_namespaces_are_never_allow_listed() -> None:
    plan = plan_of(tenancy={"teamRoleArn": "arn:aws:iam::111122223333:role/vision-developers",
                            "namespaces": [{}]})
    team = [r.inputs["metadata"]["name"] for r in plan.of_type("kubernetes:core/v1:Namespace")
            if "mlplat.io/team" in r.inputs["metadata"].get("labels", {})]
    binding = _by_name(plan, BINDING)[pod_security.HOST_ISOLATION_POLICY]
    allowed = binding.inputs["spec"]["matchResources"]["namespaceSelector"][
        "matchExpressions"][0]["values"]
    assert team and not set(team) & set(allowed)


def _failed(validations: list[dict[str, str]], obj: dict[str, Any],
            resource: str = "pods") -> list[str]:
    """Messages of the validations the object fails, evaluated by a real CEL engine."""
    env = celpy.Environment()
    activation = {"object": celpy.json_to_cel(obj),
                  "request": celpy.json_to_cel({"resource": {"resource": resource}})}
    return [v["message"] for v in validations
            if not env.program(env.compile(v["expression"])).evaluate(activation)]


CLEAN_POD: dict[str, Any] = {"spec": {
    "containers": [{"name": "app", "securityContext": {"privileged": False}}],
    "volumes": [{"name": "scratch", "emptyDir": {}}], "hostNetwork": False}}


@pytest.mark.parametrize("change, what", [
    ({"hostNetwork": True}, "hostNetwork"),
    ({"hostPID": True}, "hostPID"),
    ({"hostIPC": True}, "hostIPC"),
    ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, "hostPath volumes"),
    ({"containers": [{"name": "a", "securityContext": {"privileged": True}}]},
     "privileged containers"),
    ({"initContainers": [{"name": "i", "securityContext": {"privileged": True}}]},
     "privileged initContainers"),
    ({"ephemeralContainers": [{"name": "e", "securityContext": {"privileged": True}}]},
     "privileged ephemeralContainers"),
])
def test_host_isolation_checks_every_forbidden_field(change: dict[str, Any], what: str) -> None:
    validations = pod_security.host_isolation_validations()
    assert _failed(validations, CLEAN_POD) == []
    (message,) = _failed(validations, {"spec": {**CLEAN_POD["spec"], **change}})
    assert message.startswith(f"{what} is not allowed")


@pytest.mark.parametrize("annotations, service_type, admitted", [
    ({}, "ClusterIP", True),
    ({}, "LoadBalancer", False),
    ({pod_security.SERVICE_SCHEME_ANNOTATION: "internet-facing"}, "LoadBalancer", False),
    ({pod_security.SERVICE_SCHEME_ANNOTATION: "internal"}, "LoadBalancer", True),
    ({pod_security.SERVICE_INTERNAL_ANNOTATION: "true"}, "LoadBalancer", True),
])
def test_load_balancer_services_must_be_internal(
    annotations: dict[str, str], service_type: str, admitted: bool
) -> None:
    service = {"metadata": {"annotations": annotations} if annotations else {},
               "spec": {"type": service_type}}
    failed = _failed(pod_security.load_balancer_validations(), service, "services")
    assert (failed == []) is admitted


@pytest.mark.parametrize("scheme, admitted", [
    (None, True), ("internal", True), ("internet-facing", False)])
def test_ingresses_may_not_ask_for_internet_facing(scheme: str | None, admitted: bool) -> None:
    metadata = {"annotations": {pod_security.INGRESS_SCHEME_ANNOTATION: scheme}} if scheme else {}
    ingress = {"metadata": metadata, "spec": {"rules": []}}
    failed = _failed(pod_security.load_balancer_validations(), ingress, "ingresses")
    assert (failed == []) is admitted


def test_load_balancer_policy_only_without_the_opt_in() -> None:
    default = plan_of()
    policy = _by_name(default, POLICY)[pod_security.INTERNAL_LOAD_BALANCERS_POLICY]
    resources = {r for rule in policy.inputs["spec"]["matchConstraints"]["resourceRules"]
                 for r in rule["resources"]}
    assert resources == {"services", "ingresses"}
    text = json.dumps(policy.inputs["spec"]["validations"])
    assert pod_security.SERVICE_SCHEME_ANNOTATION in text
    assert pod_security.INGRESS_SCHEME_ANNOTATION in text and "internet-facing" in text
    binding = _by_name(default, BINDING)[pod_security.INTERNAL_LOAD_BALANCERS_POLICY]
    assert binding.inputs["spec"]["validationActions"] == ["Deny"]
    assert binding.inputs["spec"]["matchResources"]["namespaceSelector"] == {}

    opted_in = plan_of(network={"internetFacingLoadBalancers": True})
    assert pod_security.INTERNAL_LOAD_BALANCERS_POLICY not in _by_name(opted_in, POLICY)
    assert pod_security.HOST_ISOLATION_POLICY in _by_name(opted_in, POLICY)


def test_the_demo_plan_carries_both_policies(demo_plan: Plan) -> None:
    # (The serving layer adds a team policy of its own: mlplat-isvc-replicas-<team>-<env>.)
    assert {pod_security.HOST_ISOLATION_POLICY,
            pod_security.INTERNAL_LOAD_BALANCERS_POLICY} <= set(_by_name(demo_plan, POLICY))
