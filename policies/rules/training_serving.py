"""Training and serving: load balancers of the model ingress stay internal, GPU queues serve
only their own team.

(The model servers' containers are checked by the workload rules of kubernetes.py:
ClusterServingRuntimes are workloads there.)
"""

from __future__ import annotations

from collections.abc import Iterator

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline
from policies.rules._helpers import dig, k8s_name

INGRESS_CLASS_PARAMS = "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams"
CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"


def check_internal_ingress(params: ResourceRecord, plan: Plan) -> Iterator[str]:
    scheme = dig(params.inputs, "spec", "scheme")
    name = k8s_name(params) or params.name
    if scheme is None:
        yield (f"IngressClassParams {name} sets no scheme: each Ingress's annotation (or the "
               "controller default) decides whether its load balancer faces the internet")
    elif scheme != "internal":
        cidrs = dig(params.inputs, "spec", "inboundCIDRs") or "any source"
        yield (f"IngressClassParams {name} makes every Ingress of its class an {scheme} "
               f"load balancer (admitting {cidrs})")


def check_queue_selector(queue: ResourceRecord, plan: Plan) -> Iterator[str]:
    selector = dig(queue.inputs, "spec", "namespaceSelector")
    if isinstance(selector, dict) and not selector.get("matchLabels") and not selector.get(
            "matchExpressions"):
        yield (f"ClusterQueue {k8s_name(queue) or queue.name} admits LocalQueues of every "
               "namespace (empty namespaceSelector): any team can spend its quota")


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-SRV-001", title="Model ingress load balancers are internal",
        severity=Severity.HIGH,
        rationale="An internet-facing load balancer puts models (and whatever their servers "
                  "expose) on the internet; mlplat makes it an explicit, reported opt-in.",
        remediation="Set scheme: internal in the IngressClassParams (mlplat:serving."
                    "ingress.scheme), or waive the finding with the reason and the allowed "
                    "sources.",
        controls=(baseline("network-exposure"),),
        resource_types=(INGRESS_CLASS_PARAMS,), check=check_internal_ingress,
    ),
    Rule(
        id="MLP-TRN-001", title="A team's ClusterQueue admits only its own namespaces",
        severity=Severity.MEDIUM,
        rationale="An empty namespaceSelector lets a LocalQueue in any namespace use the "
                  "queue, so one team could spend another's GPU quota on a shared cluster.",
        remediation="Select the team's namespaces by their ownership labels (TeamQueues "
                    "does).",
        controls=(baseline("tenant-isolation"),),
        resource_types=(CLUSTER_QUEUE,), check=check_queue_selector,
    ),
)
