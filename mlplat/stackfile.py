"""Reading stack files (`stacks/Pulumi.<stack>.yaml`) without the Pulumi CLI.

The offline plan engine and the CLI read stack config straight from git. Secret values
(`{secure: ...}` ciphertext) are never decrypted here: they are replaced by a marker and
their keys reported, so plans can carry them as secrets without knowing them.

Stack files are read with mlplat.core.yamlfile's bounds (size, nesting, aliases, duplicate
keys), and top-level config keys must belong to a known namespace: a misspelt namespace
(`mlpalt:gpuPools`) would otherwise be ignored as some provider's setting.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Final

from mlplat.core.config_error import ConfigError
from mlplat.core.errors import one_line
from mlplat.core.paths import REPO_ROOT, STACKS_DIR
from mlplat.core.yamlfile import YamlDocument, YamlError, read_yaml_file

SECRET_MARKER = "[secret]"
STACK_DIR = STACKS_DIR
#: Config namespaces a stack file may use: ours, the AWS provider's, Pulumi's own.
#: A program that reads more (e.g. a template with its own namespace) passes its own list.
DEFAULT_NAMESPACES: Final = ("mlplat", "aws", "pulumi")
#: Top-level keys of a Pulumi stack file; any other is a typo (`confg:`) whose settings
#: would be ignored while a reviewer reads them as applied.
STACK_FILE_KEYS: Final = ("config", "secretsprovider", "encryptedkey", "encryptionsalt",
                          "environment")


def display_path(path: Path) -> str:
    """How a file is named in messages and plans: repo-relative when inside the repo (so
    output does not depend on the checkout location), else as given."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
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


def read_stack_document(path: Path) -> YamlDocument:
    """The parsed YAML document of a stack file, with clear errors."""
    shown = display_path(path)
    try:
        document = read_yaml_file(path, shown)
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such stack file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read: {exc}") from None
    except YamlError as exc:
        raise ConfigError(one_line(str(exc))) from None
    if document.data is None:
        return YamlDocument({}, document.lines)
    if not isinstance(document.data, dict):
        raise ConfigError(f"{shown}: top level must be a mapping with a 'config' key")
    return document


def read_stack(
    path: Path, namespaces: tuple[str, ...] = DEFAULT_NAMESPACES
) -> tuple[dict[str, Any], list[str]]:
    """One read of a stack file: its `config:` mapping with secrets replaced by
    SECRET_MARKER, and the keys whose values are Pulumi secrets (`secure:`).

    Every unknown top-level key and every config key outside `namespaces` is reported,
    one line each, naming its line."""
    document = read_stack_document(path)
    shown = display_path(path)
    config = document.data.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError(f"{shown}: config: must be a mapping of namespaced keys")
    problems = [f"{shown}: line {document.line_of((key,))}: {problem}"
                for key in document.data
                if (problem := _top_level_problem(key)) is not None]
    problems += [f"{shown}: line {document.line_of(('config', key))}: {problem}"
                 for key in config
                 if (problem := _key_problem(key, namespaces)) is not None]
    if problems:
        raise ConfigError("\n".join(map(one_line, problems)))
    secrets = sorted(key for key, value in config.items() if _contains_secret(value))
    return {key: _mask_secrets(value) for key, value in config.items()}, secrets


def _top_level_problem(key: object) -> str | None:
    """Why a top-level key of a stack file is refused, or None."""
    if key in STACK_FILE_KEYS:
        return None
    close = difflib.get_close_matches(str(key), STACK_FILE_KEYS, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return (f"{key}: unknown top-level key; {hint}"
            f"(a stack file holds: {', '.join(STACK_FILE_KEYS)})")


def _key_problem(key: object, namespaces: tuple[str, ...]) -> str | None:
    """Why a top-level config key is refused, or None."""
    if not isinstance(key, str) or ":" not in key:
        return f"config.{key}: keys must be namespaced, e.g. 'mlplat:team'"
    namespace, _, name = key.partition(":")
    if namespace in namespaces:
        return None
    known = ", ".join(f"{n}:" for n in namespaces)
    close = difflib.get_close_matches(namespace, namespaces, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}:{name}'? " if close else ""
    return f"config.{key}: unknown namespace '{namespace}:'; {hint}(known: {known})"


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
