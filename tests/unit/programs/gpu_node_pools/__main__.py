"""A Pulumi program that builds GpuNodePools alone, against a stand-in cluster.

Planned by tests/unit/test_gpu_node_pools.py through the real offline engine
(`mlplat.plan.run_program(program_dir=...)`), so the component's plan can be checked without
depending on the Network and Cluster components. The stand-in passes plain values where the
Cluster would pass outputs.
"""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.gpu_pools import GpuNodePools, GpuNodePoolsArgs
from mlplat.config import environment_from_pulumi

config = environment_from_pulumi()
tags = config.effective_tags(pulumi.get_stack())
aws_provider = aws.Provider("aws", region=config.region)
k8s_provider = k8s.Provider("k8s", kubeconfig="{}")
pools = GpuNodePools(
    f"{config.name}-gpu",
    GpuNodePoolsArgs(
        pools=config.gpu_pools,
        team=config.team,
        cluster_name=config.name,
        cluster_name_output=pulumi.Output.from_input(config.name),
        cluster_endpoint="https://example.eks.amazonaws.com",
        k8s_provider=k8s_provider,
        kms_key_arn="arn:aws:kms:eu-west-1:111122223333:key/example",
        tags=tags,
    ),
    pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("node_pool_names", pools.node_pool_names)
pulumi.export("node_role_arn", pools.node_role_arn)
pulumi.export("controller_role_arn", pools.controller_role_arn)
pulumi.export("interruption_queue_url", pools.interruption_queue_url)
