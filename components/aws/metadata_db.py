"""The environment's metadata database: RDS for PostgreSQL in the private subnets, reachable
only from the cluster's nodes, from raw pulumi_aws resources.

Security defaults (opt-outs are typed config fields; see docs/components/metadata-db.md):
- Not publicly accessible; a DB subnet group on the private subnets; a security group that
  admits 5432 only from the cluster's node security group (pods share it), no CIDR at all.
- Storage, Performance Insights and the master user secret encrypted with one customer key
  that rotates.
- The master password is generated, stored and rotated by RDS in Secrets Manager
  (`manage_master_user_password`): no password in config, state or plan.
- TLS forced by the parameter group (`rds.force_ssl=1`); connections and disconnections
  logged; PostgreSQL and upgrade logs exported to pre-created, KMS-encrypted log groups with
  a retention (RDS would otherwise create them unencrypted and keep them forever).
- IAM database authentication on; automated backups (7+ days, 14+ in prod), tags copied to
  snapshots, automated backups kept after deletion, a final snapshot unless the environment
  is ephemeral; Multi-AZ and deletion protection in prod.
- CloudWatch alarms on CPU, free storage and connections notify the environment's alarm
  topic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._lib.kms import rotating_key
from components._lib.log_group import account_context, encrypted_log_group
from components._lib.naming import Tagger
from components._lib.policies import account_key_policy
from components._lib.security_group import single_port_security_group
from mlplat.config import MetadataDbConfig

POSTGRES_PORT = 5432
#: Log types RDS for PostgreSQL can export to CloudWatch Logs; both are exported.
LOG_EXPORTS: tuple[str, ...] = ("postgresql", "upgrade")
#: Parameters of the DB parameter group (all dynamic: applied without a reboot).
PARAMETERS: Mapping[str, str] = {
    # Refuse unencrypted client connections.
    "rds.force_ssl": "1",
    # Who connected from where, and for how long: the audit trail of database access.
    "log_connections": "1",
    "log_disconnections": "1",
}
#: Alarms evaluate 5-minute periods; sustained means three in a row.
_PERIOD_SECONDS = 300
_SUSTAINED_PERIODS = 3
_GIB = 1024**3


@dataclass(frozen=True)
class MetadataDbArgs:
    """Inputs of the MetadataDb component. Tier-dependent values arrive resolved (config
    decides them once)."""

    settings: MetadataDbConfig
    """Database settings from the stack config (`mlplat:metadataDb`)."""
    environment: str
    """Environment name `<team>-<env>`; the instance is `<environment>-metadata`."""
    vpc_id: pulumi.Input[str]
    """VPC of the database's security group."""
    private_subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets of the DB subnet group (one per AZ of the network)."""
    client_security_group_id: pulumi.Input[str]
    """The only source allowed to reach 5432: the cluster's node security group."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic the alarms notify (alarm and OK)."""
    multi_az: bool
    """A standby in a second Availability Zone (on in prod)."""
    backup_retention_days: int
    """Days of automated backups (at least 7; 14 in prod)."""
    deletion_protection: bool
    """RDS deletion protection and a final snapshot (on in prod)."""
    ephemeral: bool
    """No final snapshot, automated backups deleted with the instance (`mlplat:ephemeral`)."""
    tags: Mapping[str, str]
    """Tags of every resource of the component."""


#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/metadata_db:MetadataDb"


