"""Config of the hardening opt-ins (issue #11): strict switches, named buckets, listed
privileged namespaces, per-tier log retention."""

from __future__ import annotations

from typing import Any

import pytest

from mlplat.config import ConfigError, environment_from_stack_config

pytestmark = pytest.mark.unit

SOURCE = "stacks/Pulumi.t.yaml"


def error_of(config: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        environment_from_stack_config(config, SOURCE)
    return str(caught.value)


def test_opt_ins_are_off_by_default(demo_config: dict[str, Any]) -> None:
    config = environment_from_stack_config(demo_config, SOURCE)
    assert config.network.internet_facing_load_balancers is False
    assert config.network.s3_endpoint_extra_buckets == []
    assert config.cluster.node_session_manager is False
    assert config.cluster.privileged_namespaces == []


@pytest.mark.parametrize("layer, field", [
    ("mlplat:network", "internetFacingLoadBalancers"),
    ("mlplat:cluster", "nodeSessionManager"),
])
def test_switches_that_open_things_are_strict(
    demo_config: dict[str, Any], layer: str, field: str
) -> None:
    demo_config[layer][field] = "yes"
    assert error_of(demo_config).startswith(f"{SOURCE}: {layer}.{field}: ")


def test_extra_buckets_are_whole_bucket_names(demo_config: dict[str, Any]) -> None:
    demo_config["mlplat:network"]["s3EndpointExtraBuckets"] = ["open-data", "team-*"]
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:network.s3EndpointExtraBuckets: item 1 ('team-*') is not an S3 "
        "bucket name (3-63 of a-z, 0-9, '.', '-'; no wildcards)")


def test_a_team_namespace_cannot_be_privileged(demo_config: dict[str, Any]) -> None:
    demo_config["mlplat:cluster"]["privilegedNamespaces"] = ["gpu-operator", "vision-staging"]
    assert "cluster.privilegedNamespaces[1] (vision-staging) is a team namespace" in error_of(
        demo_config)


@pytest.mark.parametrize("env, expected", [("dev", 90), ("staging", 90), ("prod", 365)])
def test_unset_retention_follows_the_tier(env: str, expected: int) -> None:
    config = environment_from_stack_config(
        {"aws:region": "eu-west-1", "mlplat:team": "t", "mlplat:env": env,
         "mlplat:tags": {"cost-center": "c"}}, SOURCE)
    prod = env == "prod"
    assert config.cluster.effective_log_retention_days(prod) == expected
    assert config.network.flow_logs.effective_retention_days(prod) == expected


def test_explicit_retention_wins(demo_config: dict[str, Any]) -> None:
    demo_config["mlplat:cluster"]["logRetentionDays"] = 30
    config = environment_from_stack_config(demo_config, SOURCE)
    assert config.cluster.effective_log_retention_days(True) == 30
