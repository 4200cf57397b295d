"""Field-level checks shared by the cloud-init input models.

Each check raises ``ValueError`` with a message meant for a human; pydantic
prefixes it with the field path, so the messages never repeat the field name.
User data is readable by anything on the instance that can reach the metadata
service (and by anyone with ``ec2:DescribeInstanceAttribute``), so the checks
refuse values that look like credentials rather than trying to protect them.
"""

from __future__ import annotations

import base64
import re
import struct
from urllib.parse import urlsplit

# Key types OpenSSH 9 accepts by default; ssh-dss is gone and stays refused.
SSH_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)

# useradd's portable subset; upper case and dots are legal on some systems but
# break tooling (sudoers aliases, Ansible inventories), so we refuse them.
_USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# Accounts Debian/Ubuntu base systems already own: "creating" one through
# cloud-init would silently modify a system account instead.
RESERVED_USERNAMES = frozenset(
    {
        "root",
        "daemon",
        "bin",
        "sys",
        "sync",
        "games",
        "man",
        "lp",
        "mail",
        "news",
        "uucp",
        "proxy",
        "www-data",
        "backup",
        "list",
        "irc",
        "gnats",
        "nobody",
        "systemd-network",
        "systemd-resolve",
        "systemd-timesync",
        "messagebus",
        "sshd",
        "_apt",
        "syslog",
        "ubuntu",
        "debian",
        "admin",
    }
)

# Markers of material that must never ship in user data. Matched anywhere in a
# string so a key pasted into a comment or a package list is caught too.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"), "a PEM/OpenSSH private key"),
    (re.compile(r"PuTTY-User-Key-File-"), "a PuTTY private key"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), "a GitLab token"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"), "a Slack token"),
    (re.compile(r"\$[0-9a-z]{1,2}\$[./0-9A-Za-z$]{8,}"), "a crypt(3) password hash"),
)

# extra_vars keys that name a credential: the value would sit in user data.
_SECRET_KEY_NAME = re.compile(
    r"(pass(word|wd)?|secret|token|private_?key|api_?key|credential)", re.I
)

_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+:~-]+)?$")
_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_GIT_SHA = re.compile(r"^[0-9a-f]{40}$")
# A conservative subset of git-check-ref-format: no "..", no leading "-" or "/",
# no "@{", no control characters or shell metacharacters.
_GIT_REF = re.compile(
    r"^(?!-)(?!/)(?!.*\.\.)(?!.*@\{)(?!.*//)[A-Za-z0-9._/-]{1,200}(?<!/)(?<!\.lock)$"
)
_TIMEZONE = re.compile(r"^(UTC|[A-Z][A-Za-z_+-]*(/[A-Za-z0-9_+-]+){1,2})$")
_REL_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def find_secret(text: str) -> str | None:
    """Return a description of the first secret-looking thing in ``text``."""
    for pattern, what in _SECRET_PATTERNS:
        if pattern.search(text):
            return what
    return None


def no_secret(value: str) -> str:
    what = find_secret(value)
    if what:
        raise ValueError(f"looks like {what}; secrets must not be put in user data")
    return value


def secret_free_key_name(value: str) -> str:
    if _SECRET_KEY_NAME.search(value):
        raise ValueError(
            f"{value!r} names a credential; pass secrets through a secret store "
            "(SSM Parameter Store, Vault, ansible-vault), not user data"
        )
    return value


def ssh_public_key(value: str) -> str:
    value = value.strip()
    if find_secret(value) or "PRIVATE KEY" in value:
        raise ValueError("looks like a private key; only public keys belong in user data")
    parts = value.split(None, 2)
    if len(parts) < 2:
        raise ValueError("not an SSH public key: expected '<type> <base64> [comment]'")
    key_type, blob = parts[0], parts[1]
    if key_type not in SSH_KEY_TYPES:
        raise ValueError(
            f"not an SSH public key: unsupported key type {key_type!r}; "
            f"use one of {', '.join(sorted(SSH_KEY_TYPES))}"
        )
    try:
        raw = base64.b64decode(blob, validate=True)
        (name_len,) = struct.unpack(">I", raw[:4])
        embedded = raw[4 : 4 + name_len].decode("ascii")
    except (ValueError, struct.error, UnicodeDecodeError) as exc:
        raise ValueError(
            "not an SSH public key: the key body is not valid base64 key data"
        ) from exc
    if embedded != key_type:
        raise ValueError(
            f"not an SSH public key: the key body says {embedded!r}, the prefix says {key_type!r}"
        )
    if "\n" in value or "\r" in value:
        raise ValueError("one key per entry: the value contains a line break")
    return value


def username(value: str) -> str:
    if not _USERNAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid username: lower-case letters, digits, '_' and '-', "
            "starting with a letter or '_', at most 32 characters"
        )
    if value in RESERVED_USERNAMES:
        raise ValueError(f"{value!r} is a system or image-default account; choose another name")
    return value


def https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ValueError(f"{value!r} must be an https:// URL")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host")
    if parts.username or parts.password:
        raise ValueError(
            "the URL carries credentials (user:password@); user data is not a secret store"
        )
    if any(c.isspace() for c in value) or any(c in value for c in "'\"`$\\"):
        raise ValueError(f"{value!r} contains whitespace or shell metacharacters")
    no_secret(value)
    return value


def callback_url(value: str) -> str:
    # cloud-init's phone_home substitutes this one placeholder; nothing else is allowed.
    https_url(value.replace("$INSTANCE_ID", "instance-id"))
    return value


def package_name(value: str) -> str:
    if not _PACKAGE.match(value):
        raise ValueError(f"{value!r} is not a Debian package name (optionally 'name=version')")
    return value


def hostname(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} is not a valid lower-case RFC 1123 host name")
    return value


def git_commit(value: str) -> str:
    if not _GIT_SHA.match(value):
        raise ValueError(f"{value!r} is not a full 40-character lower-case git commit id")
    return value


def git_ref(value: str) -> str:
    if not _GIT_REF.match(value):
        raise ValueError(f"{value!r} is not a safe git branch or tag name")
    return value


def timezone(value: str) -> str:
    if not _TIMEZONE.match(value):
        raise ValueError(f"{value!r} is not an IANA time zone name such as 'UTC' or 'Europe/Paris'")
    return value


def relative_path(value: str) -> str:
    if not _REL_PATH.match(value) or any(p in {".", ".."} for p in value.split("/")):
        raise ValueError(f"{value!r} must be a relative path inside the repository, without '..'")
    return value


def playbook_path(value: str) -> str:
    relative_path(value)
    if not value.endswith((".yml", ".yaml")):
        raise ValueError(f"{value!r} must name a playbook file ending in .yml or .yaml")
    return value
