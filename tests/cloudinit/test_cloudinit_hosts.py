"""Each template run for real by cloud-init in a booted Debian 12 host.

The hosts come from the session's one host pool (``host_pool``, from the
mlplat.testing.hosts pytest plugin: systemd-nspawn, a network namespace per
host, apt only through a local apt-cacher-ng relay), shared with tests/hosts.
Before first boot each host gets a NoCloud seed (meta-data + the rendered
user-data) and a cloud.cfg.d drop-in that limits cloud-init to that seed;
cloud-init is installed, and the host reboots into cloud-init's first run, as
a VM would on its first boot.

The ansible-pull hand-over is exercised for real without leaving the host:
the rendered user data keeps its https URL, and git inside the host is told
(url.insteadOf in /etc/gitconfig) that this URL is a bare repository the test
created in /srv. The repository has two commits; the user data pins the
first, so the test can tell a pinned converge from a branch-head converge.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudinit_cases import EXAMPLES_DIR, load_example

from mlplat.cloudinit import render
from mlplat.testing.hosts import Host, HostPool, require_or_skip

pytestmark = pytest.mark.hosts

# cloud-init's package step runs apt through the relay: allow a cold apt cache.
BOOT_TIMEOUT = 900.0
GIT_DIR_IN_HOST = "/srv/git/ansible.git"
CLOUD_CFG_DROPIN = """\
# Written by tests/cloudinit/test_cloudinit_hosts.py: only the NoCloud seed, no
# network configuration (the harness owns the namespace), no locale generation
# (minbase has no locales package).
datasource_list: [NoCloud, None]
network:
  config: disabled
locale: false
"""
PLAYBOOK = """\
- name: mlplat cloud-init hand-over test
  hosts: localhost
  gather_facts: true
  tasks:
    - name: Record what converged, from which commit, with which facts and vars
      ansible.builtin.copy:
        dest: /var/lib/mlplat/ansible-pull-ran
        mode: "0644"
        content: >-
          version={version}
          node_pool={{{{ ansible_local.mlplat.node_pool }}}}
          extra={{{{ mlplat_node_pool }}}}
"""


CALLBACK_HOST = "awx.example.org"
CALLBACK_RECORD = "/var/lib/mlplat-test/callback.json"
# A stand-in for the provisioning service, listening inside the host itself on
# 127.0.0.1:443 (CALLBACK_HOST resolves there through /etc/hosts).
CALLBACK_RECEIVER = """\
import http.server, json, ssl, sys, urllib.parse

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        record = {"path": self.path, "form": dict(urllib.parse.parse_qsl(body))}
        with open(sys.argv[1], "w") as fh:
            json.dump(record, fh)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

