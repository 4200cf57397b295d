"""Reading stack files (`stacks/Pulumi.<stack>.yaml`) without the Pulumi CLI.

The offline plan engine and the CLI read stack config straight from git. Secret values
(`{secure: ...}` ciphertext) are never decrypted here: they are replaced by a marker and
their keys reported, so plans can carry them as secrets without knowing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlplat.config import ConfigError

SECRET_MARKER = "[secret]"
# libyaml's parser when PyYAML was built with it: several times faster on many stack files.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STACK_DIR = Path(__file__).resolve().parent.parent / "stacks"


def display_path(path: Path) -> str:
    """How a file is named in messages and plans: repo-relative when inside the repo (so
    output does not depend on the checkout location), else as given."""
    try:
        return str(path.resolve().relative_to(STACK_DIR.parent))
    except ValueError:
        return str(path)


def stack_file(stack: str, stack_dir: Path = STACK_DIR) -> Path:
    """Path of a stack's config file; the stack name must be a plain name."""
    if not stack or "/" in stack or stack.startswith("."):
        raise ConfigError(f"invalid stack name {stack!r}")
    return stack_dir / f"Pulumi.{stack}.yaml"


def available_stacks(stack_dir: Path = STACK_DIR) -> list[str]:
    """Stack names that have a config file."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stack_dir.glob("Pulumi.*.yaml"))


def read_stack_document(path: Path) -> dict[str, Any]:
    """The parsed YAML document of a stack file, with clear errors."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such stack file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read: {exc}") from None
    try:
        document = yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{shown}: not valid YAML{where}: {problem}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"{shown}: top level must be a mapping with a 'config' key")
    return document


def read_stack(path: Path) -> tuple[dict[str, Any], list[str]]:
    """One read of a stack file: its `config:` mapping with secrets replaced by
    SECRET_MARKER, and the keys whose values are Pulumi secrets (`secure:`)."""
    document = read_stack_document(path)
    shown = display_path(path)
    config = document.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError(f"{shown}: config: must be a mapping of namespaced keys")
    for key in config:
        if not isinstance(key, str) or ":" not in key:
            raise ConfigError(f"{shown}: config.{key}: keys must be namespaced, e.g. 'mlplat:team'")
    secrets = sorted(key for key, value in config.items() if _contains_secret(value))
    return {key: _mask_secrets(value) for key, value in config.items()}, secrets


def read_stack_config(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file, secrets replaced by SECRET_MARKER."""
    return read_stack(path)[0]


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _contains_secret(value: Any) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, dict):
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secret(v) for v in value)
    return False


def _mask_secrets(value: Any) -> Any:
    if _is_secure(value):
        return SECRET_MARKER
    if isinstance(value, dict):
        return {k: _mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    return value
