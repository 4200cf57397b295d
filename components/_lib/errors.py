"""The one error a component may raise.

Config validation (mlplat.config) refuses every input a component could not build; what is
left for a component to report are facts only known at deploy time (the region has fewer
availability zones than configured) or broken invariants. Both must reach `pulumi up` as one
clean line, which Pulumi prints for a `RunError` without a Python traceback.
"""

from __future__ import annotations

import pulumi


class ComponentError(pulumi.RunError):
    """A component cannot build what it was asked for; the message names the config field."""
