"""IAM trust policies, identity policies and KMS key policies shared by components, as plain
functions of plain values so they can be read, diffed and unit-tested as data.

Karpenter's own documents live in components/_lib/karpenter_iam.py.
"""

from __future__ import annotations

from typing import Any

PolicyDocument = dict[str, Any]


def service_trust(service: str, tag_session: bool = False) -> PolicyDocument:
    """Trust for one AWS service principal (e.g. `eks.amazonaws.com`)."""
    actions: str | list[str] = (
        ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole"
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}
        ],
    }


def flow_logs_trust_policy(account: str) -> PolicyDocument:
    """Trust for the VPC flow-log service, for flow logs of this account only."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            # Confused-deputy guard: only flow logs of this account may use the role.
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }],
    }


def pod_identity_trust_policy(
    cluster_name: str,
    namespace: str,
    service_account: str,
    *,
    account: str | None = None,
    cluster_arn: str | None = None,
) -> PolicyDocument:
    """Trust policy for an EKS Pod Identity role, narrowed by the session tags Pod Identity
    sets to one cluster, namespace and service account (without the conditions, any
    association in the account could use the role). With `account` and `cluster_arn`, also
    the confused-deputy guard: only Pod Identity acting for that cluster of that account."""
    condition: dict[str, Any] = {
        "StringEquals": {
            "aws:RequestTag/eks-cluster-name": cluster_name,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account,
        }
    }
    if account is not None:
        condition["StringEquals"]["aws:SourceAccount"] = account
    if cluster_arn is not None:
        condition["ArnEquals"] = {"aws:SourceArn": cluster_arn}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": condition,
            }
        ],
    }


def flow_log_role_policy(log_group_arn: str, log_groups_in_region: str) -> PolicyDocument:
    """Write access to one log group's streams. DescribeLogGroups cannot be scoped to one
    group (it lists); it is read-only metadata of the region's groups, and the flow-log
    service calls it to find its destination."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteFlowLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            },
            {
                "Sid": "FindLogGroup",
                "Effect": "Allow",
                "Action": ["logs:DescribeLogGroups"],
                "Resource": [log_groups_in_region],
            },
        ],
    }


def _account_administers(partition: str, account: str) -> PolicyDocument:
    return {
        "Sid": "AccountAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def cloudwatch_logs_key_policy(
    partition: str, account: str, region: str, log_group_arn: str
) -> PolicyDocument:
    """Key policy: the account administers the key (IAM policies decide who may); the
    CloudWatch Logs service may use it only for the one named log group."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _account_administers(partition, account),
            {
                "Sid": "CloudWatchLogsUseForOneLogGroup",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}
                },
            },
        ],
    }


def secrets_key_policy(partition: str, account: str, cluster_role_arn: str) -> PolicyDocument:
    """Key policy of the secrets key: the account administers it (IAM decides who may);
    the cluster role may only use it, with the four actions envelope encryption needs."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _account_administers(partition, account),
            {
                "Sid": "ClusterRoleEnvelopeEncryption",
                "Effect": "Allow",
                "Principal": {"AWS": cluster_role_arn},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": "*",
            },
        ],
    }


#: KMS actions that use a key's material (as opposed to administering the key).
KMS_CRYPTO_ACTIONS: tuple[str, ...] = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:CreateGrant",
)


def account_key_policy(partition: str, account: str) -> PolicyDocument:
    """Key policy that delegates everything to IAM in this account (no other principal)."""
    return {"Version": "2012-10-17", "Statement": [_account_administers(partition, account)]}


def service_only_key_policy(partition: str, account: str, via_service: str) -> PolicyDocument:
    """Key policy: the account administers the key (IAM decides who may use it), and its
    material can only be used through one AWS service (`kms:ViaService`, e.g.
    `s3.eu-west-1.amazonaws.com`), so ciphertext copied out of that service cannot be
    decrypted with the key directly, whatever an IAM policy grants."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _account_administers(partition, account),
            {
                "Sid": "DenyUseOutsideTheService",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": list(KMS_CRYPTO_ACTIONS),
                "Resource": "*",
                "Condition": {"StringNotEquals": {"kms:ViaService": via_service}},
            },
        ],
    }


def alarm_topic_key_policy(partition: str, account: str) -> PolicyDocument:
    """Key policy of an SNS topic that CloudWatch alarms publish to: CloudWatch needs the
    data-key actions to publish to an encrypted topic (an AWS managed `aws/sns` key cannot be
    granted to it, hence a customer key)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _account_administers(partition, account),
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
        ],
    }


