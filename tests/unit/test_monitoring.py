"""The monitoring layer: config rules (mlplat/config/monitoring.py), the MonitoringStack
component (components/k8s/monitoring.py) and container log shipping on AWS
(components/aws/log_shipping.py), read from plans of the real offline engine.

Three plans: the demo stack; the demo with planted receiver secrets in plain config and an
ingress; and a program building the component alone as a substrate without AWS would
(tests/unit/programs/monitoring_stack), with a rule group of its own.
"""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from rich.console import Console

from components import versions
from components.k8s.monitoring import (
    ALERTMANAGER_CONFIG_SECRET,
    GRAFANA_ADMIN_SECRET,
    PROMETHEUS_SELECTOR_LABELS,
    alertmanager_config,
    check_rule_groups,
    fluent_bit_output,
)
from mlplat.config import ConfigError, environment_from_stack_config
from mlplat.config.monitoring import MonitoringConfig
from mlplat.core.paths import REPO_ROOT
from mlplat.plan import Plan, ResourceRecord, plan_environment, run_program
from mlplat.plan.mocks import digest
from mlplat.render import print_plan
from policies.rules._helpers import walk

pytestmark = pytest.mark.unit

PROGRAM = Path(__file__).parent / "programs" / "monitoring_stack"
STACK = "mlplat:k8s/monitoring:MonitoringStack"
RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
SCRAPE_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
PASSWORD = "random:index/randomPassword:RandomPassword"
HIDDEN = "[secret]"

#: Known values planted in the test stack; none may appear in a plan or its output.
PLANTED = {
    "slack": "https://hooks.slack.com/services/T0PLANT/B0PLANT/planted-webhook-4c1d",
    "pagerduty": "planted-routing-key-9f3e2b7a",
    "smtp": "planted-smtp-password-77aa",
}


def releases(plan: Plan) -> dict[str, ResourceRecord]:
    return {r.inputs["name"]: r for r in plan.of_type(RELEASE)}


def values(plan: Plan, release: str) -> dict[str, Any]:
    found: dict[str, Any] = releases(plan)[release].inputs["values"]
    return found


