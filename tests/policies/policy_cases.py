"""Small hand-built plans: a compliant version of each kind of resource, and one change per
rule that breaks exactly that rule.

Every `Case` holds a passing and a failing plan for one rule. The passing plan passes the
WHOLE rule set, and the failing plan fails only the rule under test: a fixture that tripped
other rules would not prove which rule caught what.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlplat.plan.model import Plan, ResourceRecord

STACK = "fixture"
TAGS = {"team": "vision", "env": "dev", "cost-center": "cc-1", "managed-by": "mlplat"}
ACCOUNT = "111122223333"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0123"


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::mlplat::{type_token}::{name}"


def record(type_token: str, name: str, inputs: dict[str, Any],
           depends_on: tuple[ResourceRecord, ...] = ()) -> ResourceRecord:
    return ResourceRecord(urn=urn(type_token, name), type=type_token, name=name, custom=True,
                          parent=None, provider=None, inputs=inputs,
                          dependencies=[d.urn for d in depends_on])


def plan(*records: ResourceRecord) -> Plan:
    return Plan(project="mlplat", stack=STACK, source="tests/policies", resources=list(records))


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def without(inputs: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k not in keys}


# S3 ---------------------------------------------------------------------------------------

def bucket_records(name: str, *, log_target: str | None = None, sse: str = "aws:kms",
                   bucket_key: bool = True, pab: dict[str, bool] | None = None,
                   versioning: str = "Enabled", ownership: str = "BucketOwnerEnforced",
                   tls_deny: bool = True, abort_multipart: bool = True,
                   logging: bool = True) -> list[ResourceRecord]:
    """A bucket and its companions; `log_target` names the bucket its access logs go to."""
    prefix = f"{name}-"
    actual = f"{name}-abc123"
    bucket = record("aws:s3/bucket:Bucket", name, {"bucket_prefix": prefix, "tags": TAGS})
    default: dict[str, Any] = {"sse_algorithm": sse}
    if sse == "aws:kms":
        default["kms_master_key_id"] = KEY_ARN
    rule: dict[str, Any] = {"apply_server_side_encryption_by_default": default}
    if bucket_key:
        rule["bucket_key_enabled"] = True
    flags = {"block_public_acls": True, "block_public_policy": True,
             "ignore_public_acls": True, "restrict_public_buckets": True, **(pab or {})}
    deny = {"Sid": "DenyNonTlsAccess", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{actual}", f"arn:aws:s3:::{actual}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    reader = {"Sid": "Read", "Effect": "Allow",
              "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:GetObject",
              "Resource": f"arn:aws:s3:::{actual}/*"}
    lifecycle_rules: list[dict[str, Any]] = [
        {"id": "expire-noncurrent", "status": "Enabled", "filter": {},
         "noncurrent_version_expiration": {"noncurrent_days": 30}}]
    if abort_multipart:
        lifecycle_rules.append({"id": "abort", "status": "Enabled", "filter": {},
                                "abort_incomplete_multipart_upload": {"days_after_initiation": 1}})
    records = [
        bucket,
        record("aws:s3/bucketServerSideEncryptionConfiguration:"
               "BucketServerSideEncryptionConfiguration", f"{name}-encryption",
               {"bucket": actual, "rules": [rule]}, (bucket,)),
        record("aws:s3/bucketVersioning:BucketVersioning", f"{name}-versioning",
               {"bucket": actual, "versioning_configuration": {"status": versioning}}, (bucket,)),
        record("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{name}-pab",
               {"bucket": actual, **flags}, (bucket,)),
        record("aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"{name}-ownership",
               {"bucket": actual, "rule": {"object_ownership": ownership}}, (bucket,)),
        record("aws:s3/bucketPolicy:BucketPolicy", f"{name}-policy",
               {"bucket": actual, "policy": policy(*([reader, deny] if tls_deny else [reader]))},
               (bucket,)),
        record("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
               f"{name}-lifecycle", {"bucket": actual, "rules": lifecycle_rules}, (bucket,)),
    ]
    if logging and log_target is not None:
        records.append(record("aws:s3/bucketLogging:BucketLogging", f"{name}-logging",
                              {"bucket": actual, "target_bucket": f"{log_target}-abc123",
                               "target_prefix": f"s3/{name}/"}, (bucket,)))
    return records


def store(**data_bucket: Any) -> list[ResourceRecord]:
    """A data bucket logging into an SSE-S3 access-log bucket, as the object store builds."""
    return [*bucket_records("team-data", log_target="team-logs", **data_bucket),
            *bucket_records("team-logs", sse="AES256", bucket_key=False)]


# KMS, logs, queues, topics ------------------------------------------------------------------

def kms_key(**changes: Any) -> ResourceRecord:
    inputs = {"enable_key_rotation": True, "deletion_window_in_days": 30, "tags": TAGS,
              "policy": policy({"Sid": "AccountAdministers", "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                "Action": "kms:*", "Resource": "*"},
                               {"Sid": "LogsWithContext", "Effect": "Allow",
                                "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                                "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}})}
    return record("aws:kms/key:Key", "key", {**inputs, **changes})


def log_group(**changes: Any) -> ResourceRecord:
    return record("aws:cloudwatch/logGroup:LogGroup", "logs",
                  {"name": "/mlplat/x", "retention_in_days": 90, "kms_key_id": KEY_ARN,
                   "tags": TAGS, **changes})


def queue(**changes: Any) -> ResourceRecord:
    return record("aws:sqs/queue:Queue", "queue",
                  {"name": "q", "sqs_managed_sse_enabled": True, "tags": TAGS, **changes})


def topic(**changes: Any) -> ResourceRecord:
    return record("aws:sns/topic:Topic", "topic",
                  {"name": "t", "kms_master_key_id": KEY_ARN, "tags": TAGS, **changes})


# RDS --------------------------------------------------------------------------------------

def database(force_ssl: str = "1", **changes: Any) -> list[ResourceRecord]:
    group = record("aws:rds/parameterGroup:ParameterGroup", "db-params",
                   {"family": "postgres17", "name_prefix": "db-params-", "tags": TAGS,
                    "parameters": [{"name": "rds.force_ssl", "value": force_ssl}]})
    inputs = {"engine": "postgres", "storage_encrypted": True, "kms_key_id": KEY_ARN,
              "publicly_accessible": False, "manage_master_user_password": True,
              "iam_database_authentication_enabled": True, "backup_retention_period": 7,
              "deletion_protection": False, "parameter_group_name": "db-params-0001",
              "performance_insights_enabled": True,
              "performance_insights_kms_key_id": KEY_ARN, "tags": TAGS}
    return [group, record("aws:rds/instance:Instance", "db", {**inputs, **changes}, (group,))]


# EKS and nodes ------------------------------------------------------------------------------

def cluster(vpc: dict[str, Any] | None = None, **changes: Any) -> ResourceRecord:
    inputs = {
        "version": "1.33", "tags": TAGS,
        "vpc_config": {"endpoint_private_access": True, "endpoint_public_access": False,
                       "subnet_ids": ["subnet-1"], **(vpc or {})},
        "encryption_config": {"provider": {"key_arn": KEY_ARN}, "resources": ["secrets"]},
        "enabled_cluster_log_types": ["api", "audit", "authenticator", "controllerManager",
                                      "scheduler"],
        "access_config": {"authentication_mode": "API",
                          "bootstrap_cluster_creator_admin_permissions": False},
    }
    return record("aws:eks/cluster:Cluster", "eks", {**inputs, **changes})


def launch_template(tokens: str = "required", hops: int = 1,
                    encrypted: str = "true") -> ResourceRecord:
    return record("aws:ec2/launchTemplate:LaunchTemplate", "lt", {
        "tags": TAGS,
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": tokens,
                             "http_put_response_hop_limit": hops},
        "block_device_mappings": [{"device_name": "/dev/xvda",
                                   "ebs": {"encrypted": encrypted, "volume_type": "gp3"}}],
    })


def node_class(tokens: str = "required", hops: int = 1, encrypted: bool = True) -> ResourceRecord:
    return record("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "nodeclass", {
        "apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
        "metadata": {"name": "gpu"},
        "spec": {"metadataOptions": {"httpTokens": tokens, "httpPutResponseHopLimit": hops},
                 "blockDeviceMappings": [{"deviceName": "/dev/xvda",
                                          "ebs": {"encrypted": encrypted}}]},
    })


# IAM and network ------------------------------------------------------------------------------

def role(trust: dict[str, Any] | None = None) -> ResourceRecord:
    statement = trust or {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                          "Action": "sts:AssumeRole"}
    return record("aws:iam/role:Role", "role",
                  {"assume_role_policy": policy(statement), "tags": TAGS})


def role_policy(*statements: dict[str, Any]) -> ResourceRecord:
    chosen = statements or ({"Sid": "ReadData", "Effect": "Allow",
                             "Action": ["s3:GetObject", "s3:ListBucket"],
                             "Resource": ["arn:aws:s3:::team-data-abc123",
                                          "arn:aws:s3:::team-data-abc123/*"]},
                            {"Sid": "PassNodeRole", "Effect": "Allow",
                             "Action": "iam:PassRole",
                             "Resource": f"arn:aws:iam::{ACCOUNT}:role/node"})
    return record("aws:iam/rolePolicy:RolePolicy", "role-policy",
                  {"role": "role-1", "policy": policy(*chosen)})


def attachment(arn: str = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy") -> ResourceRecord:
    return record("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach",
                  {"role": "role-1", "policy_arn": arn})


def ingress_rule(**cidr: str) -> ResourceRecord:
    return record("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "ingress",
                  {"security_group_id": "sg-1", "from_port": 443, "to_port": 443,
                   "ip_protocol": "tcp", "tags": TAGS, **(cidr or {"cidr_ipv4": "10.0.0.0/16"})})


def default_sg(ingress: list[dict[str, Any]] | None = None) -> ResourceRecord:
    return record("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg",
                  {"vpc_id": "vpc-1", "ingress": ingress or [], "egress": [], "tags": TAGS})


def egress_rule(**changes: Any) -> ResourceRecord:
    return record("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "egress",
                  {"security_group_id": "sg-1", "from_port": 443, "to_port": 443,
                   "ip_protocol": "tcp", "cidr_ipv4": "0.0.0.0/0", "tags": TAGS, **changes})


def legacy_group(egress: list[dict[str, Any]]) -> ResourceRecord:
    return record("aws:ec2/securityGroup:SecurityGroup", "group",
                  {"vpc_id": "vpc-1", "description": "g", "ingress": [], "egress": egress,
                   "tags": TAGS})


OWN_BUCKETS = {"Sid": "ThisAccountsBuckets", "Effect": "Allow", "Principal": "*",
               "Action": "s3:*", "Resource": "*",
               "Condition": {"StringEquals": {"aws:ResourceAccount": ACCOUNT}}}


def s3_endpoint(*statements: dict[str, Any], with_policy: bool = True) -> ResourceRecord:
    inputs = {"vpc_id": "vpc-1", "service_name": "com.amazonaws.eu-west-1.s3",
              "vpc_endpoint_type": "Gateway", "tags": TAGS}
    if with_policy:
        inputs["policy"] = policy(*(statements or (OWN_BUCKETS,)))
    return record("aws:ec2/vpcEndpoint:VpcEndpoint", "s3-endpoint", inputs)


def vpc_with_acl(managed: bool = True) -> list[ResourceRecord]:
    vpc = record("aws:ec2/vpc:Vpc", "vpc", {"cidr_block": "10.40.0.0/16", "tags": TAGS})
    subnet = record("aws:ec2/subnet:Subnet", "subnet",
                    {"vpc_id": "vpc-1", "cidr_block": "10.40.0.0/19", "tags": TAGS}, (vpc,))
    if not managed:
        return [vpc, subnet]
    rule = {"rule_no": 100, "action": "allow", "protocol": "-1", "cidr_block": "0.0.0.0/0",
            "from_port": 0, "to_port": 0}
    acl = record("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl", "default-nacl",
                 {"default_network_acl_id": "acl-1", "subnet_ids": ["subnet-1"],
                  "ingress": [rule], "egress": [rule], "tags": TAGS}, (subnet,))
    return [vpc, subnet, acl]


def subnet(**tags: str) -> ResourceRecord:
    return record("aws:ec2/subnet:Subnet", "subnet",
                  {"vpc_id": "vpc-1", "cidr_block": "10.40.224.0/22", "tags": {**TAGS, **tags}})


# Kubernetes -----------------------------------------------------------------------------------

NS = "team-a"


def team_namespace(labels: dict[str, str] | None = None,
                   drop: tuple[str, ...] = ()) -> list[ResourceRecord]:
    """A team namespace with everything the tenancy rules ask for; `drop` leaves out
    `quota`, `limits`, `deny-ingress` or `deny-egress`."""
    namespace = record("kubernetes:core/v1:Namespace", "ns", {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": NS, "labels": labels if labels is not None else {
            "mlplat.io/team": "a", "pod-security.kubernetes.io/enforce": "restricted"}}})
    meta = {"namespace": NS}
    companions = {
        "quota": record("kubernetes:core/v1:ResourceQuota", "quota", {
            "metadata": {**meta, "name": "quota"},
            "spec": {"hard": {"requests.nvidia.com/gpu": "4"}}}),
        "limits": record("kubernetes:core/v1:LimitRange", "limits", {
            "metadata": {**meta, "name": "limits"},
            "spec": {"limits": [{"type": "Container", "default": {"memory": "1Gi"}}]}}),
        "deny-ingress": record("kubernetes:networking.k8s.io/v1:NetworkPolicy", "deny-ingress", {
            "metadata": {**meta, "name": "default-deny-ingress"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        "deny-egress": record("kubernetes:networking.k8s.io/v1:NetworkPolicy", "deny-egress", {
            "metadata": {**meta, "name": "default-deny-egress"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
    }
    return [namespace, *(r for key, r in companions.items() if key not in drop)]


def deployment(container: dict[str, Any] | None = None,
               pod: dict[str, Any] | None = None) -> ResourceRecord:
    base = {"name": "app", "image": "registry.example.com/team/app:1.4.2",
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]}},
            "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m"}}}
    spec = {"containers": [{**base, **(container or {})}], **(pod or {})}
    return record("kubernetes:apps/v1:Deployment", "app", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "app", "namespace": NS},
        "spec": {"selector": {"matchLabels": {"app": "app"}},
                 "template": {"metadata": {"labels": {"app": "app"}}, "spec": spec}}})


def cluster_role_binding(subject: str, role_name: str = "cluster-admin",
                         kind: str = "ClusterRoleBinding") -> ResourceRecord:
    return record(f"kubernetes:rbac.authorization.k8s.io/v1:{kind}", "crb", {
        "metadata": {"name": "crb", **({"namespace": NS} if kind == "RoleBinding" else {})},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": role_name},
        "subjects": [{"kind": "Group", "name": subject}]})


def release(**changes: Any) -> ResourceRecord:
    inputs = {"chart": "grafana", "version": "10.1.4", "namespace": "monitoring",
              "repositoryOpts": {"repo": "https://grafana.github.io/helm-charts"},
              "values": {"grafana.ini": {"auth.anonymous": {"enabled": False}}}}
    return record("kubernetes:helm.sh/v3:Release", "grafana", {**inputs, **changes})


def admission_policy(**spec: Any) -> ResourceRecord:
    return record("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
                  "vap", {"metadata": {"name": "mlplat-host-isolation"},
                          "spec": {"failurePolicy": "Fail",
                                   "validations": [{"expression": "!object.spec.hostPID"}],
                                   **spec}})


def admission_binding(actions: tuple[str, ...] = ("Deny",)) -> ResourceRecord:
    return record(
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
        "vap-binding", {"metadata": {"name": "mlplat-host-isolation"},
                        "spec": {"policyName": "mlplat-host-isolation",
                                 "validationActions": list(actions)}})


def addon(configuration: dict[str, str] | None = None) -> ResourceRecord:
    values = {"enableNetworkPolicy": "true"} if configuration is None else configuration
    return record("aws:eks/addon:Addon", "vpc-cni",
                  {"cluster_name": "eks", "addon_name": "vpc-cni",
                   "addon_version": "v1.20.4-eksbuild.1",
                   "configuration_values": json.dumps(values), "tags": TAGS})


def platform_namespace(labels: dict[str, str] | None = None) -> ResourceRecord:
    return record("kubernetes:core/v1:Namespace", "platform-ns", {
        "metadata": {"name": "mlplat-system", "labels": labels if labels is not None else {
            "pod-security.kubernetes.io/enforce": "restricted"}}})


# The cases -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    rule: str
    passing: Callable[[], list[ResourceRecord]]
    failing: Callable[[], list[ResourceRecord]]
    #: Pulumi name of the resource the finding must be on.
    target: str

    @property
    def id(self) -> str:
        return self.rule


def _one(factory: Callable[..., ResourceRecord], **changes: Any
         ) -> Callable[[], list[ResourceRecord]]:
    return lambda: [factory(**changes)]


def _many(factory: Callable[..., list[ResourceRecord]], **changes: Any
          ) -> Callable[[], list[ResourceRecord]]:
    return lambda: factory(**changes)


def _pab(flag: str) -> Case:
    number = {"block_public_acls": "003", "block_public_policy": "004",
              "ignore_public_acls": "005", "restrict_public_buckets": "006"}[flag]
    return Case(f"MLP-S3-{number}", _many(store), _many(store, pab={flag: False}), "team-data")


def _no_logging() -> list[ResourceRecord]:
    return bucket_records("team-data", log_target=None)


def _escalation() -> list[ResourceRecord]:
    return [role_policy({"Sid": "Grow", "Effect": "Allow", "Action": "iam:AttachRolePolicy",
                         "Resource": f"arn:aws:iam::{ACCOUNT}:role/app"})]


CASES: tuple[Case, ...] = (
    Case("MLP-S3-001", _many(store), _many(store, sse="AES256", bucket_key=False), "team-data"),
    Case("MLP-S3-002", _many(store), _many(store, bucket_key=False), "team-data"),
    *(_pab(flag) for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                              "restrict_public_buckets")),
    Case("MLP-S3-007", _many(store), _many(store, versioning="Suspended"), "team-data"),
    Case("MLP-S3-008", _many(store), _many(store, ownership="ObjectWriter"), "team-data"),
    Case("MLP-S3-009", _many(store), _many(store, tls_deny=False), "team-data"),
    Case("MLP-S3-010", _many(store), _no_logging, "team-data"),
    Case("MLP-S3-011", _many(store), _many(store, abort_multipart=False), "team-data"),
    Case("MLP-KMS-001", _one(kms_key), _one(kms_key, enable_key_rotation=False), "key"),
    Case("MLP-KMS-002", _one(kms_key),
         _one(kms_key, policy=policy({"Sid": "Anyone", "Effect": "Allow", "Principal": "*",
                                      "Action": "kms:Decrypt", "Resource": "*"})), "key"),
    Case("MLP-RDS-001", _many(database), _many(database, storage_encrypted=False), "db"),
    Case("MLP-RDS-002", _many(database), _many(database, publicly_accessible=True), "db"),
    Case("MLP-RDS-003", _many(database), _many(database, manage_master_user_password=False),
         "db"),
    Case("MLP-RDS-004", _many(database),
         _many(database, iam_database_authentication_enabled=False), "db"),
    Case("MLP-RDS-005", _many(database), _many(database, backup_retention_period=1), "db"),
    Case("MLP-RDS-006", _many(database, deletion_protection=True, tags={**TAGS, "env": "prod"}),
         _many(database, tags={**TAGS, "env": "prod"}), "db"),
    Case("MLP-RDS-007", _many(database), _many(database, force_ssl="0"), "db"),
    Case("MLP-RDS-008", _many(database),
         _many(database, performance_insights_kms_key_id=None), "db"),
    Case("MLP-EKS-001", _one(cluster, vpc={"endpoint_public_access": True,
                                           "public_access_cidrs": ["203.0.113.0/24"]}),
         _one(cluster, vpc={"endpoint_public_access": True}), "eks"),
    Case("MLP-EKS-002", _one(cluster),
         _one(cluster, vpc={"endpoint_public_access": True,
                            "public_access_cidrs": ["0.0.0.0/0"]}), "eks"),
    Case("MLP-EKS-003", _one(cluster), _one(cluster, vpc={"endpoint_private_access": False}),
         "eks"),
    Case("MLP-EKS-004", _one(cluster), _one(cluster, encryption_config=None), "eks"),
    Case("MLP-EKS-005", _one(cluster),
         _one(cluster, enabled_cluster_log_types=["api", "authenticator"]), "eks"),
    Case("MLP-EKS-006", _one(cluster),
         _one(cluster, access_config={"authentication_mode": "API_AND_CONFIG_MAP"}), "eks"),
    Case("MLP-EKS-007", _one(cluster), _one(cluster, version="1.27"), "eks"),
    Case("MLP-EKS-008", _one(addon), _one(addon, configuration={}), "vpc-cni"),
    Case("MLP-EC2-001", _one(launch_template), _one(launch_template, tokens="optional"), "lt"),
    Case("MLP-EC2-002", _one(node_class), _one(node_class, hops=2), "nodeclass"),
    Case("MLP-EC2-003", _one(launch_template), _one(launch_template, encrypted="false"), "lt"),
    Case("MLP-IAM-001", _one(role_policy),
         lambda: [role_policy({"Sid": "All", "Effect": "Allow", "Action": "*",
                               "Resource": "*"})], "role-policy"),
    Case("MLP-IAM-002", _one(role_policy),
         lambda: [role_policy({"Sid": "PassAny", "Effect": "Allow", "Action": "iam:PassRole",
                               "Resource": "*"})], "role-policy"),
    Case("MLP-IAM-003", _one(role_policy), _escalation, "role-policy"),
    Case("MLP-IAM-004", _one(role),
         _one(role, trust={"Effect": "Allow", "Principal": {"AWS": "*"},
                           "Action": "sts:AssumeRole"}), "role"),
    Case("MLP-IAM-005", _one(attachment),
         _one(attachment, arn="arn:aws:iam::aws:policy/AdministratorAccess"), "attach"),
    Case("MLP-IAM-006", _one(attachment),
         _one(attachment, arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"), "attach"),
    Case("MLP-NET-001", _one(ingress_rule), _one(ingress_rule, cidr_ipv4="0.0.0.0/0"),
         "ingress"),
    Case("MLP-NET-002", _one(ingress_rule, cidr_ipv6="fd00::/8"),
         _one(ingress_rule, cidr_ipv6="::/0"), "ingress"),
    Case("MLP-NET-003", _one(default_sg),
         _one(default_sg, ingress=[{"protocol": "-1", "self": True}]), "default-sg"),
    Case("MLP-NET-004", _one(s3_endpoint), _one(s3_endpoint, with_policy=False),
         "s3-endpoint"),
    Case("MLP-NET-005", _one(egress_rule), _one(egress_rule, ip_protocol="-1"), "egress"),
    Case("MLP-NET-006", _many(vpc_with_acl), _many(vpc_with_acl, managed=False), "vpc"),
    Case("MLP-NET-007", _one(subnet, **{"kubernetes.io/role/internal-elb": "1"}),
         _one(subnet, **{"kubernetes.io/role/elb": "1"}), "subnet"),
    Case("MLP-LOG-003", _one(log_group, tags={**TAGS, "env": "prod"}, retention_in_days=365),
         _one(log_group, tags={**TAGS, "env": "prod"}), "logs"),
    Case("MLP-LOG-001", _one(log_group), _one(log_group, retention_in_days=0), "logs"),
    Case("MLP-LOG-002", _one(log_group), lambda: [record(
        "aws:cloudwatch/logGroup:LogGroup", "logs",
        without(log_group().inputs, "kms_key_id"))], "logs"),
    Case("MLP-SQS-001", _one(queue), _one(queue, sqs_managed_sse_enabled=False), "queue"),
    Case("MLP-SNS-001", _one(topic), _one(topic, kms_master_key_id=None), "topic"),
    Case("MLP-K8S-001", _many(team_namespace),
         _many(team_namespace, labels={"mlplat.io/team": "a",
                                       "pod-security.kubernetes.io/enforce": "privileged"}),
         "ns"),
    Case("MLP-K8S-002", _many(team_namespace), _many(team_namespace, drop=("quota",)), "ns"),
    Case("MLP-K8S-003", _many(team_namespace), _many(team_namespace, drop=("limits",)), "ns"),
    Case("MLP-K8S-004", _many(team_namespace), _many(team_namespace, drop=("deny-ingress",)),
         "ns"),
    Case("MLP-K8S-005", _many(team_namespace), _many(team_namespace, drop=("deny-egress",)),
         "ns"),
    Case("MLP-K8S-006", _one(deployment),
         _one(deployment, container={"securityContext": {
             "runAsNonRoot": True, "runAsUser": 10001, "privileged": True}}), "app"),
    Case("MLP-K8S-007", _one(deployment),
         _one(deployment, container={"securityContext": {"runAsUser": 0}}), "app"),
    Case("MLP-K8S-008", _one(deployment), _one(deployment, pod={"hostNetwork": True}), "app"),
    Case("MLP-K8S-009", _one(deployment), _one(deployment, pod={"hostPID": True}), "app"),
    Case("MLP-K8S-010", _one(deployment),
         _one(deployment, pod={"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}),
         "app"),
    Case("MLP-K8S-011", _one(deployment),
         _one(deployment, container={"securityContext": {
             "runAsNonRoot": True, "runAsUser": 10001,
             "capabilities": {"add": ["NET_ADMIN"]}}}), "app"),
    Case("MLP-K8S-012", _one(deployment),
         _one(deployment, container={"image": "registry.example.com/team/app:latest"}), "app"),
    Case("MLP-K8S-013", _one(deployment),
         _one(deployment, container={"resources": {"requests": {"cpu": "1"}}}), "app"),
    Case("MLP-K8S-014", _one(cluster_role_binding, subject="system:masters"),
         _one(cluster_role_binding, subject="platform-admins"), "crb"),
    Case("MLP-K8S-015", _one(release),
         _one(release, values={"grafana.ini": {"auth.anonymous": {"enabled": True,
                                                                  "org_role": "Admin"}}}),
         "grafana"),
    Case("MLP-K8S-022", _one(platform_namespace),
         _one(platform_namespace, labels={"app.kubernetes.io/managed-by": "mlplat"}),
         "platform-ns"),
    Case("MLP-K8S-020", _one(admission_binding), _one(admission_binding, actions=("Warn",)),
         "vap-binding"),
    Case("MLP-K8S-021", _one(admission_policy), _one(admission_policy, failurePolicy="Ignore"),
         "vap"),
    Case("MLP-HELM-001", _one(release), _one(release, version=None), "grafana"),
    Case("MLP-HELM-002", _one(release), _one(release, version="^10.1.0"), "grafana"),
    Case("MLP-HELM-003", _one(release),
         _one(release, repositoryOpts={"repo": "http://charts.example.com"}), "grafana"),
    Case("MLP-HELM-004", _one(release),
         _one(release, values={"service": {"type": "LoadBalancer"}}), "grafana"),
    Case("MLP-HELM-005", _one(release, values={"admin": {"existingSecret": "grafana-admin"}}),
         _one(release, values={"adminPassword": "hunter2"}), "grafana"),
    Case("MLP-TAG-001", _one(queue), _one(queue, tags=without(TAGS, "managed-by")), "queue"),
)

#: More failing fixtures: the same rule on the other resource kinds it covers.
EXTRA_FAILURES: tuple[Case, ...] = (
    Case("MLP-EC2-001", _one(node_class), _one(node_class, tokens="optional"), "nodeclass"),
    Case("MLP-EC2-002", _one(launch_template), _one(launch_template, hops=2), "lt"),
    Case("MLP-EC2-003", _one(node_class), _one(node_class, encrypted=False), "nodeclass"),
    Case("MLP-K8S-009", _one(deployment), _one(deployment, pod={"hostIPC": True}), "app"),
    Case("MLP-K8S-012", _one(deployment),
         _one(deployment, container={"image": "registry.example.com/team/app"}), "app"),
    Case("MLP-IAM-005", _one(role_policy),
         lambda: [role_policy({"Sid": "IamAdmin", "Effect": "Allow", "Action": "iam:*",
                               "Resource": f"arn:aws:iam::{ACCOUNT}:role/x"})], "role-policy"),
    Case("MLP-NET-004", _one(s3_endpoint),
         lambda: [s3_endpoint({**OWN_BUCKETS, "Condition": None})], "s3-endpoint"),
    Case("MLP-NET-005", lambda: [legacy_group([{"protocol": "tcp", "from_port": 443,
                                                 "to_port": 443,
                                                 "cidr_blocks": ["0.0.0.0/0"]}])],
         lambda: [legacy_group([{"protocol": "-1", "from_port": 0, "to_port": 0,
                                 "ipv6_cidr_blocks": ["::/0"]}])], "group"),
    Case("MLP-HELM-004", _one(release, values={"ingress": {
             "enabled": True, "ingressClassName": "alb",
             "annotations": {"alb.ingress.kubernetes.io/scheme": "internal"}}}),
         _one(release, values={"grafana": {"ingress": {"enabled": True,
                                                       "ingressClassName": "alb"}}}),
         "grafana"),
    Case("MLP-HELM-005", _one(release),
         _one(release, values={"alertmanager": {"config": {"receivers": [
             {"name": "t", "slack_configs": [{"api_url": "https://hooks.example/x"}]}]}}}),
         "grafana"),
    Case("MLP-K8S-014", _one(cluster_role_binding, subject="team-a", role_name="edit",
                             kind="RoleBinding"),
         _one(cluster_role_binding, subject="team-a", kind="RoleBinding"), "crb"),
)


# Training and serving (policies/rules/training_serving.py) -----------------------------------


def ingress_class_params(scheme: str | None = "internal") -> ResourceRecord:
    spec: dict[str, Any] = {"targetType": "ip", "group": {"name": "team-a"}}
    if scheme is not None:
        spec["scheme"] = scheme
    return record("kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams", "alb", {
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams",
        "metadata": {"name": "alb"}, "spec": spec})


def cluster_queue(selector: dict[str, Any] | None = None) -> ResourceRecord:
    return record("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue", "queue", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue",
        "metadata": {"name": "team-a"},
        "spec": {"cohortName": "mlplat", "namespaceSelector": selector if selector is not None
                 else {"matchLabels": {"mlplat.io/team": "a"}}}})


def serving_runtime(container: dict[str, Any] | None = None) -> ResourceRecord:
    """A ClusterServingRuntime: a workload for the container rules."""
    base = {"name": "kserve-container", "image": "docker.io/kserve/sklearnserver:v0.20.0",
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]}},
            "resources": {"limits": {"cpu": "1", "memory": "2Gi"}}}
    return record("kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime", "runtime", {
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "ClusterServingRuntime",
        "metadata": {"name": "sklearn"},
        "spec": {"containers": [{**base, **(container or {})}]}})


CASES += (
    Case("MLP-SRV-001", _one(ingress_class_params),
         _one(ingress_class_params, scheme="internet-facing"), "alb"),
    Case("MLP-TRN-001", _one(cluster_queue), _one(cluster_queue, selector={}), "queue"),
)
EXTRA_FAILURES += (
    Case("MLP-SRV-001", _one(ingress_class_params), _one(ingress_class_params, scheme=None),
         "alb"),
    Case("MLP-K8S-007", _one(serving_runtime),
         _one(serving_runtime, container={"securityContext": {"runAsNonRoot": False}}),
         "runtime"),
    Case("MLP-K8S-013", _one(serving_runtime),
         _one(serving_runtime, container={"resources": {}}), "runtime"),
)
