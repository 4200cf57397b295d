"""The training layer: `mlplat:training` config rules, the plan of Kueue (flavors per GPU
pool), the team's ClusterQueue and LocalQueues and JobSet, the custom resources against the
fields of their pinned API versions, and the PyTorch sample in docs/components/training.md."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from crd_fields import problems
from test_mlflow import SOURCE, error_of, parse

from components import versions
from components.k8s.kueue import INTEGRATIONS
from components.k8s.nvidia_device_plugin import GPU_TAINT
from mlplat.core.paths import REPO_ROOT
from mlplat.plan import Plan, ResourceRecord, plan_environment

pytestmark = pytest.mark.unit

RELEASE = "kubernetes:helm.sh/v3:Release"
FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
LOCAL_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
TRAINING_TYPES = ("mlplat:k8s/kueue:Kueue", "mlplat:k8s/team_queues:TeamQueues",
                  "mlplat:k8s/training_operator:JobSetOperator", FLAVOR, CLUSTER_QUEUE,
                  LOCAL_QUEUE)
TEAM_NAMESPACES = ["vision-staging", "vision-staging-serving"]
K8S_VERSION = "1.33"


def release(plan: Plan, name: str) -> ResourceRecord:
    (found,) = [r for r in plan.of_type(RELEASE) if r.inputs["name"] == name]
    return found


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, str]) -> bool:
    """Kubernetes' matching rule: key (or an empty key with Exists), effect (or none) and,
    for Equal, the value."""
    for toleration in tolerations:
        operator = toleration.get("operator", "Equal")
        key_ok = toleration.get("key") == taint["key"] or (
            not toleration.get("key") and operator == "Exists")
        effect_ok = toleration.get("effect") in (None, "", taint["effect"])
        value_ok = operator == "Exists" or toleration.get("value") == taint["value"]
        if key_ok and effect_ok and value_ok:
            return True
    return False


def doc_sample(page: str, marker: str) -> dict[str, Any]:
    """The YAML block following `<!-- sample: marker -->` in a docs page."""
    text = (REPO_ROOT / "docs" / "components" / page).read_text()
    found = re.search(rf"<!-- sample: {marker} -->\n```yaml\n(.*?)```", text, re.S)
    assert found, f"{page} has no sample {marker}"
    sample: dict[str, Any] = yaml.safe_load(found.group(1))
    return sample


# ------------------------------------------------------------------ config


def test_demo_training_config(demo_config: dict[str, Any]) -> None:
    training = parse(demo_config).training
    assert training.cohort == "mlplat" and training.local_queue == "training"
    assert training.require_queue is True
    quota = training.quotas["training"]
    assert (quota.gpus, quota.borrowing_limit_gpus, quota.lending_limit_gpus) == (16, 8, None)


@pytest.mark.parametrize(("quotas", "message"), [
    ({"serving": {"gpus": 1}},
     "quotas.serving: not a gpuPools entry with purpose training (training pools: training)"),
    ({"nope": {"gpus": 1}}, "quotas.nope: not a gpuPools entry"),
    ({"training": {"gpus": 33}}, "quotas.training.gpus (33) exceeds gpuPools training "
                                 "gpuLimit (32)"),
    ({"training": {"gpus": 30, "borrowingLimitGpus": 3}},
     "gpus + borrowingLimitGpus (33) exceeds gpuPools training gpuLimit (32)"),
    ({"training": {"gpus": 4, "lendingLimitGpus": 5}},
     "lendingLimitGpus (5) exceeds gpus (4)"),
    ({"training": {"gpus": 4, "cpu": "-1"}}, "is not a Kubernetes quantity"),
    ({}, "mlplat:training.quotas"),
])
def test_quota_rules(demo_config: dict[str, Any], quotas: dict[str, Any], message: str) -> None:
    demo_config["mlplat:training"] = {"quotas": quotas}
    error = error_of(demo_config)
    assert message in error
    assert error.startswith(f"{SOURCE}: mlplat:training")


def test_unknown_training_key_is_refused(demo_config: dict[str, Any]) -> None:
    demo_config["mlplat:training"]["requireQueues"] = False
    assert "did you mean mlplat:training.requireQueue?" in error_of(demo_config)


# ------------------------------------------------------------------ the demo plan


def test_kueue_and_jobset_are_pinned_release_builds(demo_plan: Plan) -> None:
    kueue = release(demo_plan, "kueue")
    assert kueue.inputs["chart"] == "oci://registry.k8s.io/kueue/charts/kueue"
    assert kueue.inputs["version"] == versions.KUEUE_VERSION == "0.19.2"
    image = kueue.inputs["values"]["controllerManager"]["manager"]["image"]
    assert image == {"repository": "registry.k8s.io/kueue/kueue", "tag": "v0.19.2",
                     "pullPolicy": "IfNotPresent"}
    jobset = release(demo_plan, "jobset")
    assert jobset.inputs["chart"] == "oci://registry.k8s.io/jobset/charts/jobset"
    assert jobset.inputs["version"] == versions.JOBSET_VERSION == "0.12.0"
    assert jobset.inputs["values"]["image"]["tag"] == "v0.12.0"
    for record in (kueue, jobset):
        assert record.inputs["values"]["controllerManager" if record is kueue
                                       else "controller"]["nodeSelector"] == {
            "mlplat.io/node-role": "system", "kubernetes.io/os": "linux"}


def test_kueue_queues_every_job_of_team_namespaces_and_nothing_that_serves(
    demo_plan: Plan,
) -> None:
    config = yaml.safe_load(release(demo_plan, "kueue").inputs["values"]["managerConfig"][
        "controllerManagerConfigYaml"])
    assert config["manageJobsWithoutQueueName"] is True
    assert config["managedJobsNamespaceSelector"] == {"matchExpressions": [
        {"key": "mlplat.io/team", "operator": "Exists"}]}
    assert config["integrations"]["frameworks"] == list(INTEGRATIONS) == [
        "batch/job", "jobset.x-k8s.io/jobset"]
    team_namespaces = [r for r in demo_plan.of_type("kubernetes:core/v1:Namespace")
                       if r.inputs["metadata"]["name"] in TEAM_NAMESPACES]
    assert len(team_namespaces) == 2
    for namespace in team_namespaces:
        assert "mlplat.io/team" in namespace.inputs["metadata"]["labels"]


def test_one_flavor_per_gpu_pool_with_its_label_and_taint(demo_plan: Plan) -> None:
    flavors = {r.inputs["metadata"]["name"]: r.inputs["spec"]
               for r in demo_plan.of_type(FLAVOR)}
    assert sorted(flavors) == ["serving", "training"]
    nodes = {r.inputs["spec"]["template"]["metadata"]["labels"]["mlplat.io/pool"]:
             r.inputs["spec"]["template"]["spec"]
             for r in demo_plan.of_type("kubernetes:karpenter.sh/v1:NodePool")
             if "mlplat.io/accelerator" in r.inputs["spec"]["template"]["metadata"]["labels"]}
    for name, spec in flavors.items():
        assert spec["nodeLabels"] == {"mlplat.io/pool": name}
        # The flavor's taints are exactly the pool's node taints.
        assert spec["nodeTaints"] == nodes[name]["taints"] == [GPU_TAINT]


def test_team_cluster_queue_quota_cohort_and_namespaces(demo_plan: Plan) -> None:
    (queue,) = demo_plan.of_type(CLUSTER_QUEUE)
    spec = queue.inputs["spec"]
    assert queue.inputs["metadata"]["name"] == "vision-staging"
    assert spec["cohortName"] == "mlplat"
    assert spec["namespaceSelector"] == {"matchLabels": {"mlplat.io/team": "vision",
                                                         "mlplat.io/env": "staging"}}
    (group,) = spec["resourceGroups"]
    assert group["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    (flavor,) = group["flavors"]
    assert flavor["name"] == "training"
    resources = {r["name"]: r for r in flavor["resources"]}
    assert resources["nvidia.com/gpu"] == {"name": "nvidia.com/gpu", "nominalQuota": 16,
                                           "borrowingLimit": 8}
    assert resources["cpu"]["nominalQuota"] == "128"
    assert resources["memory"]["nominalQuota"] == "1Ti"
    assert spec["preemption"] == {"reclaimWithinCohort": "Any",
                                  "borrowWithinCohort": {"policy": "Never"},
                                  "withinClusterQueue": "LowerPriority"}
    # The selector matches the team's own namespaces.
    for namespace in demo_plan.of_type("kubernetes:core/v1:Namespace"):
        labels = namespace.inputs["metadata"].get("labels", {})
        if namespace.inputs["metadata"]["name"] in TEAM_NAMESPACES:
            assert spec["namespaceSelector"]["matchLabels"].items() <= labels.items()


def test_a_local_queue_in_every_team_namespace(demo_plan: Plan) -> None:
    queues = demo_plan.of_type(LOCAL_QUEUE)
    assert sorted(q.inputs["metadata"]["namespace"] for q in queues) == TEAM_NAMESPACES
    (cluster_queue,) = demo_plan.of_type(CLUSTER_QUEUE)
    for queue in queues:
        assert queue.inputs["metadata"]["name"] == "training"
        assert queue.inputs["spec"] == {"clusterQueue": "vision-staging"}
        assert cluster_queue.urn in queue.dependencies


def test_cluster_wide_and_team_parts_are_separate_components(demo_plan: Plan) -> None:
    kueue = demo_plan.one("mlplat:k8s/kueue:Kueue")
    team = demo_plan.one("mlplat:k8s/team_queues:TeamQueues")
    assert {r.type for r in demo_plan.children(kueue.urn)} == {RELEASE, FLAVOR}
    assert {r.type for r in demo_plan.children(team.urn)} == {CLUSTER_QUEUE, LOCAL_QUEUE}
    # The queues wait for Kueue (its CRDs come with the release).
    assert release(demo_plan, "kueue").urn in team.dependencies


def test_every_kueue_object_fits_the_pinned_api(demo_plan: Plan) -> None:
    records = [r for t in (FLAVOR, CLUSTER_QUEUE, LOCAL_QUEUE) for r in demo_plan.of_type(t)]
    assert len(records) == 2 + 1 + 2
    for record in records:
        assert record.inputs["apiVersion"] == versions.KUEUE_API_VERSION
        assert problems(record.inputs, K8S_VERSION) == [], record.name


def test_the_fact_check_catches_wrong_fields_enums_and_core_parts(demo_plan: Plan) -> None:
    (queue,) = demo_plan.of_type(CLUSTER_QUEUE)
    broken = copy.deepcopy(queue.inputs)
    broken["spec"]["cohort"] = broken["spec"].pop("cohortName")  # the v1beta1 name
    broken["spec"]["queueingStrategy"] = "FIFO"
    assert problems(broken, K8S_VERSION) == [
        "spec.queueingStrategy: 'FIFO' not one of ['BestEffortFIFO', 'StrictFIFO']",
        "spec.cohort: not a field of ClusterQueue (kubernetes-sigs/kueue v0.19.2 "
        "apis/kueue/v1beta2/clusterqueue_types.go)",
    ]
    flavor = copy.deepcopy(demo_plan.of_type(FLAVOR)[0].inputs)
    flavor["spec"]["nodeTaints"][0]["efect"] = "NoSchedule"
    (problem,) = problems(flavor, K8S_VERSION)
    assert problem.startswith("spec.nodeTaints: ")


def test_without_the_block_there_is_no_training_layer(
    demo_stack_config: dict[str, Any],
) -> None:
    config = copy.deepcopy(demo_stack_config)
    del config["mlplat:training"], config["mlplat:serving"]
    plan = plan_environment(parse(config), "demo")
    present = {r.type for r in plan.resources}
    assert not present & {*TRAINING_TYPES, "mlplat:k8s/kserve:KServe"}
    assert not {r.inputs["name"] for r in plan.of_type(RELEASE)} & {
        "kueue", "jobset", "kserve", "cert-manager", "aws-load-balancer-controller"}


# ------------------------------------------------------------------ the docs' PyTorch job


@pytest.fixture(scope="module")
def pytorch_job() -> dict[str, Any]:
    return doc_sample("training.md", "pytorch-jobset")


def test_sample_job_fits_the_pinned_jobset_api(pytorch_job: dict[str, Any]) -> None:
    assert pytorch_job["apiVersion"] == versions.JOBSET_API_VERSION
    assert problems(pytorch_job, K8S_VERSION) == []


def test_sample_job_lands_on_the_teams_queue(
    pytorch_job: dict[str, Any], demo_plan: Plan,
) -> None:
    queue = pytorch_job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"]
    namespace = pytorch_job["metadata"]["namespace"]
    local_queues = {(q.inputs["metadata"]["namespace"], q.inputs["metadata"]["name"])
                    for q in demo_plan.of_type(LOCAL_QUEUE)}
    assert (namespace, queue) in local_queues


def test_sample_job_tolerates_the_pool_taint_and_fits_the_quota(
    pytorch_job: dict[str, Any], demo_config: dict[str, Any],
) -> None:
    training = parse(demo_config).training.quotas["training"]
    gpus = 0
    for replicated in pytorch_job["spec"]["replicatedJobs"]:
        job = replicated["template"]["spec"]
        pod = job["template"]["spec"]
        assert tolerates(pod["tolerations"], GPU_TAINT)
        per_pod = sum(int(c["resources"]["limits"].get("nvidia.com/gpu", 0))
                      for c in pod["containers"])
        gpus += per_pod * job["parallelism"] * replicated.get("replicas", 1)
    assert 0 < gpus <= training.gpus + training.borrowing_limit_gpus


def test_sample_job_runs_under_the_restricted_pod_security_standard(
    pytorch_job: dict[str, Any],
) -> None:
    for replicated in pytorch_job["spec"]["replicatedJobs"]:
        pod = replicated["template"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}


def test_the_toleration_check_can_fail() -> None:
    assert tolerates([{"key": "nvidia.com/gpu", "operator": "Exists"}], GPU_TAINT)
    assert not tolerates([{"key": "nvidia.com/gpu", "value": "false"}], GPU_TAINT)
    assert not tolerates([{"key": "other", "operator": "Exists"}], GPU_TAINT)
    assert not tolerates([{"key": "nvidia.com/gpu", "operator": "Exists",
                           "effect": "NoExecute"}], GPU_TAINT)
