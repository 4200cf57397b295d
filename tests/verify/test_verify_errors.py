"""How AWS answers become verify's outcomes, with botocore's Stubber (no server, no network):
"not found" is an absent setting, a refusal is one line naming the IAM action to grant."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from mlplat.verify.aws import AwsReader, VerifyInputError

pytestmark = pytest.mark.unit


def reader() -> AwsReader:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name="eu-west-1")
    return AwsReader(session, "eu-west-1", "http://127.0.0.1:9")


def test_a_refused_call_names_the_iam_action_the_reviewer_lacks() -> None:
    live = reader()
    with Stubber(live._client("kms")) as stub:
        stub.add_client_error("get_key_policy", service_error_code="AccessDeniedException")
        with pytest.raises(VerifyInputError, match=r"AWS refused kms:GetKeyPolicy "
                                                   r"\(AccessDeniedException\)"):
            live._call("kms", "get_key_policy", KeyId="k", PolicyName="default")
    with Stubber(live._client("s3")) as stub:  # the IAM action differs from the call's name
        stub.add_client_error("get_bucket_encryption", service_error_code="AccessDenied")
        with pytest.raises(VerifyInputError, match="s3:GetEncryptionConfiguration"):
            live._call("s3", "get_bucket_encryption", Bucket="b")


def test_not_configured_is_an_absent_setting_not_an_error() -> None:
    live = reader()
    with Stubber(live._client("s3")) as stub:
        stub.add_client_error("get_public_access_block",
                              service_error_code="NoSuchPublicAccessBlockConfiguration")
        assert live._call("s3", "get_public_access_block", Bucket="b") is None
