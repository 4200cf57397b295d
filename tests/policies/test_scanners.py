"""Second opinions from third-party scanners on every shipped stack, all offline:

- checkov (`terraform_plan` framework on the plan exported by `mlplat.audit.tfplan`, and its
  `kubernetes` framework on the plan's Kubernetes objects): no failed check without an entry
  in `stacks/checkov-waivers.yaml`, and no entry that no longer applies;
- parliament (community auditors) and cloudsplaining on every IAM identity policy and role
  trust policy: no privilege escalation, credential exposure or resource exposure, other
  findings only as listed below;
- detect-secrets over the repository and over every shipped stack's plan.

The scanners live in `.venv-scanners` (`make scanners`; `make test` builds it) because
checkov pins dozens of packages of its own; they run as programs.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplat.audit.tfplan import kubernetes_manifests, terraform_plan, terraform_type
from mlplat.core.paths import REPO_ROOT, STACKS_DIR
from mlplat.plan import Plan, plan_stack
from mlplat.stackfile import available_stacks
from policies.rules.s3 import RULES as S3_RULES

pytestmark = pytest.mark.scanners

SCANNERS_BIN = REPO_ROOT / ".venv-scanners" / "bin"
WAIVERS_FILE = STACKS_DIR / "checkov-waivers.yaml"
SHIPPED_STACKS = available_stacks()


def scanner(program: str) -> str:
    path = SCANNERS_BIN / program
    if not path.exists():
        pytest.fail(f"{path} missing: run `make scanners` (make test does)")
    return str(path)


@pytest.fixture(scope="module")
def shipped_plans() -> dict[str, Plan]:
    return {stack: plan_stack(stack) for stack in SHIPPED_STACKS}


# ------------------------------------------------------------------ the export itself


@pytest.mark.parametrize(("token", "expected"), [
    ("aws:s3/bucket:Bucket", "aws_s3_bucket"),
    ("aws:ec2/vpc:Vpc", "aws_vpc"),
    ("aws:eks/cluster:Cluster", "aws_eks_cluster"),
    ("aws:rds/instance:Instance", "aws_db_instance"),
    ("aws:iam/role:Role", "aws_iam_role"),
    ("aws:kms/key:Key", "aws_kms_key"),
    ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
    ("aws:ec2/routeTableAssociation:RouteTableAssociation", "aws_route_table_association"),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
     "aws_vpc_security_group_ingress_rule"),
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
     "aws_s3_bucket_public_access_block"),
])
def test_pulumi_tokens_map_to_terraform_types(token: str, expected: str) -> None:
    assert terraform_type(token) == expected


def _resources(exported: dict[str, Any], tf_type: str) -> list[dict[str, Any]]:
    return [r for r in exported["planned_values"]["root_module"]["resources"]
            if r["type"] == tf_type]


def test_export_has_blocks_as_lists_and_references_to_dependencies(demo_plan: Plan) -> None:
    exported = terraform_plan(demo_plan)
    assert {c["change"]["actions"][0] for c in exported["resource_changes"]} == {"create"}
    (cluster,) = _resources(exported, "aws_eks_cluster")
    assert isinstance(cluster["values"]["vpc_config"], list)
    assert len(cluster["values"]["vpc_config"]) == 1
    assert isinstance(cluster["values"]["tags"], dict)  # a map stays a map
    (lifecycle, *_) = _resources(exported, "aws_s3_bucket_lifecycle_configuration")
    assert "rule" in lifecycle["values"] and "rules" not in lifecycle["values"]
    configured = {r["address"]: r["expressions"]
                  for r in exported["configuration"]["root_module"]["resources"]}
    blocks = [a for a in configured if a.startswith("aws_s3_bucket_public_access_block.")]
    assert len(blocks) == len(_resources(exported, "aws_s3_bucket"))
    for address in blocks:
        references = configured[address]["bucket"]["references"]
        assert references[0].startswith("aws_s3_bucket.") and references[0].endswith(".id")
        assert references[1] in configured
    # A constant that is no dependency's id stays a constant.
    assert configured[blocks[0]]["block_public_acls"] == {"constant_value": True}


# ------------------------------------------------------------------ checkov


@dataclass(frozen=True)
class CheckovWaiver:
    check: str
    resource: str
    reason: str

    def covers(self, failure: tuple[str, str]) -> bool:
        return failure[0] == self.check and fnmatch.fnmatchcase(failure[1], self.resource)


def load_checkov_waivers() -> list[CheckovWaiver]:
    entries = yaml.safe_load(WAIVERS_FILE.read_text())
    waivers = [CheckovWaiver(**entry) for entry in entries]
    for waiver in waivers:
        assert len(waiver.reason) > 40, f"{waiver.check}: say why the check does not apply"
    return waivers


def run_checkov(framework: str, target: Path) -> list[tuple[str, str]]:
    """Failed checks of one offline checkov run as (check id, resource address)."""
    flag = "-d" if target.is_dir() else "-f"
    done = subprocess.run(
        [scanner("checkov"), "--framework", framework, flag, str(target), "--skip-download",
         "-o", "json", "--quiet", "--compact"],
        capture_output=True, text=True, timeout=600, check=False)
    # checkov exits 1 when a check fails; anything else (or no JSON) is a broken run.
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    reports = report if isinstance(report, list) else [report]
    failures: list[tuple[str, str]] = []
    for one in reports:
        if not one or one.get("resource_count") == 0:
            continue  # nothing of this framework to check (a plan without workloads)
        assert one["summary"]["parsing_errors"] == 0, one["summary"]
        assert one["summary"]["passed"] > 0, one["summary"]
        failures += [(c["check_id"], c["resource"]) for c in one["results"]["failed_checks"]]
    return failures


@pytest.fixture(scope="module")
def checkov_failures(shipped_plans: dict[str, Plan], tmp_path_factory: pytest.TempPathFactory
                     ) -> dict[str, list[tuple[str, str]]]:
    """Failed checks per stack, both frameworks."""
    failures: dict[str, list[tuple[str, str]]] = {}
    for stack, plan in shipped_plans.items():
        directory = tmp_path_factory.mktemp(f"checkov-{stack}")
        tfplan = directory / "plan.tf.json"
        tfplan.write_text(json.dumps(terraform_plan(plan)))
        manifests = directory / "k8s"
        manifests.mkdir()
        (manifests / "objects.yaml").write_text(
            yaml.safe_dump_all([m for _, m in kubernetes_manifests(plan)]))
        failures[stack] = (run_checkov("terraform_plan", tfplan)
                           + run_checkov("kubernetes", manifests))
    return failures


def test_every_failed_checkov_check_is_waived_and_every_waiver_used(
    checkov_failures: dict[str, list[tuple[str, str]]],
) -> None:
    waivers = load_checkov_waivers()
    used: set[CheckovWaiver] = set()
    unwaived = []
    for stack, failures in checkov_failures.items():
        for failure in failures:
            waiver = next((w for w in waivers if w.covers(failure)), None)
            if waiver is None:
                unwaived.append((stack, *failure))
            else:
                used.add(waiver)
    assert unwaived == [], "failed checkov checks without a waiver in stacks/checkov-waivers.yaml"
    assert [w for w in waivers if w not in used] == [], "waivers that no longer apply"


def test_checkov_sees_through_rebuilt_references(
    demo_plan: Plan, checkov_failures: dict[str, list[tuple[str, str]]],
    tmp_path: Path,
) -> None:
    """The bucket checks that look at other resources (public access block, versioning,
    logging) pass only because the export rebuilds references: without them they fail."""
    cross_resource = {"CKV2_AWS_6", "CKV_AWS_21", "CKV_AWS_18"}
    assert not {check for check, _ in checkov_failures["demo"]} & cross_resource
    exported = terraform_plan(demo_plan)
    exported["configuration"]["root_module"]["resources"] = [
        {**r, "expressions": {}} for r in exported["configuration"]["root_module"]["resources"]]
    tfplan = tmp_path / "plan.tf.json"
    tfplan.write_text(json.dumps(exported))
    failed = {check for check, _ in run_checkov("terraform_plan", tfplan)}
    assert "CKV2_AWS_6" in failed  # "bucket has a public access block"


def test_where_checkov_and_our_rules_disagree_on_the_log_bucket_we_are_right(
    demo_plan: Plan, checkov_failures: dict[str, list[tuple[str, str]]],
) -> None:
    """checkov CKV_AWS_145 wants SSE-KMS on every bucket; our MLP-S3-001 exempts the server
    access log target, because S3 log delivery writes only to SSE-S3 buckets. The bucket
    checkov flags is exactly the logging target, encrypted with AES256."""
    flagged = {resource for check, resource in checkov_failures["demo"]
               if check == "CKV_AWS_145"}
    targets = {r.inputs["target_bucket"] for r in demo_plan.of_type(
        "aws:s3/bucketLogging:BucketLogging")}
    assert len(targets) == 1
    (log_bucket,) = [b for b in demo_plan.of_type("aws:s3/bucket:Bucket")
                     if any(t.startswith(b.inputs["bucket_prefix"]) for t in targets)]
    assert flagged == {f"aws_s3_bucket.{log_bucket.name}"}
    encryption = next(r for r in demo_plan.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        if r.inputs["bucket"] in targets)
    (rule,) = encryption.inputs["rules"]
    assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    (kms_rule,) = [r for r in S3_RULES if r.id == "MLP-S3-001"]
    assert list(kms_rule.run(demo_plan)) == []


# ------------------------------------------------------------------ IAM lint

#: The kinds of policy document linted, by resource type and input. Resource policies (KMS
#: key, bucket, queue, topic and file-system policies) are not: parliament and cloudsplaining
#: judge what a principal may do, and the rule set plus test_tenancy.py judge those.
LINTED = {("aws:iam/rolePolicy:RolePolicy", "policy"): "identity",
          ("aws:iam/policy:Policy", "policy"): "identity",
          ("aws:iam/role:Role", "assume_role_policy"): "trust"}

#: Risks that must never appear, from either tool.
FORBIDDEN = {"PRIVILEGE_ESCALATION", "CREDENTIALS_EXPOSURE", "RESOURCE_EXPOSURE"}

#: Accepted findings: (document name suffix, tool, issue) -> why. An entry that no longer
#: matches a finding fails the test, so the list only ever shrinks to what is true.
IAM_ALLOWED: dict[tuple[str, str, str], str] = {
    ("-role", "parliament", "MALFORMED"):
        "trust policies have no Resource; parliament reads every document as an identity "
        "policy and reports the missing element",
    ("-ebs-csi-key-policy", "parliament", "PERMISSIONS_MANAGEMENT_ACTIONS"):
        "kms:CreateGrant on the one volume key, only for AWS resources: EC2 needs grants to "
        "attach encrypted volumes",
    ("-controller-policy", "parliament", "PERMISSIONS_MANAGEMENT_ACTIONS"):
        "Karpenter creates and tags the node instance profiles and passes the node role; each "
        "statement is scoped by the cluster tag or to the one role ARN",
    ("-controller-policy", "parliament", "RESOURCE_MISMATCH"):
        "Karpenter's policy splits ec2:RunInstances/CreateFleet by resource type across "
        "statements (parliament wants every type in each); the SSM public-parameter ARN has "
        "no account field",
    ("-aws-load-balancer-controller-policy", "parliament", "UNKNOWN_CONDITION_FOR_ACTION"):
        "elasticloadbalancing:Scheme (the key that keeps load balancers internal, AWS since "
        "Nov 2023) and elasticloadbalancing:CreateAction are newer than parliament's table",
    ("-aws-load-balancer-controller-policy", "parliament", "UNKNOWN_ACTION"):
        "elasticloadbalancing:ModifyIpPools (IPAM pools, in the controller's upstream policy) "
        "is newer than parliament's table",
    ("-flow-logs-write", "parliament", "RESOURCE_MISMATCH"):
        "logs:DescribeLogGroups is scoped to the account's log groups; parliament's action "
        "table says it takes only `*` (reported: the fix is Resource `*` for that action)",
}


def iam_documents(plan: Plan) -> list[dict[str, str]]:
    return [{"where": record.name, "kind": LINTED[(record.type, key)], "policy": value}
            for record in plan.managed() for key, value in record.inputs.items()
            if (record.type, key) in LINTED]


@pytest.fixture(scope="module")
def iam_findings(shipped_plans: dict[str, Plan]) -> list[dict[str, str]]:
    documents = [d for plan in shipped_plans.values() for d in iam_documents(plan)]
    kinds = {d["kind"] for d in documents}
    assert kinds == {"identity", "trust"}, kinds
    done = subprocess.run(
        [scanner("python"), str(REPO_ROOT / "scripts" / "iam_lint.py")],
        input=json.dumps(documents), capture_output=True, text=True, timeout=600, check=True)
    findings: list[dict[str, str]] = json.loads(done.stdout)
    return findings


def test_no_iam_document_escalates_exposes_credentials_or_resources(
    shipped_plans: dict[str, Plan], iam_findings: list[dict[str, str]],
) -> None:
    """cloudsplaining reports none of the three risks. parliament's community auditor flags
    iam:PassRole next to ec2:RunInstances in Karpenter's controller policy whatever the
    scope; the escalation it fears needs PassRole on a role of the caller's choosing, so
    the test holds the one thing that prevents it: PassRole names only the node role and
    only for EC2."""
    risky = [f for f in iam_findings if f["issue"] in FORBIDDEN]
    assert [f for f in risky if f["tool"] == "cloudsplaining"] == []
    policies = [r for plan in shipped_plans.values()
                for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")]
    assert {(f["where"], f["issue"]) for f in risky} <= {
        (r.name, "PRIVILEGE_ESCALATION") for r in policies
        if r.name.endswith("-gpu-controller-policy")}
    for record in policies:
        environment = record.name.split("-gpu-")[0]  # `<team>-<env>` prefixes every name
        for statement in json.loads(record.inputs["policy"])["Statement"]:
            actions = statement["Action"]
            if "iam:PassRole" in ([actions] if isinstance(actions, str) else actions):
                assert statement["Resource"].endswith(f":role/{environment}-gpu-node-role")
                assert statement["Condition"] == {
                    "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_other_iam_findings_are_listed_with_reasons(iam_findings: list[dict[str, str]]) -> None:
    used: set[tuple[str, str, str]] = set()
    unlisted = []
    for finding in iam_findings:
        if finding["issue"] == "PRIVILEGE_ESCALATION":
            continue  # judged above
        entry = next((key for key in IAM_ALLOWED if finding["where"].endswith(key[0])
                      and (finding["tool"], finding["issue"]) == key[1:]), None)
        if entry is None:
            unlisted.append(finding)
        else:
            used.add(entry)
    assert unlisted == []
    assert set(IAM_ALLOWED) - used == set(), "allow-list entries that no longer apply"


def test_the_linters_catch_what_they_are_trusted_for() -> None:
    wide = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances",
                                       "iam:CreateAccessKey", "s3:PutBucketPolicy"],
         "Resource": "*"}]})
    done = subprocess.run(
        [scanner("python"), str(REPO_ROOT / "scripts" / "iam_lint.py")],
        input=json.dumps([{"where": "wide", "kind": "identity", "policy": wide}]),
        capture_output=True, text=True, timeout=600, check=True)
    issues = {(f["tool"], f["issue"]) for f in json.loads(done.stdout)}
    assert {("cloudsplaining", "PRIVILEGE_ESCALATION"), ("cloudsplaining", "CREDENTIALS_EXPOSURE"),
            ("cloudsplaining", "RESOURCE_EXPOSURE"), ("parliament", "RESOURCE_STAR")} <= issues


# ------------------------------------------------------------------ secrets

SECRETS_BASELINE = Path(__file__).with_name("secrets_baseline.yaml")
GOLDEN_PLANS = REPO_ROOT / "plans"


def detect_secrets(*paths: str, cwd: Path = REPO_ROOT) -> set[tuple[str, str, str]]:
    """(file, detector, hash) of every finding; no paths: the repository's tracked files."""
    # The baseline holds only detect-secrets' own hashes, which look like hex secrets.
    done = subprocess.run([scanner("detect-secrets"), "scan", "-n", "--exclude-files",
                           r"tests/policies/secrets_baseline\.yaml$", *paths], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=True)
    results: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)["results"]
    return {(file, item["type"], item["hashed_secret"])
            for file, items in results.items() for item in items}


