"""A Pulumi program that builds MonitoringStack alone, as a substrate without AWS would:
a Kubernetes provider, an encrypted StorageClass by name, no CloudWatch (logs go to
`logShipping.endpoint`) and a small rule group of its own.

Planned by tests/unit/test_monitoring.py through the real offline engine.
"""

import json
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.monitoring import MonitoringStack, MonitoringStackArgs
from mlplat.config import environment_from_pulumi

#: The rule groups the test checks (Prometheus rule-file format), shared with the test.
RULE_GROUPS = json.loads((Path(__file__).parent / "rule_groups.json").read_text())

config = environment_from_pulumi()
assert config.monitoring is not None
k8s_provider = k8s.Provider("k8s", kubeconfig="{}")
MonitoringStack(
    f"{config.name}-monitoring",
    MonitoringStackArgs(
        settings=config.monitoring,
        environment=config.name,
        storage_class="local-encrypted",
        kubernetes_version=config.cluster.kubernetes_version,
        labels={"app.kubernetes.io/managed-by": "mlplat"},
        rule_groups=RULE_GROUPS,
        cloudwatch=None,
        managed_control_plane=False,
    ),
    pulumi.ResourceOptions(providers=[k8s_provider]),
)
