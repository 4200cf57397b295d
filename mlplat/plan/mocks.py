"""Deterministic answers for resources and data sources under Pulumi's mock runtime.

Every id, ARN and endpoint is derived from the resource's type and name, so two runs of
the same program give identical plans. Data sources that mlplat's components call are
answered here; any other call is an error (an unmocked call would silently return `{}`
and let a component build on nothing).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi

#: AWS's documentation example account: obviously not a real one.
MOCK_ACCOUNT_ID = "111122223333"

# Short id prefixes EC2 uses, so plans read like real ones.
_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/flowLog:FlowLog": "fl-",
}


def digest(*parts: str, length: int = 17) -> str:
    """A stable hex digest of the parts."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _service(type_token: str) -> str:
    """`aws:ec2/vpc:Vpc` -> `ec2`."""
    module = type_token.split(":")[1] if type_token.count(":") >= 2 else "index"
    return module.split("/")[0]


def _kind(type_token: str) -> str:
    """`aws:ec2/vpc:Vpc` -> `vpc`."""
    return type_token.rsplit(":", 1)[-1].lower()


class DeterministicMocks(pulumi.runtime.Mocks):
    """Mocks whose outputs are the inputs plus stable ids, ARNs and endpoints."""

    def __init__(self, region: str) -> None:
        self.region = region

    # ------------------------------------------------------------------ resources

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        resource_id = _ID_PREFIXES.get(typ, f"{name}-") + digest(typ, name)
        outputs: dict[str, Any] = dict(inputs)
        if typ.startswith("aws:"):
            outputs.update(self._aws_outputs(typ, name, inputs, resource_id))
            if typ == "aws:s3/bucket:Bucket":
                resource_id = outputs["bucket"]  # a bucket's id is its name
        elif typ.startswith("kubernetes:"):
            outputs.update(self._kubernetes_outputs(typ, name, inputs))
        elif typ.startswith("random:"):
            outputs.update(self._random_outputs(typ, name, inputs))
        return resource_id, outputs

    def _aws_outputs(
        self, typ: str, name: str, inputs: dict[str, Any], resource_id: str
    ) -> dict[str, Any]:
        physical = str(inputs.get("name") or inputs.get("bucket") or name)
        service = _service(typ)
        if service == "iam":
            arn = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:{_kind(typ)}/{physical}"
        elif service == "s3":
            arn = f"arn:aws:s3:::{physical}"
        else:
            arn = f"arn:aws:{service}:{self.region}:{MOCK_ACCOUNT_ID}:{_kind(typ)}/{resource_id}"
        out: dict[str, Any] = {"arn": arn, "name": physical}
        if "tags" in inputs:
            out["tagsAll"] = inputs["tags"]
        if typ == "aws:eks/cluster:Cluster":
            host = digest("endpoint", physical, length=32).upper()
            out.update({
                "endpoint": f"https://{host}.gr7.{self.region}.eks.amazonaws.com",
                "certificateAuthority": {"data": "TU9DSy1DQQ=="},
                "identities": [{"oidcs": [{
                    "issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{host}"}]}],
                "vpcConfig": {**(inputs.get("vpcConfig") or {}),
                              "clusterSecurityGroupId": "sg-" + digest("clustersg", physical),
                              "vpcId": (inputs.get("vpcConfig") or {}).get("vpcId", "")},
                "status": "ACTIVE",
                "platformVersion": "eks.1",
            })
        elif typ == "aws:kms/key:Key":
            out.update({"keyId": resource_id, "arn": f"arn:aws:kms:{self.region}:"
                        f"{MOCK_ACCOUNT_ID}:key/{digest('kms', name, length=32)}"})
        elif typ == "aws:sqs/queue:Queue":
            out["url"] = f"https://sqs.{self.region}.amazonaws.com/{MOCK_ACCOUNT_ID}/{physical}"
            out["arn"] = f"arn:aws:sqs:{self.region}:{MOCK_ACCOUNT_ID}:{physical}"
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            out.update({"latestVersion": 1, "defaultVersion": 1})
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            out["arn"] = f"arn:aws:logs:{self.region}:{MOCK_ACCOUNT_ID}:log-group:{physical}"
        elif typ == "aws:rds/instance:Instance":
            out.update({"endpoint": f"{physical}.{digest('rds', name, length=12)}.{self.region}"
                        ".rds.amazonaws.com:5432", "address": f"{physical}.{self.region}"
                        ".rds.amazonaws.com", "port": inputs.get("port", 5432)})
            if inputs.get("manageMasterUserPassword"):
                # RDS keeps the generated password in a secret it names `rds!db-<uuid>`.
                out["masterUserSecrets"] = [{
                    "secretArn": f"arn:aws:secretsmanager:{self.region}:{MOCK_ACCOUNT_ID}:secret:"
                                 f"rds!db-{digest('rds-secret', name, length=32)}",
                    "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                    "secretStatus": "active",
                }]
        elif typ == "aws:s3/bucket:Bucket":
            # AWS completes `bucket_prefix` with a unique 26-character suffix.
            prefix = inputs.get("bucketPrefix")
            bucket = f"{prefix}{digest('s3', name, length=26)}" if prefix else physical
            out.update({"bucket": bucket, "name": bucket, "arn": f"arn:aws:s3:::{bucket}"})
        return out

    def _kubernetes_outputs(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if typ.startswith("kubernetes:helm.sh/v3:Release"):
            return {"status": {"name": inputs.get("name", name), "status": "deployed",
                               "version": inputs.get("version", "")}}
        metadata = dict(inputs.get("metadata") or {})
        metadata.setdefault("name", name)
        return {"metadata": metadata}

    def _random_outputs(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        length = int(inputs.get("length", 16))
        value = digest("random", typ, name, length=max(length, 1))[:length]
        return {"result": value, "hex": value, "id": value}

    # ------------------------------------------------------------------ data sources

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        token, params = args.token, dict(args.args)
        handler = _CALLS.get(token)
        if handler is None:
            raise UnmockedCallError(
                f"data source {token} has no offline answer; add one to mlplat/plan/mocks.py"
            )
        return handler(self, params), []


class UnmockedCallError(RuntimeError):
    """A program called a data source the offline engine cannot answer."""


def _availability_zones(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    letters = "abcdef"
    return {
        "names": [f"{mocks.region}{c}" for c in letters],
        "zoneIds": [f"{mocks.region[:3]}{mocks.region[-1]}-az{i + 1}" for i in range(len(letters))],
        "groupNames": [mocks.region] * len(letters),
        "id": mocks.region,
        "state": params.get("state"),
    }


def _caller_identity(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    return {"accountId": MOCK_ACCOUNT_ID, "arn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:user/mlplat-plan",
            "userId": "AIDAMLPLATOFFLINE", "id": MOCK_ACCOUNT_ID}


def _partition(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
            "reverseDnsPrefix": "com.amazonaws"}


def _region(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    return {"name": mocks.region, "region": mocks.region, "id": mocks.region,
            "endpoint": f"ec2.{mocks.region}.amazonaws.com", "description": mocks.region}


def _policy_document(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    """Render `aws.iam.get_policy_document` arguments as the IAM JSON AWS would return."""
    statements = []
    for raw in params.get("statements") or []:
        statement: dict[str, Any] = {}
        if raw.get("sid"):
            statement["Sid"] = raw["sid"]
        statement["Effect"] = raw.get("effect", "Allow")
        for key, wire in (("Action", "actions"), ("NotAction", "notActions"),
                          ("Resource", "resources"), ("NotResource", "notResources")):
            if raw.get(wire):
                values = sorted(raw[wire])
                statement[key] = values[0] if len(values) == 1 else values
        for key, wire in (("Principal", "principals"), ("NotPrincipal", "notPrincipals")):
            if raw.get(wire):
                principals: dict[str, Any] = {}
                for principal in raw[wire]:
                    ids = sorted(principal.get("identifiers") or [])
                    principals[principal["type"]] = ids[0] if len(ids) == 1 else ids
                statement[key] = "*" if principals == {"*": "*"} else principals
        if raw.get("conditions"):
            conditions: dict[str, dict[str, Any]] = {}
            for condition in raw["conditions"]:
                values = condition.get("values") or []
                conditions.setdefault(condition["test"], {})[condition["variable"]] = (
                    values[0] if len(values) == 1 else values)
            statement["Condition"] = conditions
        statements.append(statement)
    document = {"Version": params.get("version") or "2012-10-17", "Statement": statements}
    text = json.dumps(document, indent=2, sort_keys=False)
    return {"json": text, "minifiedJson": json.dumps(document, separators=(",", ":")),
            "id": digest("policy", text)}


def _eks_addon_version(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    raise UnmockedCallError(
        "aws.eks.get_addon_version resolves versions at deploy time; mlplat pins add-on "
        "versions in code instead"
    )


_CALLS = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getRegion:getRegion": _region,
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
    "aws:eks/getAddonVersion:getAddonVersion": _eks_addon_version,
}
