"""Kubernetes objects: team namespaces (PSA, quotas, limits, default-deny), workloads
(Pod Security Standards), cluster-admin bindings.

A team namespace is a Namespace labelled `mlplat.io/team` (the tenancy components label
them so); system namespaces are left to the platform.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Check, Rule, Severity, baseline, cis_eks, cis_k8s, pss
from policies.rules._helpers import (
    WORKLOAD_TYPES,
    as_list,
    container_name,
    containers,
    dig,
    k8s_labels,
    k8s_name,
    k8s_namespace,
    pod_spec,
    truthy,
)

NAMESPACE = "kubernetes:core/v1:Namespace"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
ADMISSION_POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
ADMISSION_BINDING = (
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding")
TEAM_LABEL = "mlplat.io/team"
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_ACCEPTED = ("restricted", "baseline")
#: Capabilities the restricted Pod Security Standard allows a container to add.
ALLOWED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})


def is_team_namespace(record: ResourceRecord) -> bool:
    return record.type == NAMESPACE and TEAM_LABEL in k8s_labels(record)


def in_namespace(plan: Plan, namespace: ResourceRecord, type_token: str) -> list[ResourceRecord]:
    """Objects of `type_token` placed in `namespace`: by name, or (name unknown offline,
    e.g. autonamed) by depending on the Namespace resource."""
    name = k8s_name(namespace)
    found = []
    for other in plan.of_type(type_token):
        other_ns = k8s_namespace(other)
        if (other_ns is not None and other_ns == name) or (
                other_ns is None and namespace.urn in other.dependencies):
            found.append(other)
    return found


def _shown(namespace: ResourceRecord) -> str:
    return k8s_name(namespace) or namespace.name


def check_psa(namespace: ResourceRecord, plan: Plan) -> Iterator[str]:
    if not is_team_namespace(namespace):
        return
    level = k8s_labels(namespace).get(PSA_ENFORCE)
    if level not in PSA_ACCEPTED:
        yield (f"team namespace {_shown(namespace)} enforces Pod Security level "
               f"{level or 'none'}, not restricted or baseline")


def _companion_check(type_token: str, what: str) -> Check:
    def check(namespace: ResourceRecord, plan: Plan) -> Iterator[str]:
        if is_team_namespace(namespace) and not in_namespace(plan, namespace, type_token):
            yield f"team namespace {_shown(namespace)} has no {what}"
    return check


def _default_deny(direction: str) -> Check:
    def denies(policy: ResourceRecord) -> bool:
        spec = policy.inputs.get("spec") or {}
        selects_all = not dig(spec, "podSelector", "matchLabels") and not dig(
            spec, "podSelector", "matchExpressions")
        types = as_list(spec.get("policyTypes"))
        return selects_all and direction in types and not as_list(spec.get(direction.lower()))

    def check(namespace: ResourceRecord, plan: Plan) -> Iterator[str]:
        if not is_team_namespace(namespace):
            return
        if not any(denies(p) for p in in_namespace(plan, namespace, NETWORK_POLICY)):
            yield (f"team namespace {_shown(namespace)} has no default-deny {direction} "
                   "NetworkPolicy (empty podSelector, no rules)")
    return check


def _security_context(container: dict[str, object]) -> dict[str, object]:
    context = container.get("securityContext")
    return context if isinstance(context, dict) else {}


def check_privileged(workload: ResourceRecord, plan: Plan) -> Iterator[str]:
    for container in containers(workload):
        if truthy(_security_context(container).get("privileged")):
            yield f"container {container_name(container)} is privileged"


def check_non_root(workload: ResourceRecord, plan: Plan) -> Iterator[str]:
    pod_context = pod_spec(workload).get("securityContext") or {}
    for container in containers(workload):
        context = _security_context(container)
        user = context.get("runAsUser", dig(pod_context, "runAsUser"))
        non_root = context.get("runAsNonRoot", dig(pod_context, "runAsNonRoot"))
        if user == 0 or not (truthy(non_root) or (isinstance(user, int) and user > 0)):
            yield f"container {container_name(container)} may run as root"


def _pod_flag(flag: str, message: str) -> Check:
    def check(workload: ResourceRecord, plan: Plan) -> Iterator[str]:
        if truthy(pod_spec(workload).get(flag)):
            yield message
    return check


def check_host_pid_ipc(workload: ResourceRecord, plan: Plan) -> Iterator[str]:
    for flag in ("hostPID", "hostIPC"):
        if truthy(pod_spec(workload).get(flag)):
            yield f"pod shares the node's {flag[4:]} namespace ({flag}: true)"


def check_host_path(workload: ResourceRecord, plan: Plan) -> Iterator[str]:
    for volume in as_list(pod_spec(workload).get("volumes")):
        if isinstance(volume, dict) and "hostPath" in volume:
            path = dig(volume, "hostPath", "path")
            yield f"volume {volume.get('name', '?')} mounts a node path ({path})"


def check_capabilities(workload: ResourceRecord, plan: Plan) -> Iterator[str]:
    for container in containers(workload):
        added = {str(c) for c in as_list(dig(_security_context(container), "capabilities", "add"))}
        extra = sorted(added - ALLOWED_CAPABILITIES)
        if extra:
            yield f"container {container_name(container)} adds capabilities {', '.join(extra)}"


def check_image(workload: ResourceRecord, plan: Plan) -> Iterator[str]:
    for container in containers(workload):
        image = str(container.get("image", ""))
        if "@sha256:" in image:
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if not tag or tag == "latest":
            yield (f"container {container_name(container)} image {image or '(none)'} is not "
                   "pinned to a tag or digest")


def check_limits(workload: ResourceRecord, plan: Plan) -> Iterator[str]:
    for container in containers(workload):
        limits = dig(container, "resources", "limits") or {}
        if not isinstance(limits, dict) or "memory" not in limits:
            yield f"container {container_name(container)} has no memory limit"


def check_cluster_admin(binding: ResourceRecord, plan: Plan) -> Iterator[str]:
    role = binding.inputs.get("roleRef") or {}
    if not isinstance(role, dict) or role.get("kind") != "ClusterRole" or role.get(
            "name") != "cluster-admin":
        return
    for subject in as_list(binding.inputs.get("subjects")):
        name = str(dig(subject, "name") or "")
        if not name.startswith("system:"):
            yield f"binds cluster-admin to {dig(subject, 'kind')} {name}"


_WORKLOADS = WORKLOAD_TYPES
_NS = (NAMESPACE,)
def check_any_namespace_psa(namespace: ResourceRecord, plan: Plan) -> Iterator[str]:
    if PSA_ENFORCE not in k8s_labels(namespace):
        yield (f"namespace {_shown(namespace)} carries no {PSA_ENFORCE} label: Pod Security "
               "Admission enforces nothing there")


def check_binding_denies(binding: ResourceRecord, plan: Plan) -> Iterator[str]:
    actions = [str(a) for a in as_list(dig(binding.inputs, "spec", "validationActions"))]
    if "Deny" not in actions:
        yield (f"admission policy binding {_shown(binding)} only "
               f"{' and '.join(actions) or 'does nothing'} (validationActions lacks Deny)")


def check_policy_fails_closed(policy: ResourceRecord, plan: Plan) -> Iterator[str]:
    # Unset means Fail (the API default); only an explicit Ignore fails open.
    if dig(policy.inputs, "spec", "failurePolicy") == "Ignore":
        yield (f"admission policy {_shown(policy)} has failurePolicy Ignore: an evaluation "
               "error lets the object in")


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-K8S-001", title="Team namespace enforces a Pod Security Standard",
        severity=Severity.HIGH,
        rationale="Pod Security Admission is the cluster's built-in guard against "
                  "privileged pods; without an enforce label a namespace admits anything.",
        remediation=f"Label the namespace {PSA_ENFORCE}=restricted (or baseline).",
        controls=(cis_eks("4.2.1"), pss("enforce label"), cis_k8s("5.2.1")),
        resource_types=_NS, check=check_psa,
    ),
    Rule(
        id="MLP-K8S-002", title="Team namespace has a ResourceQuota",
        severity=Severity.MEDIUM,
        rationale="Without a quota one team can take every GPU and node of a shared cluster.",
        remediation="Create a ResourceQuota in the namespace (tenancy component).",
        controls=(cis_eks("4.6.1"), cis_k8s("5.7.1"), baseline("tenant-isolation")),
        resource_types=_NS, check=_companion_check(RESOURCE_QUOTA, "ResourceQuota"),
        needs_plan=True,
    ),
    Rule(
        id="MLP-K8S-003", title="Team namespace has a LimitRange",
        severity=Severity.LOW,
        rationale="A LimitRange gives containers without requests/limits sane defaults, so "
                  "the quota can be enforced and the scheduler can place them.",
        remediation="Create a LimitRange in the namespace (tenancy component).",
        controls=(baseline("tenant-isolation"),),
        resource_types=_NS, check=_companion_check(LIMIT_RANGE, "LimitRange"),
        needs_plan=True,
    ),
    Rule(
        id="MLP-K8S-004", title="Team namespace has a default-deny ingress NetworkPolicy",
        severity=Severity.HIGH,
        rationale="Kubernetes allows all pod-to-pod traffic by default: any pod of any team "
                  "reaches every service until a policy selects it.",
        remediation="Create a NetworkPolicy with podSelector {} and policyTypes [Ingress] "
                    "and no ingress rules; allow specific flows in further policies.",
        controls=(cis_eks("4.3.2"), cis_k8s("5.3.2")),
        resource_types=_NS, check=_default_deny("Ingress"), needs_plan=True,
    ),
    Rule(
        id="MLP-K8S-005", title="Team namespace has a default-deny egress NetworkPolicy",
        severity=Severity.MEDIUM,
        rationale="Default-deny egress keeps a compromised workload from reaching other "
                  "teams, node ports and the internet except where allowed.",
        remediation="Create a NetworkPolicy with podSelector {} and policyTypes [Egress] "
                    "and no egress rules; allow DNS and needed flows separately.",
        controls=(cis_eks("4.3.2"), cis_k8s("5.3.2")),
        resource_types=_NS, check=_default_deny("Egress"), needs_plan=True,
    ),
    Rule(
        id="MLP-K8S-006", title="No privileged containers",
        severity=Severity.CRITICAL,
        rationale="A privileged container is root on the node.",
        remediation="Remove securityContext.privileged.",
        controls=(cis_eks("4.2.1"), pss("baseline: Privileged Containers")),
        resource_types=_WORKLOADS, check=check_privileged,
    ),
    Rule(
        id="MLP-K8S-007", title="Containers run as non-root",
        severity=Severity.MEDIUM,
        rationale="Root in a container is one kernel bug away from root on the node.",
        remediation="Set securityContext.runAsNonRoot=true (pod or container) and a "
                    "non-zero runAsUser.",
        controls=(cis_eks("4.2.6"), pss("restricted: Running as Non-root")),
        resource_types=_WORKLOADS, check=check_non_root,
    ),
    Rule(
        id="MLP-K8S-008", title="Pods do not use the host network",
        severity=Severity.HIGH,
        rationale="hostNetwork gives a pod the node's interfaces: it bypasses NetworkPolicies "
                  "and reaches the instance metadata service.",
        remediation="Remove hostNetwork: true.",
        controls=(cis_eks("4.2.4"), pss("baseline: Host Namespaces")),
        resource_types=_WORKLOADS,
        check=_pod_flag("hostNetwork", "pod uses the node's network (hostNetwork: true)"),
    ),
    Rule(
        id="MLP-K8S-009", title="Pods do not share the host PID or IPC namespace",
        severity=Severity.HIGH,
        rationale="hostPID/hostIPC expose every process (and its environment) of the node.",
        remediation="Remove hostPID and hostIPC.",
        controls=(cis_eks("4.2.2"), cis_eks("4.2.3"), pss("baseline: Host Namespaces")),
        resource_types=_WORKLOADS, check=check_host_pid_ipc,
    ),
    Rule(
        id="MLP-K8S-010", title="Pods do not mount host paths",
        severity=Severity.HIGH,
        rationale="A hostPath volume reads or writes the node's filesystem: kubelet "
                  "credentials, container runtime socket, other pods' data.",
        remediation="Use a PersistentVolumeClaim, emptyDir or CSI volume instead.",
        controls=(pss("baseline: HostPath Volumes"), cis_k8s("5.2.12")),
        resource_types=_WORKLOADS, check=check_host_path,
    ),
    Rule(
        id="MLP-K8S-011", title="Containers add no Linux capabilities",
        severity=Severity.HIGH,
        rationale="Added capabilities (NET_ADMIN, SYS_ADMIN...) are partial root; the "
                  "restricted standard allows only NET_BIND_SERVICE.",
        remediation="Remove securityContext.capabilities.add (drop ALL instead).",
        controls=(cis_eks("4.2.8"), pss("baseline: Capabilities")),
        resource_types=_WORKLOADS, check=check_capabilities,
    ),
    Rule(
        id="MLP-K8S-012", title="Container images are pinned (no :latest, no untagged)",
        severity=Severity.MEDIUM,
        rationale="A floating tag changes what runs without any change in the plan; a "
                  "reviewer cannot know what was deployed.",
        remediation="Use an exact version tag or an @sha256 digest.",
        controls=(baseline("pinned-versions"),),
        resource_types=_WORKLOADS, check=check_image,
    ),
    Rule(
        id="MLP-K8S-013", title="Containers set a memory limit",
        severity=Severity.LOW,
        rationale="Without a memory limit one container can starve its node; CPU limits are "
                  "deliberately not required (throttling hurts more than it protects).",
        remediation="Set resources.limits.memory on every container.",
        controls=(baseline("tenant-isolation"),),
        resource_types=_WORKLOADS, check=check_limits,
    ),
    Rule(
        id="MLP-K8S-014", title="cluster-admin is bound to no non-system subject",
        severity=Severity.CRITICAL,
        rationale="cluster-admin through RBAC bypasses every per-team boundary (in a "
                  "RoleBinding it still rules the namespace, its RBAC included); platform "
                  "admins get cluster access through EKS access entries instead.",
        remediation="Bind a narrower ClusterRole, or a Role in the team namespace.",
        controls=(cis_eks("4.1.1"), cis_k8s("5.1.1")),
        resource_types=(CLUSTER_ROLE_BINDING, ROLE_BINDING), check=check_cluster_admin,
    ),
    Rule(
        id="MLP-K8S-020", title="Admission policy bindings deny, not only warn or audit",
        severity=Severity.HIGH,
        rationale="A ValidatingAdmissionPolicyBinding with only Warn or Audit lets every "
                  "violating pod or Service in; the cluster-wide pod security and load "
                  "balancer policies are controls only when they deny.",
        remediation="Set spec.validationActions to include Deny.",
        controls=(cis_k8s("5.2.1"), baseline("tenant-isolation")),
        resource_types=(ADMISSION_BINDING,), check=check_binding_denies,
    ),
    Rule(
        id="MLP-K8S-021", title="Admission policies fail closed",
        severity=Severity.MEDIUM,
        rationale="With failurePolicy Ignore, a CEL error (a field of an unexpected shape) "
                  "admits the object the policy exists to stop.",
        remediation="Set spec.failurePolicy to Fail (or leave it unset).",
        controls=(cis_k8s("5.2.1"), baseline("tenant-isolation")),
        resource_types=(ADMISSION_POLICY,), check=check_policy_fails_closed,
    ),
    Rule(
        id="MLP-K8S-022", title="Every namespace mlplat creates enforces a Pod Security level",
        severity=Severity.MEDIUM,
        rationale="A namespace without the PSA enforce label admits any pod the cluster-wide "
                  "policy does not cover (capabilities, seccomp, users); platform namespaces "
                  "state their level (privileged included) so a reviewer sees it.",
        remediation="Label the namespace pod-security.kubernetes.io/enforce with its level.",
        controls=(cis_k8s("5.2.1"), pss("enforce label")),
        resource_types=(NAMESPACE,), check=check_any_namespace_psa,
    ),
)