def monitoring_config(demo_stack_config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(demo_stack_config)
    config["mlplat:monitoring"] = {**config["mlplat:monitoring"], **changes}
    return config


def parse(config: dict[str, Any]) -> Any:
    return environment_from_stack_config(config, "stacks/Pulumi.t.yaml")


def error_of(config: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(config)
    return str(caught.value)


@pytest.fixture(scope="module")
def planted_plan(demo_stack_config: dict[str, Any]) -> Plan:
    """The demo with a receiver of each kind carrying a planted secret, given as PLAIN
    config (not marked secret): the component alone must keep them out of the plan."""
    alerting = {
        "receivers": {
            "vision-slack": {"slack": {"webhookUrl": PLANTED["slack"], "channel": "#v"}},
            "vision-pager": {"pagerduty": {"routingKey": PLANTED["pagerduty"]}},
            "platform-mail": {"email": {
                "to": "platform@example.com", "from": "alerts@example.com",
                "smarthost": "smtp.example.com:587", "authUsername": "alerts",
                "authPassword": PLANTED["smtp"]}},
        },
        "platformReceiver": "platform-mail",
        "routes": [{"team": "vision", "receiver": "vision-slack"},
                   {"team": "nlp", "receiver": "vision-pager", "continueToPlatform": True}],
    }
    config = monitoring_config(demo_stack_config, alerting=alerting,
                               grafana={"ingress": {"host": "grafana.vision.internal"}})
    return plan_environment(parse(config), "demo")


@pytest.fixture(scope="module")
def neutral_plan(demo_stack_config: dict[str, Any]) -> Plan:
    config = copy.deepcopy(demo_stack_config)
    config["mlplat:monitoring"] = {
        "dcgmExporter": False,
        "metricsServer": False,
        "hostTargets": {"nodeExporter": ["10.30.0.11", "gpu-host-2.lab.internal"],
                        "dcgmExporter": ["gpu-host-2.lab.internal"]},
        "logShipping": {"endpoint": {"host": "logs.lab.internal"}},
    }
    return run_program(stack="test", config=config, program_dir=PROGRAM)


# ------------------------------------------------------------------ config


def test_absent_means_off_and_empty_means_secure_defaults(
    demo_stack_config: dict[str, Any]
) -> None:
    config = copy.deepcopy(demo_stack_config)
    del config["mlplat:monitoring"]
    assert parse(config).monitoring is None
    config["mlplat:monitoring"] = {}
    settings = parse(config).monitoring
    assert settings is not None
    assert settings.namespace_name == "monitoring"  # tenancy.monitoringNamespace
    assert settings.grafana.ingress is None
    assert settings.log_shipping.enabled and settings.dcgm_exporter
    assert settings.alerting.receivers == {}


def test_a_receiver_is_exactly_one_kind(demo_stack_config: dict[str, Any]) -> None:
    both = {"receivers": {"x": {
        "slack": {"webhookUrl": "u", "channel": "#c"}, "pagerduty": {"routingKey": "k"}}}}
    message = error_of(monitoring_config(demo_stack_config, alerting=both))
    assert "mlplat:monitoring.alerting.receivers.x" in message
    assert "exactly one of slack, pagerduty, email (got slack, pagerduty)" in message


def test_routes_must_name_known_receivers_once_per_team(
    demo_stack_config: dict[str, Any]
) -> None:
    receivers = {"r": {"pagerduty": {"routingKey": "k"}}}
    unknown = {"receivers": receivers, "routes": [{"team": "vision", "receiver": "nope"}]}
    message = error_of(monitoring_config(demo_stack_config, alerting=unknown))
    assert "mlplat:monitoring.alerting.routes[0].receiver" in message
    assert "no receiver 'nope' (receivers: r)" in message
    twice = {"receivers": receivers, "routes": [{"team": "vision", "receiver": "r"},
                                                {"team": "vision", "receiver": "r"}]}
    assert "team 'vision' has more than one route" in error_of(
        monitoring_config(demo_stack_config, alerting=twice))


def test_retention_size_must_leave_room_on_the_volume(
    demo_stack_config: dict[str, Any]
) -> None:
    message = error_of(monitoring_config(
        demo_stack_config, prometheus={"storageSize": "50Gi", "retentionSize": "50Gi"}))
    assert "mlplat:monitoring" in message and "retentionSize (50Gi) must be below" in message


def test_namespace_must_be_the_one_team_namespaces_admit_scrapes_from(
    demo_stack_config: dict[str, Any]
) -> None:
    message = error_of(monitoring_config(demo_stack_config, namespace="metrics"))
    assert "mlplat:monitoring" in message
    assert "must be tenancy.monitoringNamespace (monitoring)" in message
    config = copy.deepcopy(demo_stack_config)
    config["mlplat:tenancy"]["monitoringNamespace"] = "observability"
    settings = parse(config).monitoring
    assert settings is not None and settings.namespace_name == "observability"


# ------------------------------------------------------------------ security of the plan


def test_charts_are_pinned_exactly_from_https_repositories(demo_plan: Plan) -> None:
    expected = {
        "kube-prometheus-stack": (versions.KUBE_PROMETHEUS_STACK_VERSION,
                                  versions.KUBE_PROMETHEUS_STACK_REPOSITORY),
        "dcgm-exporter": (versions.DCGM_EXPORTER_VERSION, versions.DCGM_EXPORTER_REPOSITORY),
        "metrics-server": (versions.METRICS_SERVER_VERSION, versions.METRICS_SERVER_REPOSITORY),
        "fluent-bit": (versions.FLUENT_BIT_VERSION, versions.FLUENT_BIT_REPOSITORY),
    }
    stack = demo_plan.one(STACK)
    ours = {r.inputs["name"]: r for r in demo_plan.children(stack.urn) if r.type == RELEASE}
    assert set(ours) == set(expected)
    for name, (version, repository) in expected.items():
        assert ours[name].inputs["version"] == version
        assert ours[name].inputs["repositoryOpts"]["repo"] == repository
        assert repository.startswith("https://")
        assert all(c.isdigit() or c == "." for c in version)


def test_grafana_has_no_anonymous_access_and_its_admin_comes_from_a_secret(
    demo_plan: Plan
) -> None:
    grafana = values(demo_plan, "kube-prometheus-stack")["grafana"]
    assert grafana["grafana.ini"]["auth.anonymous"] == {"enabled": False}
    assert grafana["admin"]["existingSecret"] == GRAFANA_ADMIN_SECRET
    secret = next(r for r in demo_plan.of_type(SECRET)
                  if r.inputs["metadata"]["name"] == GRAFANA_ADMIN_SECRET)
    assert secret.inputs["stringData"] == HIDDEN
    assert secret.inputs["metadata"]["namespace"] == "monitoring"
    for release in demo_plan.of_type(RELEASE):
        keys = {path[-1] for path, _ in walk(release.inputs["values"]) if path}
        assert not keys & {"adminPassword", "adminUser"}, release.name
    (password,) = [p for p in demo_plan.of_type(PASSWORD) if "grafana" in p.name]
    assert password.inputs["length"] >= 32 and password.inputs["special"] is False
    # What the offline engine's mocks generate for it (mlplat/plan/mocks.py) never shows.
    marker = digest("random", PASSWORD, password.name, length=int(password.inputs["length"]))
    assert marker not in demo_plan.dumps()


def test_nothing_is_exposed_outside_the_cluster(demo_plan: Plan) -> None:
    stack = demo_plan.one(STACK)
    for release in (r for r in demo_plan.children(stack.urn) if r.type == RELEASE):
        for path, value in walk(release.inputs["values"]):
            if path and path[-1] == "service" and isinstance(value, dict) and "type" in value:
                assert value["type"] == "ClusterIP", (release.inputs["name"], path)
            if path and path[-1] == "ingress" and isinstance(value, dict):
                assert value.get("enabled") is False, (release.inputs["name"], path)
    kps = values(demo_plan, "kube-prometheus-stack")
    for component in ("prometheus", "alertmanager", "grafana"):
        assert kps[component]["service"] == {"type": "ClusterIP"}
        assert kps[component]["ingress"]["enabled"] is False


def test_a_configured_ingress_is_internal(planted_plan: Plan) -> None:
    ingress = values(planted_plan, "kube-prometheus-stack")["grafana"]["ingress"]
    assert ingress["enabled"] is True and ingress["hosts"] == ["grafana.vision.internal"]
    assert ingress["ingressClassName"] == "alb"
    assert ingress["annotations"]["alb.ingress.kubernetes.io/scheme"] == "internal"


def test_volumes_use_the_encrypted_storage_class(demo_plan: Plan) -> None:
    storage_class = next(
        r for r in demo_plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
        if r.inputs["metadata"]["name"] == "gp3-encrypted")
    assert storage_class.inputs["parameters"]["encrypted"] == "true"
    assert storage_class.inputs["parameters"]["kmsKeyId"]
    kps = values(demo_plan, "kube-prometheus-stack")
    claims = [
        kps["prometheus"]["prometheusSpec"]["storageSpec"],
        kps["alertmanager"]["alertmanagerSpec"]["storage"],
    ]
    for claim in claims:
        assert claim["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3-encrypted"
    assert kps["grafana"]["persistence"]["storageClassName"] == "gp3-encrypted"
    assert kps["grafana"]["persistence"]["enabled"] is True
    assert kps["prometheus"]["prometheusSpec"]["retention"] == "15d"
    assert kps["prometheus"]["prometheusSpec"]["retentionSize"] == f"{90 * 2**30}B"


def test_receiver_secrets_never_reach_the_plan_or_its_output(planted_plan: Plan) -> None:
    document = planted_plan.dumps()
    output = io.StringIO()
    print_plan(planted_plan, Console(file=output, width=200))
    for planted in PLANTED.values():
        assert planted not in document
        assert planted not in output.getvalue()
    config_secret = next(r for r in planted_plan.of_type(SECRET)
                         if r.inputs["metadata"]["name"] == ALERTMANAGER_CONFIG_SECRET)
    assert config_secret.inputs["stringData"] == HIDDEN
    alertmanager = values(planted_plan, "kube-prometheus-stack")["alertmanager"]
    assert alertmanager["alertmanagerSpec"]["useExistingSecret"] is True
    assert alertmanager["alertmanagerSpec"]["configSecret"] == ALERTMANAGER_CONFIG_SECRET
    assert "config" not in alertmanager  # nothing inline in the chart values


def test_the_demo_stack_file_holds_receiver_credentials_only_as_secure_values() -> None:
    document = yaml.safe_load((REPO_ROOT / "stacks" / "Pulumi.demo.yaml").read_text())
    receivers = document["config"]["mlplat:monitoring"]["alerting"]["receivers"]
    secret_fields = {"webhookUrl", "routingKey", "authPassword"}
    found = [(path, value) for path, value in walk(receivers)
             if path and path[-1] in secret_fields]
    assert found
    for path, value in found:
        assert isinstance(value, dict) and set(value) == {"secure"}, path


def test_alertmanager_routes_each_team_on_its_label() -> None:
    settings = MonitoringConfig.model_validate({"alerting": {
        "receivers": {"a": {"pagerduty": {"routingKey": "x"}},
                      "p": {"slack": {"webhookUrl": "y", "channel": "#p"}}},
        "platformReceiver": "p",
        "routes": [{"team": "vision", "receiver": "a", "continueToPlatform": True}],
    }})
    config = alertmanager_config(settings, {"a": {"routing_key": "KEY"},
                                            "p": {"api_url": "URL"}})
    route = config["route"]
    assert route["receiver"] == "p"
    assert "team" in route["group_by"]
    assert route["routes"][0] == {"receiver": "null", "matchers": ['alertname="Watchdog"']}
    assert route["routes"][1] == {"receiver": "a", "matchers": ['team="vision"'],
                                  "continue": True}
    by_name = {r["name"]: r for r in config["receivers"]}
    assert by_name["a"]["pagerduty_configs"][0]["routing_key"] == "KEY"
    assert by_name["p"]["slack_configs"][0]["api_url"] == "URL"
    assert set(by_name) == {"null", "a", "p"}


def test_alerts_can_carry_the_team_label(demo_plan: Plan) -> None:
    ksm = values(demo_plan, "kube-prometheus-stack")["kube-state-metrics"]
    assert ksm["metricLabelsAllowlist"] == ["namespaces=[mlplat.io/team]"]


def test_the_monitoring_namespace_is_cluster_wide_not_a_team_namespace(
    demo_plan: Plan
) -> None:
    stack = demo_plan.one(STACK)
    (namespace,) = [r for r in demo_plan.children(stack.urn) if r.type == NAMESPACE]
    labels = namespace.inputs["metadata"]["labels"]
    assert "mlplat.io/team" not in labels
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/warn"] == "baseline"
    for child in demo_plan.children(stack.urn):
        assert "mlplat.io/team" not in child.inputs.get("metadata", {}).get("labels", {})


# ------------------------------------------------------------------ log shipping (AWS)


def test_container_logs_go_to_an_encrypted_log_group_with_retention(demo_plan: Plan) -> None:
    group = next(r for r in demo_plan.of_type(LOG_GROUP)
                 if r.inputs["name"] == "/mlplat/vision-staging/containers")
    assert group.inputs["retention_in_days"] == 90
    assert group.inputs["kms_key_id"]
    output = values(demo_plan, "fluent-bit")["config"]["outputs"]
    assert "Name cloudwatch_logs" in output
    assert "log_group_name /mlplat/vision-staging/containers" in output
    assert "auto_create_group false" in output
    assert values(demo_plan, "fluent-bit")["serviceAccount"]["name"] == "fluent-bit"


def test_fluent_bit_may_only_write_to_its_log_group(demo_plan: Plan) -> None:
    (association,) = [r for r in demo_plan.of_type(POD_IDENTITY)
                      if r.inputs["service_account"] == "fluent-bit"]
    assert association.inputs["namespace"] == "monitoring"
    policy = next(r for r in demo_plan.of_type(ROLE_POLICY) if "log-shipping" in r.name)
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert sorted(statement["Action"]) == [
        "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    assert all(":log-group:/mlplat/vision-staging/containers" in resource
               for resource in statement["Resource"])


# ------------------------------------------------------------------ without AWS


def test_without_cloudwatch_logs_go_to_the_endpoint_over_verified_tls(
    neutral_plan: Plan
) -> None:
    assert not [r for r in neutral_plan.resources if r.package == "aws"]
    output = values(neutral_plan, "fluent-bit")["config"]["outputs"]
    assert "Name forward" in output and "Host logs.lab.internal" in output
    assert "tls.verify On" in output and "cloudwatch" not in output
    settings = MonitoringConfig.model_validate({})
    with pytest.raises(Exception, match=r"logShipping\.endpoint is required"):
        fluent_bit_output(settings, None)


def test_switched_off_parts_are_not_installed(neutral_plan: Plan) -> None:
    assert set(releases(neutral_plan)) == {"kube-prometheus-stack", "fluent-bit"}
    kps = values(neutral_plan, "kube-prometheus-stack")
    assert "kubeEtcd" not in kps  # a self-managed control plane is scraped


def test_host_exporters_are_scraped_on_the_ports_the_ansible_roles_open(
    neutral_plan: Plan
) -> None:
    roles = REPO_ROOT / "ansible" / "roles"
    node_port = yaml.safe_load((roles / "node_exporter/defaults/main.yml").read_text())[
        "node_exporter_port"]
    dcgm_port = yaml.safe_load((roles / "dcgm_exporter/defaults/main.yml").read_text())[
        "dcgm_exporter_port"]
    (scrape,) = neutral_plan.of_type(SCRAPE_CONFIG)
    targets = {group["labels"]["exporter"]: group["targets"]
               for group in scrape.inputs["spec"]["staticConfigs"]}
    assert targets == {
        "node-exporter": [f"10.30.0.11:{node_port}", f"gpu-host-2.lab.internal:{node_port}"],
        "dcgm-exporter": [f"gpu-host-2.lab.internal:{dcgm_port}"],
    }
    assert scrape.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_rule_groups_become_prometheus_rules_the_stack_selects(neutral_plan: Plan) -> None:
    rule_groups = json.loads((PROGRAM / "rule_groups.json").read_text())
    (rule,) = neutral_plan.of_type(PROMETHEUS_RULE)
    assert rule.inputs["metadata"]["name"] == "mlplat-test-gpu"
    assert rule.inputs["spec"]["groups"] == rule_groups
    selector = values(neutral_plan, "kube-prometheus-stack")["prometheus"]["prometheusSpec"][
        "ruleSelector"]
    assert selector == {"matchLabels": dict(PROMETHEUS_SELECTOR_LABELS)}
    for key, value in PROMETHEUS_SELECTOR_LABELS.items():
        assert rule.inputs["metadata"]["labels"][key] == value


@pytest.mark.parametrize(("groups", "message"), [
    ([{"name": "g", "rules": []}], "has no rules"),
    ([{"name": "g", "rules": [{"alert": "A"}]}], "needs exactly one of alert/record"),
    ([{"name": "g", "rules": [{"alert": "A", "record": "r", "expr": "up"}]}],
     "needs exactly one of alert/record"),
    ([{"name": "g", "rules": [{"alert": "A", "expr": "up"}]},
      {"name": "G", "rules": [{"alert": "B", "expr": "up"}]}], "repeats"),
])
def test_malformed_rule_groups_are_refused(groups: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(Exception, match=message):
        check_rule_groups(groups)


def test_core_objects_are_valid_for_the_cluster_version(
    demo_plan: Plan, neutral_plan: Plan
) -> None:
    """kubernetes-validate --strict on every core object of the component (custom resources:
    test_monitoring_crds.py; Helm releases are not Kubernetes objects)."""
    version = demo_plan.one("aws:eks/cluster:Cluster").inputs["version"]
    checked = 0
    for plan in (demo_plan, neutral_plan):
        stack = plan.one(STACK)
        for record in plan.children(stack.urn):
            if (record.package != "kubernetes" or record.type == RELEASE
                    or "monitoring.coreos.com" in record.type):
                continue
            manifest = dict(record.inputs)
            if manifest.get("stringData") == HIDDEN:
                manifest["stringData"] = {}
            kubernetes_validate.validate(manifest, version, strict=True)
            checked += 1
    # namespace, two Secrets and five dashboards per plan
    assert checked == 2 * (1 + 2 + 5)


@pytest.mark.cli
def test_mlplat_plan_never_prints_or_writes_a_planted_receiver_secret(tmp_path: Path) -> None:
    """The command a reviewer runs, on a stack file whose webhook URL was (wrongly) written
    in plain text: neither its output nor its JSON holds the URL."""
    document = yaml.safe_load((REPO_ROOT / "stacks" / "Pulumi.demo.yaml").read_text())
    slack = document["config"]["mlplat:monitoring"]["alerting"]["receivers"]["vision-slack"]
    slack["slack"]["webhookUrl"] = PLANTED["slack"]
    (tmp_path / "Pulumi.demo.yaml").write_text(yaml.safe_dump(document))
    env = {**os.environ, "MLPLAT_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "mlplat.cli", "plan", "demo", "--stack-dir", str(tmp_path),
         "--json", str(tmp_path / "plan.json")],
        capture_output=True, text=True, timeout=300, check=False, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert "MonitoringStack" in done.stdout
    for text in (done.stdout, done.stderr, (tmp_path / "plan.json").read_text()):
        assert PLANTED["slack"] not in text
