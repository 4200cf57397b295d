"""The CrossGuard entry point: `pulumi preview --policy-pack policies/`.

Only this file builds the PolicyPack: constructing it starts the policy gRPC server and
blocks until the Pulumi engine is done. Everything else lives in importable modules.
"""

from pulumi_policy import PolicyPack

from policies.crossguard import all_policies

PolicyPack(name="mlplat-security", policies=all_policies())