def secrets_baseline() -> dict[tuple[str, str, str], str]:
    entries = yaml.safe_load(SECRETS_BASELINE.read_text())
    return {(e["file"], e["type"], e["hashed_secret"]): e["reason"] for e in entries}


def test_no_secret_in_the_repository_outside_the_baseline() -> None:
    found = detect_secrets()
    baseline = secrets_baseline()
    assert sorted(found - set(baseline)) == [], "possible secrets: remove or justify them"
    assert sorted(set(baseline) - found) == [], "baseline entries that no longer apply"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_plans_hold_no_secret(stack: str, shipped_plans: dict[str, Plan],
                              tmp_path: Path) -> None:
    """The committed snapshot and a freshly generated plan JSON: only the findings the
    baseline explains for the snapshot (ARN of the managed secret, `http_tokens`, ...)."""
    snapshot = GOLDEN_PLANS / f"{stack}.json"
    generated = tmp_path / f"{stack}.json"
    generated.write_text(shipped_plans[stack].dumps())
    explained = {(kind, digest) for (file, kind, digest) in secrets_baseline()
                 if file == snapshot.relative_to(REPO_ROOT).as_posix()}
    for path in (snapshot, generated):
        found = {(kind, digest) for _, kind, digest in
                 detect_secrets(path.name, cwd=path.parent)}
        assert found - explained == set(), path


def test_detect_secrets_finds_a_leaked_key(tmp_path: Path) -> None:
    leaked = tmp_path / "plan.json"
    leaked.write_text(json.dumps({"password": "Zq8!vN2#rT5@wL9x", "key": "AKIAIOSFODNN7EXAMPLE"},
                                 indent=1))
    kinds = {kind for _, kind, _ in detect_secrets(leaked.name, cwd=tmp_path)}
    assert {"AWS Access Key", "Secret Keyword"} <= kinds
