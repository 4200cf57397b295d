"""Deterministic answers for resources and data sources under Pulumi's mock runtime.

Every id, ARN and endpoint is derived from the resource's type and name, so two runs of
the same program give identical plans. Data sources that mlplat's components call are
answered here; any other call is an error (an unmocked call would silently return `{}`
and let a component build on nothing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from mlplat.plan.model import SECRET

#: Type of Pulumi's stack references; answered from the referenced stack's offline plan.
STACK_REFERENCE = "pulumi:pulumi:StackReference"

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

#: Types whose id is one of their outputs rather than a digest (a bucket's id is its name).
_ID_FROM_OUTPUT = {"aws:s3/bucket:Bucket": "bucket"}


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


@dataclass(frozen=True)
class MockedResource:
    """What an outputs function knows about a registration."""

    type: str
    name: str
    inputs: dict[str, Any]
    id: str
    region: str

    @property
    def physical(self) -> str:
        """The name the cloud would show: an explicit `name`/`bucket` input, else ours."""
        return str(self.inputs.get("name") or self.inputs.get("bucket") or self.name)


OutputsFunction = Callable[[MockedResource], dict[str, Any]]
InvokeFunction = Callable[["DeterministicMocks", dict[str, Any]], dict[str, Any]]

#: Outputs by resource type token; `<package>:*` answers every other type of a package.
_OUTPUTS: dict[str, OutputsFunction] = {}
#: Answers of data sources (invokes) by token; anything else is an UnmockedCallError.
_INVOKES: dict[str, InvokeFunction] = {}


def outputs_for(*type_tokens: str) -> Callable[[OutputsFunction], OutputsFunction]:
    """Register the outputs (beyond the inputs, which are echoed) of these resource types.
    `aws:*` registers the default of a package."""

    def register(function: OutputsFunction) -> OutputsFunction:
        for token in type_tokens:
            if token in _OUTPUTS:
                raise ValueError(f"outputs for {token} registered twice")
            _OUTPUTS[token] = function
        return function

    return register


def invoke(token: str) -> Callable[[InvokeFunction], InvokeFunction]:
    """Register the offline answer of the data source `token`."""

    def register(function: InvokeFunction) -> InvokeFunction:
        if token in _INVOKES:
            raise ValueError(f"invoke {token} registered twice")
        _INVOKES[token] = function
        return function

    return register


class DeterministicMocks(pulumi.runtime.Mocks):
    """Mocks whose outputs are the inputs plus stable ids, ARNs and endpoints."""

    def __init__(self, region: str,
                 references: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.region = region
        #: Exports of referenced stacks, by the name a StackReference gives.
        self.references = dict(references or {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        if typ == STACK_REFERENCE:
            return self._stack_reference(str(inputs.get("name") or args.resource_id or name))
        resource_id = _ID_PREFIXES.get(typ, f"{name}-") + digest(typ, name)
        outputs: dict[str, Any] = dict(inputs)
        function = _OUTPUTS.get(typ) or _OUTPUTS.get(typ.split(":", 1)[0] + ":*")
        if function is not None:
            outputs.update(function(MockedResource(typ, name, inputs, resource_id, self.region)))
        if typ in _ID_FROM_OUTPUT:
            resource_id = outputs[_ID_FROM_OUTPUT[typ]]
        return resource_id, outputs

    def _stack_reference(self, stack: str) -> tuple[str, dict[str, Any]]:
        """A referenced stack's exports, from its offline plan; those the plan holds as
        secrets (the marker) are named secret, so they stay secret here too."""
        if stack not in self.references:
            known = ", ".join(sorted(self.references)) or "none"
            raise UnresolvedReferenceError(
                f"StackReference to {stack!r} has no offline plan to read (resolved: {known}); "
                "plan the referenced stack with this one")
        outputs = dict(self.references[stack])
        secrets = sorted(key for key, value in outputs.items() if value == SECRET)
        # A stand-in unlike the plan's marker: should it ever reach a plan unmarked, it
        # shows (a test checks that the referencing plan records the marker instead).
        outputs.update({key: f"<secret {key} of stack {stack}>" for key in secrets})
        return stack, {"name": stack, "outputs": outputs, "secretOutputNames": secrets}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        token, params = args.token, dict(args.args)
        function = _INVOKES.get(token)
        if function is None:
            raise UnmockedCallError(
                f"data source {token} has no offline answer; add one to mlplat/plan/mocks.py"
            )
        return function(self, params), []


# ---------------------------------------------------------------------- resource outputs


#: ARN spellings where AWS differs from the provider's module and type names; policy linters
#: (parliament) check resource ARNs against AWS's own formats, so the mocks must match them.
_ARN_SERVICE = {"efs": "elasticfilesystem"}
_ARN_RESOURCE = {
    "aws:iam/instanceProfile:InstanceProfile": "instance-profile",
    "aws:efs/fileSystem:FileSystem": "file-system",
    "aws:efs/accessPoint:AccessPoint": "access-point",
}


@outputs_for("aws:*")
def _aws(resource: MockedResource) -> dict[str, Any]:
    physical, typ = resource.physical, resource.type
    service = _ARN_SERVICE.get(_service(typ), _service(typ))
    kind = _ARN_RESOURCE.get(typ, _kind(typ))
    if service == "iam":
        arn = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:{kind}/{physical}"
    elif service == "s3":
        arn = f"arn:aws:s3:::{physical}"
    else:
        arn = f"arn:aws:{service}:{resource.region}:{MOCK_ACCOUNT_ID}:{kind}/{resource.id}"
    out: dict[str, Any] = {"arn": arn, "name": physical}
    if "tags" in resource.inputs:
        out["tagsAll"] = resource.inputs["tags"]
    return out


@outputs_for("aws:eks/cluster:Cluster")
def _eks_cluster(resource: MockedResource) -> dict[str, Any]:
    region, physical = resource.region, resource.physical
    host = digest("endpoint", physical, length=32).upper()
    vpc_config = resource.inputs.get("vpcConfig") or {}
    return {
        **_aws(resource),
        "endpoint": f"https://{host}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": "TU9DSy1DQQ=="},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{host}"}]}],
        "vpcConfig": {**vpc_config,
                      "clusterSecurityGroupId": "sg-" + digest("clustersg", physical),
                      "vpcId": vpc_config.get("vpcId", "")},
        "status": "ACTIVE",
        "platformVersion": "eks.1",
    }


@outputs_for("aws:kms/key:Key")
def _kms_key(resource: MockedResource) -> dict[str, Any]:
    return {**_aws(resource), "keyId": resource.id,
            "arn": f"arn:aws:kms:{resource.region}:{MOCK_ACCOUNT_ID}:key/"
                   f"{digest('kms', resource.name, length=32)}"}


@outputs_for("aws:sqs/queue:Queue")
def _sqs_queue(resource: MockedResource) -> dict[str, Any]:
    region, physical = resource.region, resource.physical
    return {**_aws(resource),
            "url": f"https://sqs.{region}.amazonaws.com/{MOCK_ACCOUNT_ID}/{physical}",
            "arn": f"arn:aws:sqs:{region}:{MOCK_ACCOUNT_ID}:{physical}"}


@outputs_for("aws:ec2/launchTemplate:LaunchTemplate")
def _launch_template(resource: MockedResource) -> dict[str, Any]:
    return {**_aws(resource), "latestVersion": 1, "defaultVersion": 1}


@outputs_for("aws:cloudwatch/logGroup:LogGroup")
def _log_group(resource: MockedResource) -> dict[str, Any]:
    return {**_aws(resource), "arn": f"arn:aws:logs:{resource.region}:{MOCK_ACCOUNT_ID}"
                                     f":log-group:{resource.physical}"}


@outputs_for("aws:rds/instance:Instance")
def _rds_instance(resource: MockedResource) -> dict[str, Any]:
    region, physical = resource.region, resource.physical
    out = {**_aws(resource),
           "endpoint": f"{physical}.{digest('rds', resource.name, length=12)}.{region}"
                       ".rds.amazonaws.com:5432",
           "address": f"{physical}.{region}.rds.amazonaws.com",
           "port": resource.inputs.get("port", 5432)}
    if resource.inputs.get("manageMasterUserPassword"):
        # RDS keeps the generated password in a secret it names `rds!db-<uuid>`.
        out["masterUserSecrets"] = [{
            "secretArn": f"arn:aws:secretsmanager:{region}:{MOCK_ACCOUNT_ID}:secret:"
                         f"rds!db-{digest('rds-secret', resource.name, length=32)}",
            "kmsKeyId": resource.inputs.get("masterUserSecretKmsKeyId", ""),
            "secretStatus": "active",
        }]
    return out


@outputs_for("aws:s3/bucket:Bucket")
def _s3_bucket(resource: MockedResource) -> dict[str, Any]:
    # AWS completes `bucket_prefix` with a unique 26-character suffix.
    prefix = resource.inputs.get("bucketPrefix")
    bucket = f"{prefix}{digest('s3', resource.name, length=26)}" if prefix else resource.physical
    return {**_aws(resource), "bucket": bucket, "name": bucket, "arn": f"arn:aws:s3:::{bucket}"}


@outputs_for("kubernetes:*")
def _kubernetes(resource: MockedResource) -> dict[str, Any]:
    metadata = dict(resource.inputs.get("metadata") or {})
    metadata.setdefault("name", resource.name)
    return {"metadata": metadata}


@outputs_for("kubernetes:helm.sh/v3:Release")
def _helm_release(resource: MockedResource) -> dict[str, Any]:
    return {"status": {"name": resource.inputs.get("name", resource.name), "status": "deployed",
                       "version": resource.inputs.get("version", "")}}


@outputs_for("random:*")
def _random(resource: MockedResource) -> dict[str, Any]:
    length = int(resource.inputs.get("length", 16))
    value = digest("random", resource.type, resource.name, length=max(length, 1))[:length]
    return {"result": value, "hex": value, "id": value}


# ---------------------------------------------------------------------- data sources


class UnmockedCallError(RuntimeError):
    """A program called a data source the offline engine cannot answer."""


class UnresolvedReferenceError(RuntimeError):
    """A program referenced a stack whose offline plan was not handed to the engine."""


@invoke("aws:index/getAvailabilityZones:getAvailabilityZones")
def _availability_zones(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    letters = "abcdef"
    return {
        "names": [f"{mocks.region}{c}" for c in letters],
        "zoneIds": [f"{mocks.region[:3]}{mocks.region[-1]}-az{i + 1}" for i in range(len(letters))],
        "groupNames": [mocks.region] * len(letters),
        "id": mocks.region,
        "state": params.get("state"),
    }


@invoke("aws:index/getCallerIdentity:getCallerIdentity")
def _caller_identity(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    return {"accountId": MOCK_ACCOUNT_ID, "arn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:user/mlplat-plan",
            "userId": "AIDAMLPLATOFFLINE", "id": MOCK_ACCOUNT_ID}


@invoke("aws:index/getPartition:getPartition")
def _partition(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
            "reverseDnsPrefix": "com.amazonaws"}


@invoke("aws:index/getRegion:getRegion")
def _region(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    return {"name": mocks.region, "region": mocks.region, "id": mocks.region,
            "endpoint": f"ec2.{mocks.region}.amazonaws.com", "description": mocks.region}


@invoke("aws:iam/getPolicyDocument:getPolicyDocument")
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


@invoke("aws:eks/getAddonVersion:getAddonVersion")
def _eks_addon_version(mocks: DeterministicMocks, params: dict[str, Any]) -> dict[str, Any]:
    raise UnmockedCallError(
        "aws.eks.get_addon_version resolves versions at deploy time; mlplat pins add-on "
        "versions in code instead"
    )


