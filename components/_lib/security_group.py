"""A security group for an AWS service endpoint (database, file system) that admits one TCP
port from one client security group (the cluster nodes) and nothing else."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components._lib.naming import Tagger


def single_port_security_group(
    *,
    prefix: str,
    description: str,
    vpc_id: pulumi.Input[str],
    client_security_group_id: pulumi.Input[str],
    port: int,
    rule_description: str,
    tag: Tagger,
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """`<prefix>-sg` with the ingress rule `<prefix>-from-nodes`, and the matching egress
    rule `<prefix>-from-nodes-egress` on the client group (whose egress is narrowed to what
    it needs). No egress rule on this group: the services behind it initiate no
    connections (the provider removes AWS's default allow-all egress rule)."""
    security_group = aws.ec2.SecurityGroup(
        f"{prefix}-sg", description=description, vpc_id=vpc_id, tags=tag("sg"), opts=opts
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{prefix}-from-nodes",
        security_group_id=security_group.id,
        referenced_security_group_id=client_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=rule_description,
        tags=tag("from-nodes"),
        opts=opts,
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{prefix}-from-nodes-egress",
        security_group_id=client_security_group_id,
        referenced_security_group_id=security_group.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=rule_description,
        tags=tag("from-nodes-egress"),
        opts=opts,
    )
    return security_group
