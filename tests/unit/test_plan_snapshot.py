"""The committed plan snapshot of the demo stack matches what the code plans now.

Reviewers read `tests/golden/plans/demo.json` diffs in a PR to see exactly which resources
and inputs a change adds, removes or alters. When a change is intended, refresh it with
`make snapshots` (or `MLPLAT_UPDATE_GOLDEN=1 pytest tests/unit/test_plan_snapshot.py`) and
commit the diff with the change.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SNAPSHOT = Path(__file__).resolve().parents[1] / "golden" / "plans" / "demo.json"


def test_demo_plan_matches_committed_snapshot(demo_plan):
    current = demo_plan.dumps()
    if os.environ.get("MLPLAT_UPDATE_GOLDEN") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing: run `make snapshots`"
    committed = SNAPSHOT.read_text()
    if committed != current:
        diff = "".join(difflib.unified_diff(
            committed.splitlines(keepends=True), current.splitlines(keepends=True),
            "committed", "current", n=2))
        pytest.fail(f"demo plan differs from {SNAPSHOT.name} (run `make snapshots` if "
                    f"intended):\n{diff[:6000]}")


def test_snapshot_carries_no_secret_values():
    document = json.loads(SNAPSHOT.read_text())
    text = json.dumps(document)
    assert "BEGIN RSA PRIVATE KEY" not in text and "aws_secret_access_key" not in text
    assert document["summary"]["resources"] > 60