server = http.server.HTTPServer(("127.0.0.1", 443), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("/etc/mlplat-test/callback.crt", "/etc/mlplat-test/callback.key")
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""
CALLBACK_UNIT = f"""\
[Unit]
Description=Test stand-in for the provisioning callback receiver
Before=cloud-final.service

[Service]
StateDirectory=mlplat-test
ExecStart=/usr/bin/python3 /etc/mlplat-test/callback_receiver.py {CALLBACK_RECORD}

[Install]
WantedBy=multi-user.target
"""


def _self_signed_cert(hostname: str) -> tuple[bytes, bytes]:
    """A throwaway TLS certificate (and its key) for the in-host receiver."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _install_callback_receiver(root: Path) -> None:
    cert, key = _self_signed_cert(CALLBACK_HOST)
    conf = root / "etc/mlplat-test"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "callback.crt").write_bytes(cert)
    (conf / "callback.key").write_bytes(key)
    (conf / "callback.key").chmod(0o600)
    (conf / "callback_receiver.py").write_text(CALLBACK_RECEIVER)
    # Trusted the way a site CA would be: update-ca-certificates picks it up.
    anchors = root / "usr/local/share/ca-certificates"
    anchors.mkdir(parents=True, exist_ok=True)
    (anchors / "mlplat-test-callback.crt").write_bytes(cert)
    with (root / "etc/hosts").open("a") as hosts_file:
        hosts_file.write(f"127.0.0.1\t{CALLBACK_HOST}\n")
    unit = root / "etc/systemd/system/mlplat-test-callback.service"
    unit.write_text(CALLBACK_UNIT)
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / unit.name).symlink_to(f"/etc/systemd/system/{unit.name}")


def _git(*args: str, cwd: Path) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "mlplat test",
        "GIT_AUTHOR_EMAIL": "test@mlplat.invalid",
        "GIT_COMMITTER_NAME": "mlplat test",
        "GIT_COMMITTER_EMAIL": "test@mlplat.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def _make_playbook_repo(root: Path, playbook: str, work: Path) -> tuple[str, str]:
    """Bare repo inside the host's root with two commits; returns (pinned, head)."""
    bare = root / GIT_DIR_IN_HOST.lstrip("/")
    bare.parent.mkdir(parents=True, exist_ok=True)
    _git("init", "-q", "--bare", "-b", "main", str(bare), cwd=work)
    tree = work / "tree"
    _git("init", "-q", "-b", "main", str(tree), cwd=work)
    book = tree / playbook
    book.parent.mkdir(parents=True, exist_ok=True)
    commits = []
    for version in ("pinned", "head"):
        book.write_text(PLAYBOOK.format(version=version))
        _git("add", playbook, cwd=tree)
        _git("commit", "-q", "-m", f"playbook {version}", cwd=tree)
        commits.append(_git("rev-parse", "HEAD", cwd=tree))
    _git("push", "-q", str(bare), "main", cwd=tree)
    return commits[0], commits[1]


def _seed(root: Path, name: str, user_data: str) -> None:
    seed = root / "var/lib/cloud/seed/nocloud"
    seed.mkdir(parents=True, exist_ok=True)
    (seed / "meta-data").write_text(
        f"instance-id: iid-{name}-{uuid.uuid4().hex[:8]}\nlocal-hostname: {name}\n"
    )
    (seed / "user-data").write_text(user_data)
    dropins = root / "etc/cloud/cloud.cfg.d"
    dropins.mkdir(parents=True, exist_ok=True)
    (dropins / "99-mlplat-test.cfg").write_text(CLOUD_CFG_DROPIN)


def _install_cloud_init_and_reboot(host: Host) -> None:
    """Install cloud-init into a booted host, then reboot into its first run.

    The harness's "cloud-init" flavor would have it in the image already, but
    building that flavor with debootstrap --include currently fails: debootstrap
    does not resolve python3-cryptography's virtual dependency
    python3-cffi-backend-api-*, so python3-cffi-backend must be listed too.
    Installing does not run cloud-init, and the host has no
    /var/lib/cloud/instance yet, so the reboot is cloud-init's first boot with
    the seed written before the host first started.
    """
    install = host.exec(
        "apt-get update -q && DEBIAN_FRONTEND=noninteractive "
        "apt-get install -y -q --no-install-recommends cloud-init ca-certificates "
        "&& update-ca-certificates",
        timeout=900,
    )
    assert install.returncode == 0, f"{host.name}: installing cloud-init failed: {install.stderr}"
    assert not host.root.joinpath("var/lib/cloud/instance").exists()
    host.reboot(timeout=BOOT_TIMEOUT)


class Booted:
    """A booted host with the inputs it was bootstrapped from."""

    def __init__(self, host: Any, inputs: dict[str, Any], user_data: str) -> None:
        self.host = host
        self.inputs = inputs
        self.user_data = user_data
        self.extra: dict[str, str] = {}

    def sh(self, cmd: str, *, ok: bool = True) -> str:
        proc = self.host.exec(cmd, timeout=120)
        if ok:
            assert proc.returncode == 0, f"{cmd!r} failed ({proc.returncode}): {proc.stderr}"
        return str(proc.stdout).strip()

    def mode_owner(self, path: str) -> str:
        return self.sh(f"stat -c '%a %U:%G' {shlex.quote(path)}")


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A throwaway key pair for the admin user of the test hosts."""
    key = tmp_path_factory.mktemp("admin-key") / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cloudinit-test", "-f", str(key)],
        check=True,
    )
    return key, key.with_suffix(".pub").read_text().strip()


@pytest.fixture(scope="module")
def hosts(
    host_pool: HostPool, ssh_key: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Booted]]:
    require_or_skip(
        lambda: None if shutil.which("git") else "git is not installed (.ci/apt-packages.txt)"
    )
    work = tmp_path_factory.mktemp("cloudinit-hosts")
    _, public_key = ssh_key

    gpu = load_example(EXAMPLES_DIR / "gpu-node--ansible-pull.yaml")
    gpu["admin"]["ssh_authorized_keys"].append(public_key)
    # Both hand-overs at once: ansible-pull and the phone_home callback.
    gpu["callback"] = {"url": f"https://{CALLBACK_HOST}/ready/$INSTANCE_ID", "tries": 3}
    onprem = load_example(EXAMPLES_DIR / "onprem-host--default.yaml")
    onprem["admin"]["ssh_authorized_keys"].append(public_key)
    booted: dict[str, Booted] = {}
    commits: dict[str, str] = {}

    def before_boot(root: Path, name: str) -> None:
        if name == "ci-gpu":
            repo_work = work / "repo"
            repo_work.mkdir()
            pinned, head = _make_playbook_repo(root, gpu["ansible_pull"]["playbook"], repo_work)
            commits.update(pinned=pinned, head=head)
            gpu["ansible_pull"]["commit"] = pinned
            (root / "etc/gitconfig").write_text(
                f'[url "file://{GIT_DIR_IN_HOST}"]\n'
                f"\tinsteadOf = {gpu['ansible_pull']['repo_url']}\n"
            )
            _install_callback_receiver(root)
            text = render("gpu-node", gpu)
            booted[name] = Booted(None, gpu, text)
        else:
            text = render("onprem-host", onprem)
            booted[name] = Booted(None, onprem, text)
        _seed(root, name, text)
        # Test hosts only: Debian's ansible-core recommends the full "ansible"
        # (260 MB of collections, minutes of byte-compiling). The user data does
        # not change this on real nodes; here it would dominate the run time.
        (root / "etc/apt/apt.conf.d/99mlplat-test-no-recommends").write_text(
            'APT::Install-Recommends "false";\n'
        )

    started = host_pool.boot(
        ["ci-gpu", "ci-onprem"], flavor="base", before_boot=before_boot, timeout=300
    )
    try:
        with ThreadPoolExecutor(max_workers=len(started)) as ex:
            list(ex.map(_install_cloud_init_and_reboot, started))
        for h in started:
            booted[h.name].host = h
        booted["ci-gpu"].extra = commits
        yield booted
    finally:
        for h in started:  # free the machine for the other host tests of the session
            host_pool.destroy(h)


@pytest.fixture(params=["ci-gpu", "ci-onprem"])
def node(request: pytest.FixtureRequest, hosts: dict[str, Booted]) -> Booted:
    return hosts[request.param]


def test_cloud_init_finished_without_errors(node: Booted) -> None:
    status = node.sh("cloud-init status --long")
    assert "status: done" in status, status
    result = json.loads(node.sh("cat /run/cloud-init/result.json"))
    assert result["v1"]["errors"] == [], result
    stages = json.loads(node.sh("cat /run/cloud-init/status.json"))["v1"]
    for stage in ("init-local", "init", "modules-config", "modules-final"):
        assert stages[stage]["errors"] == [], (stage, stages[stage]["errors"])
    assert "DataSourceNoCloud" in stages["datasource"]
    failed = node.sh("systemctl list-units --failed --plain --no-legend 'cloud-*' 'mlplat-*'")
    assert failed == ""


def test_runcmd_ran_to_the_end_and_bootcmd_made_the_state_dirs(node: Booted) -> None:
    marker = node.inputs.get("ready_marker", "/var/lib/mlplat/bootstrap-complete")
    assert node.sh(f"cat {marker}").endswith("Z")
    assert node.mode_owner("/etc/mlplat") == "755 root:root"
    assert node.mode_owner("/var/lib/mlplat") == "755 root:root"


def test_admin_user_key_only_and_no_image_default_user(node: Booted) -> None:
    admin = node.inputs["admin"]["name"]
    home = node.sh(f"getent passwd {admin}").split(":")[5]
    assert node.sh(f"getent passwd {admin}").endswith(":/bin/bash")
    assert node.sh(f"passwd -S {admin}").split()[1] == "L"  # password locked
    assert set(node.sh(f"id -nG {admin}").split()) >= {"mlplat-ssh", "adm"}
    # getent exits 2 for "no such key"; other failures would prove nothing.
    assert node.host.exec("getent passwd debian").returncode == 2
    keys = node.sh(f"cat {home}/.ssh/authorized_keys").splitlines()
    expected = node.inputs["admin"]["ssh_authorized_keys"] + node.inputs.get(
        "ansible_controller_keys", []
    )
    assert sorted(k for k in keys if k and not k.startswith("#")) == sorted(expected)
    assert node.mode_owner(f"{home}/.ssh") == f"700 {admin}:{admin}"
    assert node.mode_owner(f"{home}/.ssh/authorized_keys") == f"600 {admin}:{admin}"


def test_sudo_rule_installed_checked_and_effective(node: Booted) -> None:
    admin = node.inputs["admin"]["name"]
    assert node.mode_owner("/etc/sudoers.d/60-mlplat-admin") == "440 root:root"
    node.sh("visudo -c")
    assert node.sh(f"runuser -u {admin} -- sudo -n id -u") == "0"
    assert "(ALL : ALL) NOPASSWD: ALL" in node.sh(f"sudo -l -U {admin}")


def test_sshd_effective_settings(node: Booted) -> None:
    # sshd -T prints a multi-valued keyword (allowgroups) once per value.
    values: dict[str, list[str]] = {}
    for line in node.sh("sshd -T").splitlines():
        key, _, value = line.partition(" ")
        values.setdefault(key, []).append(value)
    settings = {key: " ".join(v) for key, v in values.items()}
    assert settings["permitrootlogin"] == "no"
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["authenticationmethods"] == "publickey"
    allowed = settings["allowgroups"].split()
    assert "mlplat-ssh" in allowed
    assert set(node.inputs.get("ssh", {}).get("allow_groups", [])) <= set(allowed)
    assert node.mode_owner("/etc/ssh/sshd_config.d/10-mlplat-hardening.conf") == "644 root:root"
    assert node.sh("systemctl is-active ssh") == "active"


def test_ssh_login_as_admin_with_key_and_root_refused(
    node: Booted, ssh_key: tuple[Path, str]
) -> None:
    key, _ = ssh_key
    admin = node.inputs["admin"]["name"]
    opts = [
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
        "-o", "IdentitiesOnly=yes", "-i", str(key),
    ]  # fmt: skip
    address = node.host.address

    def ssh(user: str, *extra: str) -> subprocess.CompletedProcess[str]:
        argv = ["ssh", *opts, *extra, f"{user}@{address}", "sudo -n id -u"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)

    as_admin = ssh(admin)
    assert as_admin.returncode == 0, as_admin.stderr
    assert as_admin.stdout.strip() == "0"
    # root has the harness's key in authorized_keys, and still may not log in.
    as_root = ssh("root", "-i", str(node.host.pool.key_path))
    assert as_root.returncode == 255
    assert "Permission denied" in as_root.stderr, as_root.stderr  # refused, not unreachable
    password_only = ssh(admin, "-o", "PubkeyAuthentication=no")
    assert password_only.returncode == 255
    assert "publickey" in password_only.stderr  # the only method the server offers


def test_packages_installed_and_security_upgrades_on(node: Booted) -> None:
    wanted = ["openssh-server", "python3", "sudo", "unattended-upgrades"]
    wanted += node.inputs.get("packages", [])
    if "ansible_pull" in node.inputs:
        wanted += ["ansible-core", "git"]
    for pkg in wanted:
        status = node.sh(f"dpkg-query -W -f='${{Status}}' {pkg}", ok=False)
        assert status == "install ok installed", f"{pkg}: {status!r}"
    apt = node.sh("apt-config dump")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in apt
    assert 'APT::Periodic::Update-Package-Lists "1";' in apt
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in apt
    assert node.sh("systemctl is-enabled apt-daily-upgrade.timer") == "enabled"


def test_ansible_facts_file(node: Booted) -> None:
    fact = json.loads(node.sh("cat /etc/ansible/facts.d/mlplat.fact"))
    assert fact["role"] in {"gpu-node", "onprem-host"}
    assert node.mode_owner("/etc/ansible/facts.d/mlplat.fact") == "644 root:root"


def test_gpu_node_hostname_from_user_data(hosts: dict[str, Booted]) -> None:
    node = hosts["ci-gpu"]
    assert node.sh("hostname") == node.inputs["hostname"]


def test_ansible_pull_units_are_well_formed_and_enabled(hosts: dict[str, Booted]) -> None:
    node = hosts["ci-gpu"]
    units = " ".join(f"/etc/systemd/system/mlplat-ansible-pull.{u}" for u in ("service", "timer"))
    verify = node.host.exec(f"systemd-analyze verify {units}", timeout=120)
    assert verify.returncode == 0, verify.stderr
    assert "mlplat-ansible-pull" not in verify.stderr, verify.stderr
    assert node.sh("systemctl is-enabled mlplat-ansible-pull.timer") == "enabled"
    assert node.sh("systemctl is-active mlplat-ansible-pull.timer") == "active"
    assert node.mode_owner("/etc/mlplat/ansible-pull-vars.json") == "600 root:root"


def test_ansible_pull_converged_the_pinned_commit(hosts: dict[str, Booted]) -> None:
    node = hosts["ci-gpu"]
    pinned, head = node.extra["pinned"], node.extra["head"]
    assert pinned != head
    # The first run was queued by runcmd; wait for it (oneshot: inactive when done).
    node.sh(
        "for i in $(seq 600); do "
        "s=$(systemctl show -P ActiveState mlplat-ansible-pull.service); "
        '[ "$s" = inactive ] || [ "$s" = failed ] && break; sleep 0.5; done'
    )
    result = node.sh("systemctl show -P Result mlplat-ansible-pull.service")
    log = node.sh("journalctl -u mlplat-ansible-pull.service --no-pager -n 60", ok=False)
    assert result == "success", log
    checkout = node.inputs["ansible_pull"].get("directory", "/var/lib/mlplat/ansible-pull")
    assert node.sh(f"git -C {checkout} rev-parse HEAD") == pinned
    ran = node.sh("cat /var/lib/mlplat/ansible-pull-ran")
    pool = node.inputs["node_pool"]
    assert ran == f"version=pinned node_pool={pool} extra={pool}", log


def test_callback_posted_instance_data_over_verified_tls(hosts: dict[str, Booted]) -> None:
    node = hosts["ci-gpu"]
    instance_id = node.sh("cat /var/lib/cloud/data/instance-id")
    record = json.loads(node.sh(f"cat {CALLBACK_RECORD}"))
    assert record["path"] == f"/ready/{instance_id}"  # $INSTANCE_ID substituted
    form = record["form"]
    assert form["instance_id"] == instance_id
    assert form["hostname"] in {node.inputs["hostname"], node.host.name}
    host_key = node.sh("cat /etc/ssh/ssh_host_ed25519_key.pub").split()[:2]
    assert form["pub_key_ed25519"].split()[:2] == host_key


def test_rendered_user_data_was_the_one_cloud_init_consumed(node: Booted) -> None:
    consumed = node.sh("cat /var/lib/cloud/instance/user-data.txt")
    assert consumed.strip() == node.user_data.strip()
    assert yaml.safe_load(consumed)["users"][0]["name"] == node.inputs["admin"]["name"]


def test_reboot_reruns_bootcmd_but_not_the_per_instance_steps(hosts: dict[str, Booted]) -> None:
    # Last in the module: it reboots a host the other tests have finished with.
    node = hosts["ci-onprem"]
    marker = node.sh("cat /var/lib/mlplat/bootstrap-complete")
    node.sh("chmod 0700 /etc/mlplat")
    node.host.reboot(timeout=BOOT_TIMEOUT)
    assert node.mode_owner("/etc/mlplat") == "755 root:root"  # bootcmd runs every boot
    assert node.sh("cat /var/lib/mlplat/bootstrap-complete") == marker  # runcmd did not
    assert "status: done" in node.sh("cloud-init status --long")
    assert json.loads(node.sh("cat /run/cloud-init/result.json"))["v1"]["errors"] == []
    assert node.sh("systemctl is-active ssh") == "active"
