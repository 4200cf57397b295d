"""Config validation alone: every bad input names the stack file and the field path."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from components import versions
from mlplat.config import (
    INTERRUPTION_QUEUE_SUFFIX,
    MAX_AVAILABILITY_ZONES,
    MIN_BACKUP_RETENTION_DAYS,
    MIN_PROD_BACKUP_RETENTION_DAYS,
    SQS_QUEUE_NAME_MAX,
    SUPPORTED_KUBERNETES_VERSIONS,
    ConfigError,
    Env,
    NatMode,
    environment_from_stack_config,
)
from mlplat.config import cluster as config_cluster
from mlplat.config import environment as config_environment

pytestmark = pytest.mark.unit

SOURCE = "stacks/Pulumi.t.yaml"


def parse(config: dict[str, Any]):
    return environment_from_stack_config(config, SOURCE)


def error_of(config: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(config)
    return str(caught.value)


def test_demo_config_parses_with_secure_defaults(demo_config):
    env = parse(demo_config)
    assert env.name == "vision-staging"
    assert env.network.nat_mode is NatMode.PER_AZ
    assert env.cluster.endpoint.public_access is False
    assert env.cluster.kubernetes_version == "1.33"
    assert [p.name for p in env.gpu_pools] == ["training", "serving"]
    assert env.deletion_protection is False  # staging; prod turns it on


def test_defaults_fill_in_a_minimal_config():
    env = parse({"aws:region": "us-east-1", "mlplat:team": "nlp", "mlplat:env": "prod",
                 "mlplat:tags": {"cost-center": "cc-1"}})
    assert env.network.availability_zones == 3
    assert env.network.nat_mode is NatMode.PER_AZ
    assert env.deletion_protection is True
    assert env.effective_tags("s") == {"cost-center": "cc-1", "team": "nlp", "env": "prod",
                                       "managed-by": "mlplat", "mlplat-stack": "s"}


def test_wrong_type_names_the_field(demo_config):
    demo_config["mlplat:network"]["availabilityZones"] = "three"
    message = error_of(demo_config)
    assert message == (f"{SOURCE}: mlplat:network.availabilityZones: must be a whole number "
                       "(got 'three')")


def test_unknown_key_is_rejected_with_its_path(demo_config):
    demo_config["mlplat:cluster"]["systemNodeGroup"]["maxSzie"] = 3
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:cluster.systemNodeGroup.maxSzie: unknown key; "
        "did you mean mlplat:cluster.systemNodeGroup.maxSize?")


def test_unknown_top_level_mlplat_key_is_rejected(demo_config):
    demo_config["mlplat:gpupools"] = []
    assert f"{SOURCE}: mlplat:gpupools: unknown key" in error_of(demo_config)


def test_other_namespaces_are_left_to_their_providers(demo_config):
    demo_config["aws:profile"] = "someone"
    assert parse(demo_config).region == "eu-west-1"


def test_missing_required_field(demo_config):
    del demo_config["mlplat:team"]
    assert error_of(demo_config) == f"{SOURCE}: mlplat:team: required field is missing"


def test_missing_region_points_at_aws_region(demo_config):
    del demo_config["aws:region"]
    assert error_of(demo_config) == f"{SOURCE}: aws:region: required field is missing"


def test_enum_values_are_listed(demo_config):
    demo_config["mlplat:env"] = "production"
    message = error_of(demo_config)
    assert message.startswith(f"{SOURCE}: mlplat:env:")
    assert "'dev', 'staging' or 'prod'" in message


def test_cost_center_tag_is_required(demo_config):
    del demo_config["mlplat:tags"]["cost-center"]
    assert error_of(demo_config) == f"{SOURCE}: mlplat:tags: missing required tag 'cost-center'"


def test_tag_must_agree_with_field(demo_config):
    demo_config["mlplat:tags"]["team"] = "someone-else"
    message = error_of(demo_config)
    assert "tags.team is 'someone-else' but team is 'vision'" in message


def test_prod_requires_nat_per_az(demo_config):
    demo_config["mlplat:env"] = "prod"
    demo_config["mlplat:network"]["natMode"] = "single"
    assert "network.natMode must be 'per-az' in prod" in error_of(demo_config)


def test_single_nat_is_allowed_outside_prod(demo_config):
    demo_config["mlplat:env"] = "dev"
    demo_config["mlplat:network"]["natMode"] = "single"
    assert parse(demo_config).network.nat_mode is NatMode.SINGLE


def test_gpu_pool_instance_types_must_carry_the_declared_accelerator(demo_config):
    demo_config["mlplat:gpuPools"][1]["instanceTypes"] = ["g6.xlarge", "g5.xlarge"]
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:gpuPools[1].instanceTypes[1], mlplat:gpuPools[1].accelerator: "
        "g5.xlarge carries a10g, not the pool's accelerator l4")


def test_gpu_pool_family_must_carry_the_declared_accelerator(demo_config):
    demo_config["mlplat:gpuPools"][0]["instanceFamilies"] = ["g6e"]
    assert (f"{SOURCE}: mlplat:gpuPools[0].instanceFamilies[0], mlplat:gpuPools[0].accelerator: "
            "g6e carries l40s" in error_of(demo_config))


def test_non_gpu_instance_type_in_gpu_pool(demo_config):
    demo_config["mlplat:gpuPools"][1]["instanceTypes"] = ["m7i.large"]
    assert "m7i.large is not a known GPU instance type" in error_of(demo_config)


def test_gpu_instance_type_in_system_node_group(demo_config):
    demo_config["mlplat:cluster"]["systemNodeGroup"]["instanceTypes"] = ["g5.xlarge"]
    assert ("mlplat:cluster.systemNodeGroup.instanceTypes: g5.xlarge is a GPU instance type"
            in error_of(demo_config))


def test_gpu_limit_below_smallest_instance(demo_config):
    demo_config["mlplat:gpuPools"][1]["instanceTypes"] = ["g6.12xlarge"]
    demo_config["mlplat:gpuPools"][1]["gpuLimit"] = 2
    assert "gpuLimit 2 is below the GPU count of the smallest allowed instance (4)" in error_of(
        demo_config)


def test_pool_needs_instance_types_or_families(demo_config):
    pool = demo_config["mlplat:gpuPools"][0]
    del pool["instanceFamilies"]
    assert "set instanceTypes or instanceFamilies" in error_of(demo_config)


def test_duplicate_pool_names(demo_config):
    demo_config["mlplat:gpuPools"].append(copy.deepcopy(demo_config["mlplat:gpuPools"][0]))
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:gpuPools, mlplat:cpuPools: duplicate pool names ['training']")


def test_bad_duration(demo_config):
    demo_config["mlplat:gpuPools"][0]["consolidateAfter"] = "ten minutes"
    assert (f"{SOURCE}: mlplat:gpuPools[0].consolidateAfter: must be a duration"
            in error_of(demo_config))


def test_public_endpoint_needs_cidrs(demo_config):
    demo_config["mlplat:cluster"]["endpoint"] = {"publicAccess": True}
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:cluster.endpoint.publicAccess, "
        "mlplat:cluster.endpoint.publicAccessCidrs: publicAccess is true but publicAccessCidrs "
        "is empty")


def test_public_endpoint_refuses_the_whole_internet(demo_config):
    demo_config["mlplat:cluster"]["endpoint"] = {"publicAccess": True,
                                                 "publicAccessCidrs": ["0.0.0.0/0"]}
    assert "0.0.0.0/0 would open the API to everyone" in error_of(demo_config)


def test_public_endpoint_with_allow_list_is_accepted_outside_prod(demo_config):
    demo_config["mlplat:cluster"]["endpoint"] = {"publicAccess": True,
                                                 "publicAccessCidrs": ["203.0.113.0/24"]}
    assert parse(demo_config).cluster.endpoint.public_access_cidrs == ["203.0.113.0/24"]


def test_public_endpoint_is_refused_in_prod(demo_config):
    demo_config["mlplat:env"] = "prod"
    demo_config["mlplat:cluster"]["endpoint"] = {"publicAccess": True,
                                                 "publicAccessCidrs": ["203.0.113.0/24"]}
    assert "cluster.endpoint.publicAccess is not allowed in prod" in error_of(demo_config)


def test_unsupported_kubernetes_version(demo_config):
    demo_config["mlplat:cluster"]["kubernetesVersion"] = "1.27"
    assert "mlplat:cluster.kubernetesVersion: '1.27' is not supported" in error_of(demo_config)


def test_public_vpc_cidr_is_refused(demo_config):
    demo_config["mlplat:network"]["vpcCidr"] = "8.8.0.0/16"
    assert "mlplat:network.vpcCidr: 8.8.0.0/16 is not a private" in error_of(demo_config)


def test_invalid_admin_role_arn(demo_config):
    demo_config["mlplat:cluster"]["adminRoleArns"] = ["arn:aws:iam::1:user/bob"]
    assert "mlplat:cluster.adminRoleArns: item 0" in error_of(demo_config)


def test_flow_log_retention_must_be_a_cloudwatch_value(demo_config):
    demo_config["mlplat:network"]["flowLogs"]["retentionDays"] = 42
    assert ("mlplat:network.flowLogs.retentionDays: 42 is not a CloudWatch retention period"
            in error_of(demo_config))


def test_several_errors_are_all_reported_one_per_line(demo_config):
    demo_config["mlplat:team"] = "Vision Team"
    demo_config["mlplat:network"]["bogus"] = 1
    lines = error_of(demo_config).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(SOURCE + ": mlplat:") for line in lines)


def test_every_kind_of_mistake_in_one_file_is_reported_on_its_own_line(demo_config):
    """A type error, a misspelt key and a rule spanning fields, in three layers: all three
    come back at once, one line each, each naming the file, the field and what is wrong.
    (Rules on the whole environment run once its fields are valid: they read them.)"""
    demo_config["mlplat:network"]["availabilityZones"] = "three"
    demo_config["mlplat:cluster"]["systemNodeGroup"]["maxSzie"] = 3
    demo_config["mlplat:gpuPools"][1]["instanceTypes"] = ["g6.xlarge", "g5.xlarge"]
    assert error_of(demo_config).splitlines() == [
        f"{SOURCE}: mlplat:network.availabilityZones: must be a whole number (got 'three')",
        f"{SOURCE}: mlplat:cluster.systemNodeGroup.maxSzie: unknown key; "
        "did you mean mlplat:cluster.systemNodeGroup.maxSize?",
        f"{SOURCE}: mlplat:gpuPools[1].instanceTypes[1], mlplat:gpuPools[1].accelerator: "
        "g5.xlarge carries a10g, not the pool's accelerator l4",
    ]


def test_rule_on_the_whole_environment_names_its_fields_not_the_namespace(demo_config):
    demo_config["mlplat:env"] = "prod"
    demo_config["mlplat:network"]["natMode"] = "single"
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:network.natMode: network.natMode must be 'per-az' in prod "
        "(multi-AZ NAT)")


def test_every_broken_rule_on_the_whole_environment_is_reported(demo_config):
    demo_config["mlplat:env"] = "prod"
    demo_config["mlplat:network"]["natMode"] = "single"
    demo_config["mlplat:cluster"]["endpoint"] = {"publicAccess": True,
                                                 "publicAccessCidrs": ["203.0.113.0/24"]}
    demo_config["mlplat:tags"]["team"] = "someone-else"
    assert error_of(demo_config).splitlines() == [
        f"{SOURCE}: mlplat:tags.team, mlplat:team: tags.team is 'someone-else' but team is "
        "'vision'; they must match",
        f"{SOURCE}: mlplat:network.natMode: network.natMode must be 'per-az' in prod "
        "(multi-AZ NAT)",
        f"{SOURCE}: mlplat:cluster.endpoint.publicAccess: cluster.endpoint.publicAccess is not "
        "allowed in prod",
    ]


def test_explicit_protect_data_overrides_tier_default(demo_config):
    demo_config["mlplat:env"] = "prod"
    demo_config["mlplat:protectData"] = False
    env = parse(demo_config)
    assert env.env is Env.PROD and env.deletion_protection is False


# ------------------------------------------------------------ rules moved out of components
# Components trust a validated config; each rule they used to re-check lives here once.


@pytest.mark.parametrize("key", ["aws:cloudformation:stack", "AWS:Foo", "karpenter.sh/nodepool",
                                 "karpenter.sh/nodeclaim", "karpenter.k8s.aws/ec2nodeclass",
                                 "kubernetes.io/cluster/vision-staging", "eks:eks-cluster-name"])
def test_reserved_tag_keys_are_refused(demo_config, key):
    demo_config["mlplat:tags"][key] = "x"
    assert (f"{SOURCE}: mlplat:tags: tag key {key!r} is reserved" in error_of(demo_config))


def test_tag_keys_merely_resembling_reserved_ones_are_accepted(demo_config):
    demo_config["mlplat:tags"]["karpenter.sh-owner"] = "x"
    demo_config["mlplat:tags"]["kubernetes.io/owner"] = "x"
    assert parse(demo_config).tags["karpenter.sh-owner"] == "x"


def test_kubernetes_version_needs_an_addon_row(demo_config, monkeypatch):
    # A version offered by config but missing from the add-on table would have failed deep
    # inside the Cluster component; config now names the field instead.
    monkeypatch.setattr(config_cluster, "SUPPORTED_KUBERNETES_VERSIONS",
                        (*config_cluster.SUPPORTED_KUBERNETES_VERSIONS, "1.35"))
    demo_config["mlplat:cluster"]["kubernetesVersion"] = "1.35"
    assert (f"{SOURCE}: mlplat:cluster.kubernetesVersion: '1.35' has no EKS add-on pins in "
            "components/versions.py" in error_of(demo_config))


def test_every_supported_kubernetes_version_has_an_addon_row():
    assert set(SUPPORTED_KUBERNETES_VERSIONS) <= set(versions.ADDON_VERSIONS)


def test_system_node_group_cannot_mix_architectures(demo_config):
    demo_config["mlplat:cluster"]["systemNodeGroup"] = {"instanceTypes": ["m7g.large",
                                                                          "m7i.large"]}
    assert (f"{SOURCE}: mlplat:cluster.systemNodeGroup.instanceTypes: mixes Graviton (arm64) "
            "and x86_64" in error_of(demo_config))


def test_system_node_group_of_one_architecture_is_accepted(demo_config):
    demo_config["mlplat:cluster"]["systemNodeGroup"] = {"instanceTypes": ["m7g.large",
                                                                          "c8g.xlarge"]}
    assert parse(demo_config).cluster.system_node_group.instance_types[0] == "m7g.large"


def test_interruption_queue_name_must_fit_sqs(demo_config, monkeypatch):
    # DNS-label teams (<= 30 characters) always fit today; the rule guards the limit if the
    # name scheme changes. Shrink the limit to see it fire with its message.
    monkeypatch.setattr(config_environment, "SQS_QUEUE_NAME_MAX", 20)
    message = error_of(demo_config)
    assert message == (f"{SOURCE}: mlplat:team, mlplat:env: team and env make the interruption "
                       "queue name 'vision-staging-karpenter' (24 characters); SQS allows 20")


def test_longest_team_name_fits_the_queue_name(demo_config):
    demo_config["mlplat:team"] = "a" * 30
    demo_config["mlplat:env"] = "staging"
    name = parse(demo_config).name + INTERRUPTION_QUEUE_SUFFIX
    assert len(name) <= SQS_QUEUE_NAME_MAX


@pytest.mark.parametrize(("cidr", "fragment"), [
    ("0.0.0.0/0", "0.0.0.0/0 would open the API to everyone"),
    ("10.0.0.1/8", "is not an IPv4 CIDR"),
    ("not-a-cidr", "is not an IPv4 CIDR"),
])
def test_private_endpoint_access_cidrs_are_validated(demo_config, cidr, fragment):
    demo_config["mlplat:cluster"]["endpoint"]["privateAccessCidrs"] = [cidr]
    message = error_of(demo_config)
    assert message.startswith(f"{SOURCE}: mlplat:cluster.endpoint.privateAccessCidrs: ")
    assert fragment in message


def test_more_availability_zones_than_the_layout_holds(demo_config):
    demo_config["mlplat:network"]["availabilityZones"] = MAX_AVAILABILITY_ZONES + 1
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:network.availabilityZones: must be less than or equal to "
        f"{MAX_AVAILABILITY_ZONES} (got {MAX_AVAILABILITY_ZONES + 1})")


def test_team_must_be_a_dns_label(demo_config):
    demo_config["mlplat:team"] = "Vision_Team"
    assert f"{SOURCE}: mlplat:team: must be a DNS label" in error_of(demo_config)


# ------------------------------------------------------------ patterns match the whole value
# `re.match` with `$` accepts a trailing newline ("vision\n"); YAML block scalars produce
# exactly that. Every pattern must match the whole value.


@pytest.mark.parametrize(("key", "path", "value"), [
    ("mlplat:team", "mlplat:team", "vision\n"),
    ("aws:region", "aws:region", "eu-west-1\n"),
])
def test_trailing_newline_is_refused_in_top_level_names(demo_config, key, path, value):
    demo_config[key] = value
    assert f"{SOURCE}: {path}: " in error_of(demo_config)


def test_trailing_newline_is_refused_in_admin_role_arns(demo_config):
    demo_config["mlplat:cluster"]["adminRoleArns"] = ["arn:aws:iam::111122223333:role/admin\n"]
    assert f"{SOURCE}: mlplat:cluster.adminRoleArns: " in error_of(demo_config)


def test_trailing_newline_is_refused_in_tag_keys(demo_config):
    demo_config["mlplat:tags"]["owner\n"] = "x"
    assert f"{SOURCE}: mlplat:tags: tag key 'owner\\n'" in error_of(demo_config)


@pytest.mark.parametrize(("field", "value"), [
    ("consolidateAfter", "10m\n"),
    ("disruptionBudgetNodes", "10%\n"),
    ("name", "training\n"),
])
def test_trailing_newline_is_refused_in_gpu_pool_fields(demo_config, field, value):
    demo_config["mlplat:gpuPools"][0][field] = value
    assert f"{SOURCE}: mlplat:gpuPools[0].{field}: " in error_of(demo_config)


def test_trailing_newline_is_refused_in_flow_log_traffic_type(demo_config):
    demo_config["mlplat:network"]["flowLogs"] = {"trafficType": "ALL\n"}
    assert f"{SOURCE}: mlplat:network.flowLogs.trafficType: " in error_of(demo_config)


# ------------------------------------------------------------ CIDR semantics


@pytest.mark.parametrize("cidr", ["169.254.0.0/16", "127.0.0.0/16", "100.64.0.0/16",
                                  "198.18.0.0/16", "8.8.0.0/16"])
def test_vpc_cidr_must_be_rfc1918(demo_config, cidr):
    demo_config["mlplat:network"]["vpcCidr"] = cidr
    assert (f"{SOURCE}: mlplat:network.vpcCidr: {cidr} is not a private (RFC 1918) range"
            in error_of(demo_config))


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.31.0.0/16", "192.168.0.0/20"])
def test_vpc_cidr_in_each_rfc1918_range_is_accepted(demo_config, cidr):
    demo_config["mlplat:network"]["vpcCidr"] = cidr
    assert parse(demo_config).network.vpc_cidr == cidr


@pytest.mark.parametrize("cidr", ["169.254.0.0/16", "127.0.0.0/8", "100.64.0.0/10",
                                  "203.0.113.0/24"])
def test_private_access_cidrs_must_be_rfc1918(demo_config, cidr):
    demo_config["mlplat:cluster"]["endpoint"]["privateAccessCidrs"] = [cidr]
    assert (f"{SOURCE}: mlplat:cluster.endpoint.privateAccessCidrs: item 0 ({cidr!r}) is not "
            "inside a private (RFC 1918) range" in error_of(demo_config))


def test_private_access_cidrs_must_lie_outside_the_vpc(demo_config):
    demo_config["mlplat:network"]["vpcCidr"] = "10.40.0.0/16"
    demo_config["mlplat:cluster"]["endpoint"]["privateAccessCidrs"] = ["10.200.0.0/16",
                                                                       "10.0.0.0/8"]
    assert ("cluster.endpoint.privateAccessCidrs[1] (10.0.0.0/8) overlaps network.vpcCidr "
            "(10.40.0.0/16)" in error_of(demo_config))


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "192.168.1.0/24", "100.64.0.0/10",
                                  "127.0.0.0/8"])
def test_public_access_cidrs_must_be_public(demo_config, cidr):
    demo_config["mlplat:cluster"]["endpoint"].update(publicAccess=True, publicAccessCidrs=[cidr])
    assert (f"{SOURCE}: mlplat:cluster.endpoint.publicAccessCidrs: item 0 ({cidr!r}) is not a "
            "public (globally routable) range" in error_of(demo_config))


@pytest.mark.parametrize("cidrs", [
    ["0.0.0.0/1", "128.0.0.0/1"],
    ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"],
])
def test_public_allow_list_may_not_cover_the_whole_internet_together(demo_config, cidrs):
    demo_config["mlplat:cluster"]["endpoint"].update(publicAccess=True, publicAccessCidrs=cidrs)
    assert (f"{SOURCE}: mlplat:cluster.endpoint.publicAccessCidrs: the items together cover "
            "every IPv4 address" in error_of(demo_config))


# ------------------------------------------------------------ percentages and durations


@pytest.mark.parametrize("budget", ["101%", "250%", "999%", "007%"])
def test_disruption_budget_percentage_is_at_most_100(demo_config, budget):
    demo_config["mlplat:gpuPools"][0]["disruptionBudgetNodes"] = budget
    assert (f"{SOURCE}: mlplat:gpuPools[0].disruptionBudgetNodes: " in error_of(demo_config))


@pytest.mark.parametrize("budget", ["0%", "5%", "100%", "0", "3", "250"])
def test_disruption_budget_counts_and_percentages_are_accepted(demo_config, budget):
    demo_config["mlplat:gpuPools"][0]["disruptionBudgetNodes"] = budget
    assert parse(demo_config).gpu_pools[0].disruption_budget_nodes == budget


@pytest.mark.parametrize("duration", ["2562048h", "9999999999h", "2562047h48m"])
def test_duration_beyond_what_kubernetes_can_parse_is_refused(demo_config, duration):
    # Karpenter parses durations as Go time.Duration (int64 nanoseconds, about 292 years).
    demo_config["mlplat:gpuPools"][0]["expireAfter"] = duration
    assert (f"{SOURCE}: mlplat:gpuPools[0].expireAfter: {duration} is longer than "
            in error_of(demo_config))


@pytest.mark.parametrize("duration", ["30s", "10m", "720h", "1h30m", "2562047h"])
def test_durations_within_range_are_accepted(demo_config, duration):
    demo_config["mlplat:gpuPools"][0]["expireAfter"] = duration
    assert parse(demo_config).gpu_pools[0].expire_after == duration


# ------------------------------------------------------------ tags and IAM names


def test_too_many_tags_for_aws_are_refused(demo_config):
    # 2 demo tags + 34 more = 36 of the user's, + managed-by, mlplat-stack, team, env = 40,
    # + up to 10 added per resource = 50: the limit. One more is refused.
    demo_config["mlplat:tags"].update({f"k{i}": "v" for i in range(34)})
    assert parse(demo_config)
    demo_config["mlplat:tags"]["one-too-many"] = "v"
    assert (f"{SOURCE}: mlplat:tags: 37 tags here plus the 4 mlplat sets on every resource and "
            "up to 10 more on some exceed AWS's 50 tags per resource; at most 36 fit"
            in error_of(demo_config))


@pytest.mark.parametrize("value", ["cc#4711", "a\nb", "x" * 257, "semi;colon"])
def test_tag_values_aws_refuses(demo_config, value):
    demo_config["mlplat:tags"]["cost-center"] = value
    assert f"{SOURCE}: mlplat:tags: tag 'cost-center': value " in error_of(demo_config)


@pytest.mark.parametrize("key", ["managed-by", "mlplat-stack"])
def test_tags_mlplat_sets_itself_are_refused(demo_config, key):
    demo_config["mlplat:tags"][key] = "terraform"
    assert (f"{SOURCE}: mlplat:tags: tag key {key!r} is set by mlplat on every resource"
            in error_of(demo_config))


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::111122223333:role/" + "r" * 65,
    "arn:aws:iam::111122223333:role/r\u00f4le",
    "arn:aws:iam::111122223333:role/a b",
])
def test_admin_role_arns_with_names_iam_refuses(demo_config, arn):
    demo_config["mlplat:cluster"]["adminRoleArns"] = [arn]
    assert (f"{SOURCE}: mlplat:cluster.adminRoleArns: item 0 ({arn!r}) is not an IAM role ARN"
            in error_of(demo_config))


def test_admin_role_arn_with_a_path_and_64_character_name_is_accepted(demo_config):
    arn = "arn:aws:iam::111122223333:role/platform/ci/" + "r" * 64
    demo_config["mlplat:cluster"]["adminRoleArns"] = [arn]
    assert parse(demo_config).cluster.admin_role_arns == [arn]


# ------------------------------------------------------------ regions from the shipped catalog


@pytest.mark.parametrize("region", ["eu-west-9", "us-east-7", "xx-fake-1", "eu-west-1a"])
def test_region_must_be_in_the_catalog(demo_config, region):
    demo_config["aws:region"] = region
    assert (f"{SOURCE}: aws:region: {region!r} is not an AWS region (see mlplat/data/regions.yaml"
            in error_of(demo_config))


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "ap-southeast-7",
                                    "mx-central-1", "us-gov-west-1"])
def test_catalogued_regions_are_accepted(demo_config, region):
    demo_config["aws:region"] = region
    if region.startswith("us-gov-"):
        demo_config["mlplat:cluster"]["adminRoleArns"] = [
            "arn:aws-us-gov:iam::111122223333:role/platform-admins"]
        demo_config["mlplat:tenancy"]["teamRoleArn"] = (
            "arn:aws-us-gov:iam::111122223333:role/vision-developers")
    assert parse(demo_config).region == region


def test_admin_role_arns_must_be_in_the_regions_partition(demo_config):
    demo_config["aws:region"] = "us-gov-west-1"
    assert ("cluster.adminRoleArns[0] is in partition 'aws' but aws:region 'us-gov-west-1' "
            "is in 'aws-us-gov'" in error_of(demo_config))


def test_region_catalog_names_its_source_and_date():
    from mlplat import catalog

    assert catalog.REGIONS.source.startswith("https://docs.aws.amazon.com/")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", catalog.REGIONS.checked)
    assert catalog.REGIONS.partition_of("eu-west-1") == "aws"
    assert len(catalog.REGIONS.partitions) >= 30


# ------------------------------------------------------------ instance types from the catalog


@pytest.mark.parametrize("instance_type", ["m7i.huge", "m9z.large", "m7i", "M7I.LARGE"])
def test_system_node_types_must_be_catalogued(demo_config, instance_type):
    demo_config["mlplat:cluster"]["systemNodeGroup"] = {"instanceTypes": [instance_type]}
    assert (f"{SOURCE}: mlplat:cluster.systemNodeGroup.instanceTypes: {instance_type} is not a "
            "known instance type (see mlplat/data/instance_types.yaml" in error_of(demo_config))


@pytest.mark.parametrize("instance_type", ["m7i.large", "m7g.xlarge", "c6a.2xlarge",
                                           "t3.medium", "r7i.4xlarge"])
def test_catalogued_system_node_types_are_accepted(demo_config, instance_type):
    demo_config["mlplat:cluster"]["systemNodeGroup"] = {"instanceTypes": [instance_type]}
    assert parse(demo_config).cluster.system_node_group.instance_types == [instance_type]


def test_gpu_pool_types_must_be_catalogued(demo_config):
    demo_config["mlplat:gpuPools"][1]["instanceTypes"] = ["g5.3xlarge"]
    assert ("instanceTypes[0]: g5.3xlarge is not a known GPU instance type"
            in error_of(demo_config))


def test_instance_catalog_names_its_source_and_date():
    from mlplat import catalog

    assert catalog.INSTANCE_TYPES.source.startswith("https://docs.aws.amazon.com/")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", catalog.INSTANCE_TYPES.checked)
    assert catalog.architecture("m7g.large") == "arm64"
    assert catalog.architecture("m7i.large") == "x86_64"
    assert catalog.architecture("g5.xlarge") == "x86_64"
    assert catalog.lookup("g5.12xlarge") == catalog.GpuInstanceType(
        "g5.12xlarge", "g5", catalog.Accelerator.A10G, gpus=4, vcpus=48, memory_gib=192)


# ------------------------------------------------------------------ data stores


def _prod(config: dict[str, Any]) -> dict[str, Any]:
    config["mlplat:env"] = "prod"
    return config


def test_demo_enables_both_data_stores_with_tier_defaults(demo_config):
    env = parse(demo_config)
    assert env.object_store is not None and env.metadata_db is not None
    assert sorted(env.object_store.buckets) == ["artifacts", "datasets"]
    assert env.ephemeral is False
    # staging: neither Multi-AZ nor prod's backup floor unless asked for.
    assert env.metadata_db.effective_multi_az(env.env is Env.PROD) is False
    assert env.metadata_db.effective_backup_retention_days(env.env is Env.PROD) == 7


def test_data_stores_are_off_when_their_blocks_are_absent(demo_config):
    del demo_config["mlplat:objectStore"], demo_config["mlplat:metadataDb"]
    del demo_config["mlplat:tenancy"]["serviceAccounts"]  # they use buckets
    del demo_config["mlplat:mlflow"]  # it uses both
    env = parse(demo_config)
    assert env.object_store is None and env.metadata_db is None


def test_prod_database_defaults_to_multi_az_and_two_weeks_of_backups(demo_config):
    database = parse(_prod(demo_config)).metadata_db
    assert database is not None
    assert database.effective_multi_az(True) is True
    assert database.effective_backup_retention_days(True) == MIN_PROD_BACKUP_RETENTION_DAYS == 14


def test_prod_refuses_a_single_az_database(demo_config):
    _prod(demo_config)["mlplat:metadataDb"]["multiAz"] = False
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:metadataDb.multiAz: multiAz is false; prod requires a Multi-AZ "
        "database")


def test_prod_refuses_short_backup_retention(demo_config):
    _prod(demo_config)["mlplat:metadataDb"]["backupRetentionDays"] = 13
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:metadataDb.backupRetentionDays: backupRetentionDays is 13; prod "
        "requires at least 14")


def test_backup_retention_below_a_week_is_refused_everywhere(demo_config):
    demo_config["mlplat:metadataDb"]["backupRetentionDays"] = 6
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:metadataDb.backupRetentionDays: must be greater than or equal to "
        f"{MIN_BACKUP_RETENTION_DAYS} (got 6)")


def test_prod_cannot_be_ephemeral(demo_config):
    _prod(demo_config)["mlplat:ephemeral"] = True
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:ephemeral: a prod environment cannot be ephemeral")


def test_ephemeral_contradicts_explicit_protection(demo_config):
    demo_config["mlplat:protectData"] = True
    demo_config["mlplat:ephemeral"] = True
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:ephemeral: contradicts protectData: true; set one of them")


def test_ephemeral_is_accepted_outside_prod(demo_config):
    demo_config["mlplat:ephemeral"] = True
    assert parse(demo_config).ephemeral is True


@pytest.mark.parametrize("instance_class", ["db.t4g.huge", "t4g.medium", "db.g5.xlarge"])
def test_db_instance_class_must_be_catalogued(demo_config, instance_class):
    demo_config["mlplat:metadataDb"]["instanceClass"] = instance_class
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:metadataDb.instanceClass: {instance_class} is not a known DB "
        "instance class (see mlplat/data/db_instance_classes.yaml")


def test_db_catalog_names_its_source_and_date():
    from mlplat import catalog

    assert catalog.DB_INSTANCE_CLASSES.source.startswith("https://docs.aws.amazon.com/")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", catalog.DB_INSTANCE_CLASSES.checked)
    assert {"db.t4g.medium", "db.m7g.large", "db.r7i.48xlarge"} <= (
        catalog.DB_INSTANCE_CLASSES.classes)


def test_postgres_major_must_be_pinned(demo_config):
    demo_config["mlplat:metadataDb"]["engineVersion"] = "17.6"
    message = error_of(demo_config)
    assert message.startswith(f"{SOURCE}: mlplat:metadataDb.engineVersion: '17.6' is not a "
                              "PostgreSQL major version pinned in components/versions.py")
    assert ", ".join(versions.POSTGRES_PARAMETER_FAMILIES) in message


def test_storage_ceiling_must_exceed_initial_storage(demo_config):
    demo_config["mlplat:metadataDb"]["allocatedStorageGib"] = 100
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:metadataDb.maxAllocatedStorageGib, "
        "mlplat:metadataDb.allocatedStorageGib: maxAllocatedStorageGib (100) must be greater "
        "than allocatedStorageGib (100) for storage autoscaling")


@pytest.mark.parametrize(("field", "value"), [("masterUsername", "postgres"),
                                              ("masterUsername", "Admin-1"),
                                              ("databaseName", "rdsadmin"),
                                              ("databaseName", "1db")])
def test_db_names_must_be_usable_postgres_identifiers(demo_config, field, value):
    demo_config["mlplat:metadataDb"][field] = value
    assert error_of(demo_config).startswith(f"{SOURCE}: mlplat:metadataDb.{field}: '{value}'")


@pytest.mark.parametrize("days", [0, 8, 30, 732])
def test_performance_insights_retention_must_be_a_valid_period(demo_config, days):
    demo_config["mlplat:metadataDb"]["performanceInsightsRetentionDays"] = days
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:metadataDb.performanceInsightsRetentionDays: {days} is not 7")


def test_team_with_double_hyphen_cannot_have_a_database(demo_config):
    demo_config["mlplat:team"] = "vi--sion"
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:metadataDb: team 'vi--sion' contains '--'")
    del demo_config["mlplat:metadataDb"], demo_config["mlplat:mlflow"]
    assert parse(demo_config).team == "vi--sion"


def test_object_store_needs_datasets_and_artifacts(demo_config):
    del demo_config["mlplat:objectStore"]["buckets"]["artifacts"]
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:objectStore.buckets: missing required bucket purpose(s): artifacts")


@pytest.mark.parametrize(("purpose", "reason"), [
    ("access-logs", "reserved for the access-log bucket"),
    ("Checkpoints", "must be 1 to 16 lowercase letters"),
    ("check--points", "must be 1 to 16 lowercase letters"),
    ("a-very-long-purpose", "must be 1 to 16 lowercase letters"),
])
def test_bucket_purpose_names_the_offending_key(demo_config, purpose, reason):
    demo_config["mlplat:objectStore"]["buckets"][purpose] = {}
    message = error_of(demo_config)
    assert message.startswith(f"{SOURCE}: mlplat:objectStore.buckets.{purpose}: ")
    assert reason in message


def test_unknown_bucket_setting_names_its_path(demo_config):
    demo_config["mlplat:objectStore"]["buckets"]["datasets"]["versioning"] = False
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:objectStore.buckets.datasets.versioning: unknown key")


def test_bucket_retention_bounds(demo_config):
    demo_config["mlplat:objectStore"]["buckets"]["artifacts"][
        "noncurrentVersionExpirationDays"] = 0
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:objectStore.buckets.artifacts.noncurrentVersionExpirationDays: "
        "must be greater than or equal to 1 (got 0)")


# ------------------------------------------------------------------ tenancy


def _tenancy(config: dict[str, Any]) -> dict[str, Any]:
    tenancy: dict[str, Any] = config["mlplat:tenancy"]
    return tenancy


def test_demo_tenancy_parses_with_secure_defaults(demo_config):
    from mlplat.config import PodSecurityLevel

    tenancy = parse(demo_config).tenancy
    assert tenancy is not None
    assert tenancy.effective_group("vision-staging") == "vision-staging:members"
    assert [ns.name_in("vision-staging") for ns in tenancy.namespaces] == [
        "vision-staging", "vision-staging-serving"]
    assert all(ns.pod_security is PodSecurityLevel.RESTRICTED for ns in tenancy.namespaces)
    assert [ns.quota.load_balancers for ns in tenancy.namespaces] == [0, 1]
    assert (tenancy.monitoring_namespace, tenancy.ingress_namespace) == ("monitoring", "ingress")


def test_minimal_tenancy_is_one_restricted_namespace_without_gpus_or_load_balancers(
    demo_config,
):
    demo_config["mlplat:tenancy"] = {"teamRoleArn": "arn:aws:iam::111122223333:role/t"}
    tenancy = parse(demo_config).tenancy
    assert tenancy is not None
    (namespace,) = tenancy.namespaces
    assert namespace.purpose is None and namespace.pod_security.value == "restricted"
    assert (namespace.quota.gpus, namespace.quota.load_balancers) == (0, 0)
    assert tenancy.service_accounts == {}


def test_privileged_pod_security_is_refused(demo_config):
    _tenancy(demo_config)["namespaces"][1]["podSecurity"] = "privileged"
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:tenancy.namespaces[1].podSecurity: 'privileged' is never allowed "
        "for a team namespace")


def test_team_role_arn_must_be_a_role_arn(demo_config):
    _tenancy(demo_config)["teamRoleArn"] = "arn:aws:iam::111122223333:user/alice"
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:tenancy.teamRoleArn: 'arn:aws:iam::111122223333:user/alice' is not "
        "an IAM role ARN")


def test_team_role_arn_must_be_in_the_regions_partition(demo_config):
    demo_config["aws:region"] = "us-gov-west-1"
    demo_config["mlplat:cluster"]["adminRoleArns"] = [
        "arn:aws-us-gov:iam::111122223333:role/platform-admins"]
    assert ("tenancy.teamRoleArn is in partition 'aws' but aws:region 'us-gov-west-1' is in "
            "'aws-us-gov'" in error_of(demo_config))


def test_team_role_cannot_also_be_a_cluster_admin(demo_config):
    _tenancy(demo_config)["teamRoleArn"] = demo_config["mlplat:cluster"]["adminRoleArns"][0]
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:tenancy.teamRoleArn: teamRoleArn is also in cluster.adminRoleArns")


def test_service_accounts_may_only_use_buckets_of_the_object_store(demo_config):
    _tenancy(demo_config)["serviceAccounts"]["training"]["buckets"]["features"] = {
        "access": "read"}
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:tenancy.serviceAccounts.training.buckets.features: objectStore has "
        "no bucket of that purpose (buckets: artifacts, datasets)")
    del demo_config["mlplat:objectStore"], demo_config["mlplat:mlflow"]
    del _tenancy(demo_config)["serviceAccounts"]["training"]["buckets"]["features"]
    assert "(buckets: none: objectStore is absent)" in error_of(demo_config)


def test_an_invalid_object_store_is_reported_once_not_again_under_tenancy(demo_config):
    del demo_config["mlplat:objectStore"]["buckets"]["artifacts"]
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:objectStore.buckets: missing required bucket purpose(s): artifacts")


def test_service_account_namespace_must_be_one_of_the_namespaces(demo_config):
    _tenancy(demo_config)["serviceAccounts"]["serving"]["namespace"] = "inference"
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:tenancy.serviceAccounts.serving.namespace, mlplat:tenancy.namespaces: "
        "inference is not in namespaces")


def test_the_same_namespace_cannot_be_listed_twice(demo_config):
    _tenancy(demo_config)["namespaces"].append({"purpose": "serving"})
    assert "the same namespace is listed twice" in error_of(demo_config)


@pytest.mark.parametrize("group", ["system:masters", "eks:admins", "System:Masters",
                                   "-team", "a b", "g" * 64])
def test_group_names_eks_or_kubernetes_would_refuse(demo_config, group):
    _tenancy(demo_config)["group"] = group
    assert error_of(demo_config).startswith(f"{SOURCE}: mlplat:tenancy.group: group {group!r}")


@pytest.mark.parametrize("quantity", ["1e3", "-1", "2 Gi", "1.5.2", "10gb", "0", "0Mi", ""])
def test_quantities_kubernetes_would_refuse_or_that_allow_nothing(demo_config, quantity):
    _tenancy(demo_config)["namespaces"][0]["quota"]["requestsStorage"] = quantity
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:tenancy.namespaces[0].quota.requestsStorage: {quantity!r}")


def test_quota_requests_may_not_exceed_limits(demo_config):
    _tenancy(demo_config)["namespaces"][0]["quota"]["requestsMemory"] = "600Gi"
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:tenancy.namespaces[0].quota.requestsMemory, "
        "mlplat:tenancy.namespaces[0].quota.limitsMemory: requestsMemory (600Gi) exceeds "
        "limitsMemory (512Gi); pods could never use the requested quota")


def test_container_default_request_may_not_exceed_its_limit(demo_config):
    _tenancy(demo_config)["namespaces"][0]["containerDefaults"] = {"cpuRequest": "2500m"}
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:tenancy.namespaces[0].containerDefaults.cpuRequest, "
        "mlplat:tenancy.namespaces[0].containerDefaults.cpuLimit: cpuRequest (2500m) exceeds "
        "cpuLimit (2); Kubernetes refuses such a LimitRange")


def test_container_default_limit_must_fit_the_quota(demo_config):
    _tenancy(demo_config)["namespaces"][1]["containerDefaults"] = {"memoryLimit": "128Gi"}
    assert error_of(demo_config) == (
        f"{SOURCE}: mlplat:tenancy.namespaces[1].containerDefaults.memoryLimit, "
        "mlplat:tenancy.namespaces[1].quota.limitsMemory: containerDefaults.memoryLimit (128Gi) "
        "exceeds quota.limitsMemory (64Gi); no pod relying on the default would fit")


@pytest.mark.parametrize("prefix", ["models", "/models/", "models/*", "a//", "../x/", "m o/"])
def test_bucket_prefixes_must_be_plain_key_prefixes(demo_config, prefix):
    grant = _tenancy(demo_config)["serviceAccounts"]["serving"]["buckets"]["artifacts"]
    grant["prefixes"] = [prefix]
    assert error_of(demo_config).startswith(
        f"{SOURCE}: mlplat:tenancy.serviceAccounts.serving.buckets.artifacts.prefixes[0]: "
        f"prefix {prefix!r}")


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("monitoringNamespace", "kube-system", "cannot be trusted"),
    ("ingressNamespace", "vision-staging-serving", "is one of the team's own namespaces"),
])
def test_trusted_namespaces_are_neither_system_nor_the_teams_own(demo_config, key, value,
                                                                  fragment):
    _tenancy(demo_config)[key] = value
    message = error_of(demo_config)
    assert message.startswith(f"{SOURCE}: mlplat:tenancy") and fragment in message


def test_longest_names_still_make_valid_namespaces(demo_config):
    from mlplat.config.tenancy import NAMESPACE_PURPOSE_MAX

    demo_config["mlplat:team"] = "t" * 30
    demo_config["mlplat:env"] = "staging"
    _tenancy(demo_config)["namespaces"].append({"purpose": "p" * NAMESPACE_PURPOSE_MAX})
    env = parse(demo_config)
    assert env.tenancy is not None
    assert max(len(ns.name_in(env.name)) for ns in env.tenancy.namespaces) == 63
    _tenancy(demo_config)["namespaces"][2]["purpose"] = "p" * (NAMESPACE_PURPOSE_MAX + 1)
    assert "namespace purpose" in error_of(demo_config)
