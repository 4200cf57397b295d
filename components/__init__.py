"""Pulumi ComponentResources that make up an mlplat environment, laid out by concern.

    components/
      versions.py        every pinned external version (EKS add-ons, charts, AMI release,
                         container images)
      _lib/              shared pieces: naming and tags, IAM/KMS policy documents,
                         the encrypted log group helper, ComponentError
      aws/               AWS components (network, cluster, gpu_pools, cpu_pools,
                         block_storage, shared_filesystem, object_store,
                         metadata_db, team_access, mlflow_db,
                         load_balancer_controller) and the modules that build their
                         children (addons, security_groups, system_nodes, karpenter,
                         cluster_iam, kubeconfig)
      k8s/               provider-neutral in-cluster pieces (service functions, team tenancy,
                         the MLflow server, Kueue and JobSet, cert-manager and KServe,
                         the team's queues and serving namespaces)
      compositions/      one module per substrate wiring a whole team environment

Type token rule. A ComponentResource's type token is

    mlplat:<area>/<module>:<Type>

where `<area>/<module>` is the path of the Python module defining the class below
`components/` (without `.py`) and `<Type>` is the class name, mirroring provider tokens such as
`aws:eks/cluster:Cluster`. Examples: `mlplat:aws/network:Network`,
`mlplat:compositions/aws:TeamEnvironment`. Each component module defines its token once as
`TOKEN`; tests/unit/test_plan_snapshot.py checks every component of the demo plan against
the class's module, so moving or renaming a class without its token fails.

Each component has one typed args dataclass, takes validated config (mlplat.config) and
does not re-validate it; children are named `f"{name}-<role>"` and parented to the
component. What a component can still refuse is raised as
`components._lib.errors.ComponentError` (a `pulumi.RunError`, printed without a traceback).
"""
