"""Plans shared by test_object_store.py and test_metadata_db.py: small environments with
both data stores on, by tier and config overrides, planned through the real offline engine
and cached per process (plans are deterministic, and each costs seconds)."""

from __future__ import annotations

import functools
import json
from typing import Any

from mlplat.config import parse_environment
from mlplat.plan import Plan, plan_environment

REGION = "eu-west-1"

#: A dev environment that may be deleted with its data, with a third bucket and non-default
#: settings everywhere, so tests see config flowing through.
EPHEMERAL: dict[str, Any] = {
    "ephemeral": True,
    "objectStore": {
        "buckets": {
            "datasets": {"noncurrentVersionExpirationDays": 30,
                         "abortIncompleteMultipartUploadDays": 2,
                         "intelligentTieringAfterDays": 45},
            "artifacts": {},
            "checkpoints": {"noncurrentVersionExpirationDays": 3},
        },
        "accessLogs": {"expirationDays": 30},
    },
    "metadataDb": {
        "engineVersion": "16", "instanceClass": "db.m7g.large", "backupRetentionDays": 10,
        "performanceInsightsRetentionDays": 31, "logRetentionDays": 30,
        "alarms": {"cpuUtilizationPercent": 90, "freeStorageGib": 10, "connections": 50},
    },
}


def _environment(env: str, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "team": "vision",
        "env": env,
        "region": REGION,
        "tags": {"cost-center": "cc-4711"},
        "objectStore": {},
        "metadataDb": {},
    }
    raw.update(overrides)
    return raw


@functools.cache
def _plan(env: str, overrides_json: str) -> Plan:
    config = parse_environment(_environment(env, **json.loads(overrides_json)), "<test>")
    return plan_environment(config)


def plan_of(env: str, **overrides: Any) -> Plan:
    """The plan of an environment of tier `env` with both data stores (`{}`) unless
    `overrides` replace their blocks (`None` removes one)."""
    return _plan(env, json.dumps(overrides, sort_keys=True))
