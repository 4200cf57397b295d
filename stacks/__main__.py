"""mlplat Pulumi program: one environment per stack, of one of four kinds.

Thin on purpose: parse the typed config of the selected stack
(`stacks/Pulumi.<stack>.yaml`), build the environment its kind calls for, export what
other stacks and people need. All logic lives in `components/`.

* an on-prem team environment (`mlplat:substrate: onprem`, its own composition);
* a dedicated AWS team environment (default): its own network, cluster and data stores;
* a platform (`mlplat:platform`): a shared cluster and RDS instance, exporting what its
  tenants read (ADR 0008);
* a shared-mode team (`cluster.mode: shared`): the team's own resources on a platform,
  read through a StackReference (ADR 0008).
"""

import pulumi

from components.aws.object_store import ObjectStore
from components.aws.team_access import TeamAccess
from components.compositions.aws import TeamEnvironment, TeamEnvironmentArgs
from components.compositions.platform import PlatformEnvironment, PlatformEnvironmentArgs
from components.compositions.shared_team import SharedTeamEnvironment, SharedTeamEnvironmentArgs
from components.k8s.tenancy import TeamTenancy
from mlplat.config import ConfigError, environment_from_pulumi
from mlplat.config.onprem import Substrate
from mlplat.observability.rules import AlertSettings, alert_rule_groups
from mlplat.stackrefs import load_platform

config = environment_from_pulumi()
stack = pulumi.get_stack()


def export_tenancy(tenancy: TeamTenancy | None, team_access: TeamAccess | None) -> None:
    if tenancy is not None and team_access is not None:
        pulumi.export("team_namespaces", tenancy.namespaces)
        pulumi.export("service_account_role_arns", team_access.service_account_role_arns)


def export_object_store(store: ObjectStore | None) -> None:
    if store is not None:
        pulumi.export("buckets", store.bucket_names)
        pulumi.export("object_store_kms_key_arn", store.kms_key_arn)


def export_environment(environment: TeamEnvironment) -> None:
    pulumi.export("region", config.region)
    pulumi.export("vpc_id", environment.network.vpc_id)
    pulumi.export("private_subnet_ids", environment.network.private_subnet_ids)
    pulumi.export("cluster_name", environment.cluster.name)
    pulumi.export("cluster_endpoint", environment.cluster.endpoint)
    pulumi.export("kubeconfig", environment.cluster.kubeconfig)
    pulumi.export("gpu_node_pools", environment.gpu_node_pools.node_pool_names)
    if environment.cpu_node_pools is not None:
        pulumi.export("cpu_node_pools", environment.cpu_node_pools.node_pool_names)
    pulumi.export("default_storage_class", environment.block_storage.storage_class_name)
    if environment.shared_filesystem is not None:
        pulumi.export("shared_filesystem_id", environment.shared_filesystem.file_system_id)
        pulumi.export("shared_storage_class", environment.shared_filesystem.storage_class_name)
    export_object_store(environment.object_store)
    if environment.metadata_db is not None:
        pulumi.export("metadata_db_address", environment.metadata_db.address)
        pulumi.export("metadata_db_port", environment.metadata_db.port)
        pulumi.export("metadata_db_name", environment.metadata_db.database_name)
        # Where the master password lives (Secrets Manager), never the password itself.
        pulumi.export("metadata_db_secret_arn", environment.metadata_db.master_user_secret_arn)
    export_tenancy(environment.tenancy, environment.team_access)


pulumi.export("team", config.team)
pulumi.export("env", config.env.value)
# --- substrate dispatch (issue #10): on-prem stacks are composed by their own module.
if config.substrate is Substrate.ONPREM:
    from components.compositions import onprem

    team_environment = onprem.OnpremTeamEnvironment(
        config.name, onprem.OnpremTeamEnvironmentArgs(config=config, stack=stack))
    pulumi.export("substrate", config.substrate.value)
    for key, value in onprem.exports(team_environment).items():
        pulumi.export(key, value)
# --- shared or dedicated (ADR 0008)
elif config.shared:
    try:
        platform_config = load_platform(config, f"stacks/Pulumi.{stack}.yaml")
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    team = SharedTeamEnvironment(config.name, SharedTeamEnvironmentArgs(
        config=config, stack=stack, platform=platform_config))
    pulumi.export("region", config.region)
    pulumi.export("platform_stack", config.cluster.platform_stack)
    pulumi.export("cluster_name", team.platform.cluster_name)
    export_object_store(team.object_store)
    export_tenancy(team.tenancy, team.team_access)
else:  # substrate aws, dedicated cluster: a team's own or a platform
    # The alert rules deployed are the ones tests/observability proves with promtool.
    rule_groups = [] if config.monitoring is None else alert_rule_groups(AlertSettings(
        runbook_base_url=config.monitoring.runbook_base_url,
        platform_team=config.monitoring.platform_team))
    environment_args = TeamEnvironmentArgs(config=config, stack=stack,
                                           alert_rule_groups=rule_groups)
    if config.platform is not None:
        platform = PlatformEnvironment(config.name, PlatformEnvironmentArgs(environment_args))
        export_environment(platform.environment)
        for key, value in platform.outputs(config).items():  # what tenants read
            pulumi.export(key, value)
    else:
        export_environment(TeamEnvironment(config.name, environment_args))
