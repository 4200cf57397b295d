"""Read-only AWS access for `mlplat verify`: find each resource the plan expects, read its
settings, turn them into records (`records.py`).

How a planned resource is found without Pulumi state:
- explicit physical names in the plan (EKS cluster `name`, RDS `identifier`, a bucket's
  `bucket`) are looked up directly;
- auto-named ones (`bucket_prefix`, `name_prefix`, or Pulumi's `<logical name>-<random>`)
  are listed by that prefix and confirmed by the tags every mlplat resource carries:
  `Name` = the logical name and `mlplat-stack` = the stack;
- KMS keys carry no name: they are found through their aliases in the plan.
A resource created outside Pulumi under the same name and tags is taken for the planned one;
a planned resource whose tags were removed is reported missing.

Every call passes a guard that refuses anything not in `coverage.READ_CALLS` before it is
sent, so verify cannot change the account whatever the code around it does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from mlplat.plan.model import Plan, ResourceRecord
from mlplat.verify import records
from mlplat.verify.coverage import READ_CALLS
from policies.rules import eks, iam, kms, rds, s3
from policies.rules._helpers import OPAQUE, names_match, related

ALIAS = "aws:kms/alias:Alias"
#: The resource types verify reads, in report order.
SUBJECT_TYPES = (s3.BUCKET, rds.INSTANCE, eks.CLUSTER, kms.KEY, iam.ROLE)
STACK_TAG = "mlplat-stack"
#: Resource types searched by tag for resources the plan does not declare, and the plan
#: type each is.
TAG_SCANNED_TYPES = {"s3:bucket": s3.BUCKET, "rds:db": rds.INSTANCE, "kms:key": kms.KEY}

#: Error codes meaning "this resource or setting does not exist", per call.
_ABSENT = frozenset({
    "NoSuchBucket", "NoSuchTagSet", "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchPublicAccessBlockConfiguration", "NoSuchBucketPolicy",
    "OwnershipControlsNotFoundError", "NoSuchLifecycleConfiguration", "DBInstanceNotFound",
    "DBInstanceNotFoundFault", "DBParameterGroupNotFound", "ResourceNotFoundException",
    "NotFoundException", "NoSuchEntity", "NoSuchEntityException",
})
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                     "AuthorizationError", "InvalidClientTokenId", "SignatureDoesNotMatch",
                     "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException"})


def _client_config() -> Any:
    """Bounded waiting: a wrong endpoint fails in seconds, not after minutes of retries."""
    from botocore.config import Config

    return Config(connect_timeout=10, read_timeout=30,
                  retries={"mode": "standard", "max_attempts": 3})


class VerifyInputError(ValueError):
    """Verify cannot run as asked (credentials, endpoint, permissions): one line, exit 2."""


class MutatingCallError(RuntimeError):
    """A call outside the read-only allow-list was attempted (a bug in verify)."""


def refuse_writes(model: Any, **_: Any) -> None:
    """botocore `before-call` hook: only the calls in READ_CALLS may leave the process."""
    call = f"{model.service_model.endpoint_prefix}:{model.name}"
    if call not in READ_CALLS:
        raise MutatingCallError(f"mlplat verify refused to call {call}: not a read-only call")


class AwsReader:
    """Finds and reads the planned resources of one stack through a boto3 session."""

    def __init__(self, session: Any, region: str, endpoint_url: str | None = None) -> None:
        session.events.register("before-call", refuse_writes)
        self._session = session
        self._region = region
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self._cache: dict[str, Any] = {}

    # plumbing ----------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            try:
                self._clients[service] = self._session.client(
                    service, region_name=self._region, endpoint_url=self._endpoint_url,
                    config=_client_config())
            except ValueError as error:  # botocore: "Invalid endpoint: ..."
                raise VerifyInputError(str(error)) from None
        return self._clients[service]

    def _call(self, service: str, operation: str, **params: Any) -> Any:
        """One call; None when AWS says the thing does not exist; errors as one line."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        try:
            return getattr(self._client(service), operation)(**params)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _ABSENT:
                return None
            call = f"{self._client(service).meta.service_model.endpoint_prefix}:" \
                   f"{error.operation_name}"
            if code in _DENIED:
                action = READ_CALLS.get(call, call)
                raise VerifyInputError(
                    f"AWS refused {action} ({code}): the credentials need the read-only "
                    "policy of docs/verify.md") from None
            raise VerifyInputError(f"AWS error on {call}: {code}") from None
        except (NoCredentialsError, PartialCredentialsError):
            raise VerifyInputError(
                "no AWS credentials found (environment, profile, SSO or instance role); "
                "see docs/verify.md") from None
        except EndpointConnectionError as error:
            raise VerifyInputError(f"cannot reach AWS: {error}") from None
        except BotoCoreError as error:
            raise VerifyInputError(f"AWS call {service}:{operation} failed: {error}") from None

    def _pages(self, service: str, operation: str, key: str, **params: Any) -> Iterator[Any]:
        """Items of a list call, page after page. Every call verify pages takes `Marker`;
        the next one comes back as `Marker` (IAM, RDS) or `NextMarker` (KMS)."""
        while True:
            page = self._call(service, operation, **params) or {}
            yield from page.get(key, [])
            token = page.get("NextMarker") or page.get("Marker")
            more = page.get("IsTruncated") or page.get("Truncated") or service == "rds"
            if not (more and token):
                return
            params["Marker"] = token

    def _cached(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    # locating ----------------------------------------------------------------------------

    @staticmethod
    def _explicit_name(subject: ResourceRecord, *keys: str) -> str | None:
        for key in keys:
            value = subject.inputs.get(key)
            if isinstance(value, str) and value not in OPAQUE:
                return value
        return None

    @staticmethod
    def _owned(tags: dict[str, str], subject: ResourceRecord, stack: str) -> bool:
        return tags.get("Name") == subject.name and tags.get(STACK_TAG) == stack

    def _bucket_tags(self, bucket: str) -> list[dict[str, str]]:
        return list((self._call("s3", "get_bucket_tagging", Bucket=bucket) or {})
                    .get("TagSet", []))

    def find_bucket(self, subject: ResourceRecord, stack: str) -> str | None:
        names = [b["Name"] for b in self._cached(
            "buckets", lambda: (self._call("s3", "list_buckets") or {}).get("Buckets", []))]
        explicit = self._explicit_name(subject, "bucket")
        if explicit is not None:
            return explicit if explicit in names else None
        found = [n for n in names if names_match(subject, n)
                 and self._owned(records.tag_dict(self._bucket_tags(n)), subject, stack)]
        return found[0] if len(found) == 1 else None

    def find_role(self, subject: ResourceRecord, stack: str) -> str | None:
        roles = self._cached("roles", lambda: list(self._pages("iam", "list_roles", "Roles")))
        explicit = self._explicit_name(subject, "name")
        names = [r["RoleName"] for r in roles]
        if explicit is not None:
            return explicit if explicit in names else None
        found = [n for n in names if names_match(subject, n) and self._owned(records.tag_dict(
            list(self._pages("iam", "list_role_tags", "Tags", RoleName=n))), subject, stack)]
        return found[0] if len(found) == 1 else None

    def find_key(self, subject: ResourceRecord, plan: Plan) -> str | None:
        aliases = {a["AliasName"]: a.get("TargetKeyId") for a in self._cached(
            "aliases", lambda: list(self._pages("kms", "list_aliases", "Aliases")))}
        for alias in related(plan, subject, ALIAS, key="target_key_id"):
            name = alias.inputs.get("name")
            if isinstance(name, str) and aliases.get(name):
                return str(aliases[name])
        return None

    def tagged(self, stack: str) -> list[str]:
        """ARNs of the buckets, databases and KMS keys carrying the stack's tag (Resource
        Groups Tagging API). EKS clusters and IAM roles are not asked for: moto's tagging
        API does not list them, so their absence could not be tested."""
        arns, params = [], {"TagFilters": [{"Key": STACK_TAG, "Values": [stack]}],
                            "ResourceTypeFilters": list(TAG_SCANNED_TYPES)}
        while True:
            page = self._call("resourcegroupstaggingapi", "get_resources", **params) or {}
            arns += [str(item["ResourceARN"]) for item in page.get("ResourceTagMappingList", [])]
            if not page.get("PaginationToken"):
                return arns
            params["PaginationToken"] = page["PaginationToken"]

    # reading -----------------------------------------------------------------------------

    def read(self, subject: ResourceRecord, plan: Plan) -> records.LiveGroup | None:
        """The live records of one planned resource, or None if it is not deployed."""
        readers = {s3.BUCKET: self._read_bucket, rds.INSTANCE: self._read_db,
                   eks.CLUSTER: self._read_cluster, kms.KEY: self._read_key,
                   iam.ROLE: self._read_role}
        return readers[subject.type](subject, plan)

    def _read_bucket(self, subject: ResourceRecord, plan: Plan) -> records.LiveGroup | None:
        bucket = self.find_bucket(subject, plan.stack)
        if bucket is None:
            return None

        def get(operation: str, key: str | None) -> Any:
            response = self._call("s3", operation, Bucket=bucket)
            return response if response is None or key is None else response.get(key)

        reads = {
            "tags": self._bucket_tags(bucket),
            "encryption": get("get_bucket_encryption", "ServerSideEncryptionConfiguration"),
            "public_access_block": get("get_public_access_block",
                                       "PublicAccessBlockConfiguration"),
            "versioning": get("get_bucket_versioning", None),
            "policy": get("get_bucket_policy", "Policy"),
            "ownership": get("get_bucket_ownership_controls", "OwnershipControls"),
            "logging": get("get_bucket_logging", None),
            "lifecycle": get("get_bucket_lifecycle_configuration", "Rules"),
        }
        return records.bucket_records(subject, bucket, reads)

    def _read_db(self, subject: ResourceRecord, plan: Plan) -> records.LiveGroup | None:
        identifier = self._explicit_name(subject, "identifier")
        if identifier is None:
            return None  # mlplat names its databases; an autonamed one is not located
        found = (self._call("rds", "describe_db_instances", DBInstanceIdentifier=identifier)
                 or {}).get("DBInstances", [])
        if not found:
            return None
        instance = found[0]
        parameters = {
            str(g["DBParameterGroupName"]): list(self._pages(
                "rds", "describe_db_parameters", "Parameters",
                DBParameterGroupName=g["DBParameterGroupName"], Source="user"))
            for g in instance.get("DBParameterGroups", [])}
        return records.db_instance_records(subject, instance, parameters)

    def _read_cluster(self, subject: ResourceRecord, plan: Plan) -> records.LiveGroup | None:
        name = self._explicit_name(subject, "name")
        if name is None:
            return None
        response = self._call("eks", "describe_cluster", name=name)
        return None if response is None else records.cluster_records(subject,
                                                                     response["cluster"])

    def _read_key(self, subject: ResourceRecord, plan: Plan) -> records.LiveGroup | None:
        key_id = self.find_key(subject, plan)
        if key_id is None:
            return None
        described = self._call("kms", "describe_key", KeyId=key_id)
        if described is None:
            return None
        rotation = self._call("kms", "get_key_rotation_status", KeyId=key_id) or {}
        policy = self._call("kms", "get_key_policy", KeyId=key_id, PolicyName="default") or {}
        tags = list(self._pages("kms", "list_resource_tags", "Tags", KeyId=key_id))
        return records.key_records(subject, described["KeyMetadata"],
                                   bool(rotation.get("KeyRotationEnabled")),
                                   policy.get("Policy"), tags)

    def _read_role(self, subject: ResourceRecord, plan: Plan) -> records.LiveGroup | None:
        name = self.find_role(subject, plan.stack)
        if name is None:
            return None
        response = self._call("iam", "get_role", RoleName=name)
        if response is None:
            return None
        role = dict(response["Role"])
        role["Tags"] = list(self._pages("iam", "list_role_tags", "Tags", RoleName=name))
        inline = {p: (self._call("iam", "get_role_policy", RoleName=name, PolicyName=p)
                      or {}).get("PolicyDocument")
                  for p in self._pages("iam", "list_role_policies", "PolicyNames",
                                       RoleName=name)}
        attached = list(self._pages("iam", "list_attached_role_policies", "AttachedPolicies",
                                    RoleName=name))
        documents = {}
        for item in attached:
            arn = str(item.get("PolicyArn"))
            if ":aws:policy/" in arn:
                continue  # AWS-managed: AWS's text; MLP-IAM-005 judges it by ARN
            policy = (self._call("iam", "get_policy", PolicyArn=arn) or {}).get("Policy")
            if policy is None:
                continue
            version = self._call("iam", "get_policy_version", PolicyArn=arn,
                                 VersionId=policy["DefaultVersionId"]) or {}
            documents[arn] = _decoded(version.get("PolicyVersion", {}).get("Document"))
        return records.role_records(subject, role, inline, attached, documents)


def _decoded(document: Any) -> Any:
    """IAM documents come back decoded by boto3, or as URL-encoded text from some endpoints."""
    if isinstance(document, str):
        from urllib.parse import unquote

        try:
            return json.loads(unquote(document))
        except ValueError:
            return document
    return document
