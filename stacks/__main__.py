"""mlplat Pulumi program: one team environment per stack.

Thin on purpose: parse the typed config of the selected stack
(`stacks/Pulumi.<stack>.yaml`), build the environment, export what other stacks and
people need. All logic lives in `components/`.
"""

import pulumi

from components.compositions.aws import TeamEnvironment, TeamEnvironmentArgs
from mlplat.config import environment_from_pulumi
from mlplat.config.onprem import Substrate
from mlplat.observability.rules import AlertSettings, alert_rule_groups

config = environment_from_pulumi()
# --- substrate dispatch (issue #10): on-prem stacks are composed by their own module.
if config.substrate is Substrate.ONPREM:
    from components.compositions import onprem

    team_environment = onprem.OnpremTeamEnvironment(
        config.name,
        onprem.OnpremTeamEnvironmentArgs(config=config, stack=pulumi.get_stack()))
    pulumi.export("team", config.team)
    pulumi.export("env", config.env.value)
    pulumi.export("substrate", config.substrate.value)
    for key, value in onprem.exports(team_environment).items():
        pulumi.export(key, value)
else:  # --- end substrate dispatch; substrate aws
    # The alert rules deployed are the ones tests/observability proves with promtool.
    rule_groups = [] if config.monitoring is None else alert_rule_groups(AlertSettings(
        runbook_base_url=config.monitoring.runbook_base_url,
        platform_team=config.monitoring.platform_team))
    environment = TeamEnvironment(
        config.name, TeamEnvironmentArgs(config=config, stack=pulumi.get_stack(),
                                         alert_rule_groups=rule_groups)
    )

    pulumi.export("team", config.team)
    pulumi.export("env", config.env.value)
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
    if environment.object_store is not None:
        pulumi.export("buckets", environment.object_store.bucket_names)
        pulumi.export("object_store_kms_key_arn", environment.object_store.kms_key_arn)
    if environment.metadata_db is not None:
        pulumi.export("metadata_db_address", environment.metadata_db.address)
        pulumi.export("metadata_db_port", environment.metadata_db.port)
        pulumi.export("metadata_db_name", environment.metadata_db.database_name)
        # Where the master password lives (Secrets Manager), never the password itself.
        pulumi.export("metadata_db_secret_arn", environment.metadata_db.master_user_secret_arn)
    if environment.tenancy is not None and environment.team_access is not None:
        pulumi.export("team_namespaces", environment.tenancy.namespaces)
        pulumi.export("service_account_role_arns",
                      environment.team_access.service_account_role_arns)