def alarm_topic_policy(topic_arn: str, account: str, alarms_arn_pattern: str) -> PolicyDocument:
    """Topic policy: only this account's CloudWatch alarms publish (confused-deputy guard on
    account and alarm ARN); plain-HTTP requests are refused for everyone."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudWatchAlarmsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": alarms_arn_pattern},
                },
            },
            _deny_non_tls("sns:Publish", topic_arn),
        ],
    }


def _deny_non_tls(action: str, resource: str | list[str]) -> dict[str, Any]:
    """Refuse plain-HTTP requests for everyone (`aws:SecureTransport` false)."""
    return {
        "Sid": "DenyNonTlsAccess",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _deny_non_tls_bucket(bucket_arn: str) -> dict[str, Any]:
    return _deny_non_tls("s3:*", [bucket_arn, f"{bucket_arn}/*"])


def data_bucket_policy(bucket_arn: str, key_arn: str) -> PolicyDocument:
    """Policy of a data bucket: TLS only, and no object written under any encryption but the
    store's KMS key (default encryption covers uploads without headers; these statements stop
    a client from asking for SSE-S3 or another key)."""
    objects = f"{bucket_arn}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            _deny_non_tls_bucket(bucket_arn),
            {
                "Sid": "DenyOtherEncryption",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
                },
            },
            {
                "Sid": "DenyOtherKmsKey",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringNotEqualsIfExists": {
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn
                    }
                },
            },
        ],
    }


def access_log_bucket_policy(
    bucket_arn: str, account: str, source_bucket_arns: list[str], prefix: str
) -> PolicyDocument:
    """Policy of the access-log bucket: S3's logging service may write under `prefix`, only
    for the named source buckets of this account (ACLs are disabled, so this is the only
    grant); TLS only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "S3ServerAccessLogsDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{prefix}*",
                "Condition": {
                    "ArnLike": {"aws:SourceArn": sorted(source_bucket_arns)},
                    "StringEquals": {"aws:SourceAccount": account},
                },
            },
            _deny_non_tls_bucket(bucket_arn),
        ],
    }


def ebs_csi_volume_key_policy(key_arn: str) -> PolicyDocument:
    """Identity policy of the EBS CSI driver's role for one customer-managed volume key.

    AmazonEBSCSIDriverPolicy covers EBS but no customer-managed key. EC2 needs the caller to
    be allowed to use the key for CreateVolume and to create grants, which EC2 then uses to
    attach and decrypt the volume on its own; `kms:GrantIsForAWSResource` restricts grants to
    ones an AWS service (EC2) creates, so the driver cannot hand the key to a principal."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GrantsForEbsOnly",
                "Effect": "Allow",
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": key_arn,
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
            {
                "Sid": "UseVolumeKey",
                "Effect": "Allow",
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                "Resource": key_arn,
            },
        ],
    }


#: Tag the EFS CSI driver puts on every access point it creates.
EFS_CSI_TAG = "efs.csi.aws.com/cluster"


def efs_csi_controller_policy(file_system_arn: str, access_points_arn: str) -> PolicyDocument:
    """Identity policy of the EFS CSI controller for one file system, narrower than
    AmazonEFSCSIDriverPolicy (which covers every file system of the account): create access
    points on this file system only, tagged as the driver's; delete only access points that
    carry the driver's tag. `access_points_arn` is the account's access-point ARN pattern
    (`...:access-point/*`): access point ARNs do not name their file system."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # DescribeAvailabilityZones cannot be scoped to a resource.
                "Sid": "DescribeZones",
                "Effect": "Allow",
                "Action": "ec2:DescribeAvailabilityZones",
                "Resource": "*",
            },
            {
                "Sid": "DescribeTheFileSystem",
                "Effect": "Allow",
                "Action": [
                    "elasticfilesystem:DescribeAccessPoints",
                    "elasticfilesystem:DescribeFileSystems",
                    "elasticfilesystem:DescribeMountTargets",
                ],
                "Resource": [file_system_arn, access_points_arn],
            },
            {
                "Sid": "CreateTaggedAccessPoints",
                "Effect": "Allow",
                "Action": ["elasticfilesystem:CreateAccessPoint", "elasticfilesystem:TagResource"],
                "Resource": [file_system_arn, access_points_arn],
                "Condition": {"StringLike": {f"aws:RequestTag/{EFS_CSI_TAG}": "true"}},
            },
            {
                "Sid": "DeleteOwnAccessPoints",
                "Effect": "Allow",
                "Action": "elasticfilesystem:DeleteAccessPoint",
                "Resource": access_points_arn,
                "Condition": {"StringEquals": {f"aws:ResourceTag/{EFS_CSI_TAG}": "true"}},
            },
        ],
    }


def efs_file_system_policy(file_system_arn: str) -> PolicyDocument:
    """Resource policy of the shared file system: clients may mount and write only through a
    mount target (so only from the VPC, where the security group decides), never as root
    (access points set the POSIX identity), and only over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MountThroughMountTargets",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                "Resource": file_system_arn,
                "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
            },
            {
                "Sid": "DenyWithoutTls",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": file_system_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
