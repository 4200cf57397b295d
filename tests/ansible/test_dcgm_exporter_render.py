"""dcgm_exporter: the hardened unit it gets from internal_exporter, rendered by Ansible."""

from __future__ import annotations

import pytest
import yaml
from ansible_helpers import ROLES_DIR
from test_node_exporter_render import check_golden, exporter_renderer, unit_settings

pytestmark = pytest.mark.unit


def test_unit_golden_dynamic_user_and_hostengine() -> None:
    r = exporter_renderer(
        "dcgm_exporter", "service_gpu.yml", dcgm_exporter_monitoring_cidrs=["10.20.0.0/24"]
    )
    text = r.template("internal_exporter", "exporter.service.j2")
    check_golden("dcgm_exporter/dcgm-exporter.service", text)
    s = unit_settings(text)
    assert s["Service.DynamicUser"] == ["yes"] and "Service.User" not in s
    assert s["Service.ExecStart"] == [
        "/usr/bin/dcgm-exporter --address=0.0.0.0:9400 "
        "--collectors=/etc/dcgm-exporter/default-counters.csv "
        "--remote-hostengine-info=localhost:5555"
    ]
    requires = s["Unit.Requires"][0].split()
    assert requires == ["nvidia-dcgm.service", "mlplat-firewall-dcgm-exporter.service"]
    # Talking to nv-hostengine over TCP needs no device access: the baseline stays.
    assert s["Service.PrivateDevices"] == ["yes"]
    assert s["Service.CapabilityBoundingSet"] == [""]


def test_nft_table_for_port_9400() -> None:
    r = exporter_renderer(
        "dcgm_exporter", "service_gpu.yml", dcgm_exporter_monitoring_cidrs=["10.20.0.0/24"]
    )
    text = r.template("internal_exporter", "exporter.nft.j2")
    assert "table inet mlplat_dcgm_exporter {" in text
    assert text.count("dport 9400") == 4 and "dport 9100" not in text


def test_argument_specs_match_defaults() -> None:
    role = ROLES_DIR / "dcgm_exporter"
    options = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"][
        "main"
    ]["options"]
    defaults = yaml.safe_load((role / "defaults/main.yml").read_text())
    assert set(defaults) == set(options)
    for name, spec in options.items():
        assert defaults[name] == spec["default"], name
