"""Plan-level tests of the MetadataDb component and the environment's alarm topic: every
security and resilience setting a reviewer relies on without a cloud (network exposure,
encryption, the managed master password, TLS, backups, tier rules, logs, alarms), for dev,
prod and ephemeral environments.

Environments are planned through the real offline engine (`plan_environment`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from data_store_plans import EPHEMERAL, REGION, plan_of

from components.aws.metadata_db import LOG_EXPORTS, POSTGRES_PORT
from mlplat.plan import SECRET, Plan, ResourceRecord
from mlplat.plan.mocks import digest

pytestmark = pytest.mark.unit

COMPONENT = "mlplat:aws/metadata_db:MetadataDb"
INSTANCE = "aws:rds/instance:Instance"
KEY = "aws:kms/key:Key"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def ephemeral_plan() -> Plan:
    return plan_of("dev", **EPHEMERAL)


def children(plan: Plan, type_token: str) -> list[ResourceRecord]:
    component = plan.one(COMPONENT)
    return [r for r in plan.children(component.urn) if r.type == type_token]


def db_of(plan: Plan) -> dict[str, Any]:
    (instance,) = children(plan, INSTANCE)
    return instance.inputs


def db_key_arn(plan: Plan) -> str:
    arn: str = db_of(plan)["kms_key_id"]
    return arn


def mock_id(type_token: str, name: str, prefix: str) -> str:
    """The id the offline mocks give a resource (see mlplat/plan/mocks.py)."""
    return prefix + digest(type_token, name)


TIERS = ["dev", "prod"]


# ------------------------------------------------------------------ network exposure


@pytest.mark.parametrize("env", TIERS)
def test_database_is_private_in_the_private_subnets(env: str) -> None:
    plan = plan_of(env)
    db = db_of(plan)
    assert db["publicly_accessible"] is False
    (subnets,) = children(plan, "aws:rds/subnetGroup:SubnetGroup")
    assert subnets.inputs["subnet_ids"] == plan.outputs["private_subnet_ids"]
    assert len(subnets.inputs["subnet_ids"]) == 3
    assert db["db_subnet_group_name"] == subnets.name  # the mocks' name for a prefixed group
    assert db["port"] == POSTGRES_PORT


@pytest.mark.parametrize("env", TIERS)
def test_postgres_is_reachable_only_from_the_cluster_node_group(env: str) -> None:
    plan = plan_of(env)
    (group,) = children(plan, SECURITY_GROUP)
    group_id = mock_id(SECURITY_GROUP, group.name, "sg-")
    node_group = mock_id(SECURITY_GROUP, f"vision-{env}-cluster-node-sg", "sg-")
    assert db_of(plan)["vpc_security_group_ids"] == [group_id]
    rules = [r for r in plan.of_type(INGRESS) if r.inputs["security_group_id"] == group_id]
    assert len(rules) == 1
    rule = rules[0].inputs
    assert rule["referenced_security_group_id"] == node_group
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 5432, 5432)
    assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    assert not [r for r in plan.of_type(EGRESS) if r.inputs["security_group_id"] == group_id]


# ------------------------------------------------------------------ encryption, credentials


@pytest.mark.parametrize("env", TIERS)
def test_storage_insights_and_secret_use_the_rotating_customer_key(env: str) -> None:
    plan = plan_of(env)
    db = db_of(plan)
    keys = {r.name: r for r in children(plan, KEY)}
    key = keys[f"vision-{env}-metadata-key"]
    assert key.inputs["enable_key_rotation"] is True
    assert db["storage_encrypted"] is True
    key_arn = db_key_arn(plan)
    assert key_arn.startswith(f"arn:aws:kms:{REGION}:111122223333:key/")
    assert db["performance_insights_enabled"] is True
    assert db["performance_insights_kms_key_id"] == key_arn
    assert db["master_user_secret_kms_key_id"] == key_arn
    policy = json.loads(key.inputs["policy"])
    assert [s["Principal"] for s in policy["Statement"]] == [
        {"AWS": "arn:aws:iam::111122223333:root"}]


@pytest.mark.parametrize("env", TIERS)
def test_master_password_is_managed_by_rds_and_never_in_the_plan(env: str) -> None:
    plan = plan_of(env)
    db = db_of(plan)
    assert db["manage_master_user_password"] is True
    assert db["username"] == "mlplat_admin"
    password_inputs = {"password", "password_wo", "password_wo_version"}
    assert not [r.name for r in plan if password_inputs & set(r.inputs)]
    # Had one been set, the provider marks it secret: the plan would show only the marker.
    (instance,) = children(plan, INSTANCE)
    assert "password" in instance.options["additional_secret_outputs"]
    # Nothing of the database is a secret value the plan had to mask: there is none.
    component = plan.one(COMPONENT)
    assert SECRET not in json.dumps([r.inputs for r in plan.children(component.urn)])
    assert plan.outputs["metadata_db_secret_arn"].startswith(
        f"arn:aws:secretsmanager:{REGION}:111122223333:secret:rds!db-")


@pytest.mark.parametrize("env", TIERS)
def test_iam_authentication_and_tls_only(env: str) -> None:
    plan = plan_of(env)
    db = db_of(plan)
    assert db["iam_database_authentication_enabled"] is True
    (group,) = children(plan, "aws:rds/parameterGroup:ParameterGroup")
    assert group.inputs["family"] == "postgres17"
    parameters = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert parameters == {"rds.force_ssl": "1", "log_connections": "1",
                          "log_disconnections": "1"}
    assert db["parameter_group_name"] == group.name
    assert group.inputs["name_prefix"] == f"vision-{env}-metadata-"


def test_parameter_group_family_follows_the_major_version() -> None:
    plan = ephemeral_plan()
    (group,) = children(plan, "aws:rds/parameterGroup:ParameterGroup")
    assert group.inputs["family"] == "postgres16"
    assert db_of(plan)["engine_version"] == "16"


# ------------------------------------------------------------------ engine and storage


@pytest.mark.parametrize("env", TIERS)
def test_engine_storage_and_maintenance(env: str) -> None:
    db = db_of(plan_of(env))
    assert (db["engine"], db["engine_version"]) == ("postgres", "17")
    assert db["identifier"] == f"vision-{env}-metadata"
    assert db["instance_class"] == "db.t4g.medium"
    assert db["storage_type"] == "gp3"
    assert (db["allocated_storage"], db["max_allocated_storage"]) == (20, 100)
    assert db["auto_minor_version_upgrade"] is True
    assert db["copy_tags_to_snapshot"] is True
    assert db["performance_insights_retention_period"] == 7
    assert db["tags"]["cost-center"] == "cc-4711"


# ------------------------------------------------------------------ tiers


def test_prod_is_multi_az_protected_and_keeps_two_weeks_of_backups() -> None:
    db = db_of(plan_of("prod"))
    assert db["multi_az"] is True
    assert db["backup_retention_period"] == 14
    assert db["deletion_protection"] is True
    assert db["skip_final_snapshot"] is False
    assert db["final_snapshot_identifier"] == "vision-prod-metadata-final"
    assert db["delete_automated_backups"] is False


def test_dev_keeps_a_week_of_backups_and_a_final_snapshot() -> None:
    db = db_of(plan_of("dev"))
    assert db["multi_az"] is False
    assert db["backup_retention_period"] == 7
    assert db["deletion_protection"] is False
    assert db["skip_final_snapshot"] is False
    assert db["final_snapshot_identifier"] == "vision-dev-metadata-final"
    assert db["delete_automated_backups"] is False


def test_ephemeral_environment_skips_the_final_snapshot() -> None:
    db = db_of(ephemeral_plan())
    assert db["skip_final_snapshot"] is True
    assert "final_snapshot_identifier" not in db
    assert db["delete_automated_backups"] is True
    assert db["backup_retention_period"] == 10
    assert db["instance_class"] == "db.m7g.large"
    assert db["performance_insights_retention_period"] == 31


# ------------------------------------------------------------------ logs


@pytest.mark.parametrize("env", TIERS)
def test_exported_logs_land_in_precreated_encrypted_log_groups(env: str) -> None:
    plan = plan_of(env)
    (instance,) = children(plan, INSTANCE)
    assert instance.inputs["enabled_cloudwatch_logs_exports"] == list(LOG_EXPORTS) == [
        "postgresql", "upgrade"]
    groups = {r.inputs["name"]: r for r in children(plan, "aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {f"/aws/rds/instance/vision-{env}-metadata/{t}" for t in LOG_EXPORTS}
    for group in groups.values():
        assert group.inputs["kms_key_id"].startswith("arn:aws:kms:")
        assert group.inputs["kms_key_id"] != db_key_arn(plan)  # CloudWatch's own keys
        assert group.inputs["retention_in_days"] == 90
        assert group.urn in instance.dependencies


# ------------------------------------------------------------------ alarms and topic


def _alarms(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["metric_name"]: r.inputs for r in children(plan, ALARM)}


@pytest.mark.parametrize("env", TIERS)
def test_alarms_notify_the_environment_topic(env: str) -> None:
    plan = plan_of(env)
    (topic,) = plan.of_type("aws:sns/topic:Topic")
    topic_arn = f"arn:aws:sns:{REGION}:111122223333:topic/" + mock_id(
        "aws:sns/topic:Topic", topic.name, f"{topic.name}-")
    alarms = _alarms(plan)
    assert set(alarms) == {"CPUUtilization", "FreeStorageSpace", "DatabaseConnections"}
    for alarm in alarms.values():
        assert alarm["namespace"] == "AWS/RDS"
        # The plan normaliser snake-cases this map's key (`DBInstanceIdentifier` is sent to
        # AWS as written); compare the one value.
        assert list(alarm["dimensions"].values()) == [f"vision-{env}-metadata"]
        assert alarm["alarm_actions"] == alarm["ok_actions"] == [topic_arn]
    assert alarms["CPUUtilization"]["threshold"] == 80
    assert alarms["CPUUtilization"]["comparison_operator"] == "GreaterThanThreshold"
    assert alarms["FreeStorageSpace"]["threshold"] == 5 * 1024**3
    assert alarms["FreeStorageSpace"]["comparison_operator"] == "LessThanThreshold"
    assert alarms["DatabaseConnections"]["threshold"] == 200


def test_alarm_thresholds_follow_config() -> None:
    alarms = _alarms(ephemeral_plan())
    assert alarms["CPUUtilization"]["threshold"] == 90
    assert alarms["FreeStorageSpace"]["threshold"] == 10 * 1024**3
    assert alarms["DatabaseConnections"]["threshold"] == 50


@pytest.mark.parametrize("env", TIERS)
def test_alarm_topic_is_encrypted_and_only_cloudwatch_of_this_account_publishes(
    env: str,
) -> None:
    plan = plan_of(env)
    (topic,) = plan.of_type("aws:sns/topic:Topic")
    keys = {r.name: r for r in plan.of_type(KEY)}
    key = keys[f"vision-{env}-alarms-key"]
    assert key.inputs["enable_key_rotation"] is True
    assert topic.inputs["kms_master_key_id"] == (
        f"arn:aws:kms:{REGION}:111122223333:key/{digest('kms', key.name, length=32)}")
    key_statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert key_statements["CloudWatchAlarmsPublish"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"}
    assert key_statements["CloudWatchAlarmsPublish"]["Action"] == [
        "kms:Decrypt", "kms:GenerateDataKey*"]
    (policy,) = plan.of_type("aws:sns/topicPolicy:TopicPolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["CloudWatchAlarmsOfThisAccount"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:111122223333:alarm:*"},
    }
    assert statements["DenyNonTlsAccess"]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}}


def test_no_database_and_no_topic_without_the_block() -> None:
    plan = plan_of("dev", metadataDb=None)
    assert not plan.of_type(COMPONENT)
    assert not plan.of_type("aws:sns/topic:Topic")
    assert "metadata_db_address" not in plan.outputs