class MetadataDb(pulumi.ComponentResource):
    """A private, encrypted, TLS-only PostgreSQL instance with backups and alarms."""

    address: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: str
    master_username: str
    master_user_secret_arn: pulumi.Output[str]
    """ARN of the Secrets Manager secret RDS keeps the master password in (not the value)."""
    security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: MetadataDbArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        settings = args.settings
        tag = Tagger(args.tags, name)
        child = pulumi.ResourceOptions(parent=self)
        where = account_context(pulumi.InvokeOutputOptions(parent=self))
        # Fixed (not auto-named): the log groups must carry its name before it exists.
        identifier = f"{args.environment}-metadata"

        key = rotating_key(
            resource_name=f"{name}-key",
            description=f"Encrypts the metadata database of {args.environment}",
            policy=pulumi.Output.all(where.partition, where.account).apply(
                lambda v: json.dumps(account_key_policy(*v))
            ),
            alias_name=f"alias/mlplat/{args.environment}/metadata-db",
            tag=tag,
            role="key",
            opts=child,
        )

        log_groups = [
            encrypted_log_group(
                parent=self,
                prefix=name,
                tag=tag,
                where=where,
                log_group_name=f"/aws/rds/instance/{identifier}/{log_type}",
                retention_days=settings.log_retention_days,
                key_role=f"{log_type}-logs-key",
                log_group_role=f"{log_type}-logs",
                key_description=f"Encrypts the {log_type} log of {identifier}",
                alias_name=f"alias/mlplat/{args.environment}/metadata-db-{log_type}-logs",
            ).log_group
            for log_type in LOG_EXPORTS
        ]

        security_group = single_port_security_group(
            prefix=name,
            description=f"Metadata database of {args.environment}",
            vpc_id=args.vpc_id,
            client_security_group_id=args.client_security_group_id,
            port=POSTGRES_PORT,
            rule_description="PostgreSQL from cluster nodes and pods",
            tag=tag,
            opts=child,
        )
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name_prefix=f"{identifier}-",
            description=f"Private subnets of {args.environment}",
            subnet_ids=args.private_subnet_ids,
            tags=tag("subnets"),
            opts=child,
        )
        # A prefix, not a name: a major upgrade needs a group of the new family to exist
        # before the old one goes.
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-parameters",
            name_prefix=f"{identifier}-",
            family=settings.parameter_group_family,
            description=f"TLS-only, connection-logging PostgreSQL of {args.environment}",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=k, value=v, apply_method="immediate")
                for k, v in sorted(PARAMETERS.items())
            ],
            tags=tag("parameters"),
            opts=child,
        )

        instance = aws.rds.Instance(
            f"{name}-db",
            identifier=identifier,
            engine="postgres",
            engine_version=settings.engine_version,
            # A config change of the major version is the reviewed way to upgrade.
            allow_major_version_upgrade=True,
            auto_minor_version_upgrade=True,
            instance_class=settings.instance_class,
            storage_type="gp3",
            allocated_storage=settings.allocated_storage_gib,
            max_allocated_storage=settings.max_allocated_storage_gib,
            storage_encrypted=True,
            kms_key_id=key.arn,
            db_name=settings.database_name,
            username=settings.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key.arn,
            iam_database_authentication_enabled=True,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            copy_tags_to_snapshot=True,
            delete_automated_backups=args.ephemeral,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=args.ephemeral,
            final_snapshot_identifier=None if args.ephemeral else f"{identifier}-final",
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key.arn,
            performance_insights_retention_period=settings.performance_insights_retention_days,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            tags=tag("db"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=log_groups),
        )

        self._alarms(name, args, instance, tag)

        self.address = instance.address
        self.port = instance.port
        self.database_name = settings.database_name
        self.master_username = settings.master_username
        self.master_user_secret_arn = instance.master_user_secrets.apply(
            lambda secrets: secrets[0].secret_arn if secrets else ""
        )
        self.security_group_id = security_group.id
        self.kms_key_arn = key.arn
        self.register_outputs({
            "address": self.address,
            "port": self.port,
            "database_name": self.database_name,
            "master_username": self.master_username,
            "master_user_secret_arn": self.master_user_secret_arn,
            "security_group_id": self.security_group_id,
            "kms_key_arn": self.kms_key_arn,
        })

    def _alarms(
        self, name: str, args: MetadataDbArgs, instance: aws.rds.Instance, tag: Tagger
    ) -> None:
        """CPU, free storage and connections; each notifies on alarm and on recovery."""
        thresholds = args.settings.alarms
        alarms = (
            ("cpu", "CPUUtilization", "Average", "GreaterThanThreshold",
             thresholds.cpu_utilization_percent,
             f"CPU above {thresholds.cpu_utilization_percent}% for 15 minutes"),
            ("free-storage", "FreeStorageSpace", "Minimum", "LessThanThreshold",
             thresholds.free_storage_gib * _GIB,
             f"Less than {thresholds.free_storage_gib} GiB of storage free"),
            ("connections", "DatabaseConnections", "Average", "GreaterThanThreshold",
             thresholds.connections,
             f"More than {thresholds.connections} connections for 15 minutes"),
        )
        for role, metric, statistic, comparison, threshold, description in alarms:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{role}-alarm",
                alarm_description=f"{args.environment} metadata database: {description}",
                namespace="AWS/RDS",
                metric_name=metric,
                dimensions={"DBInstanceIdentifier": instance.identifier},
                statistic=statistic,
                period=_PERIOD_SECONDS,
                evaluation_periods=_SUSTAINED_PERIODS,
                comparison_operator=comparison,
                threshold=threshold,
                # A stopped dev database sends no data and is no incident.
                treat_missing_data="missing",
                alarm_actions=[args.alarm_topic_arn],
                ok_actions=[args.alarm_topic_arn],
                tags=tag(f"{role}-alarm"),
                opts=pulumi.ResourceOptions(parent=self),
            )
