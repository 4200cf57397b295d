"""ConfigError, in a module of its own so that a command can catch it without importing the
config models (pydantic and sixty model classes, about a quarter of a second): a fully cached
`mlplat plan` never validates anything."""

from __future__ import annotations


class ConfigError(ValueError):
    """Invalid stack configuration. The message names the file and the field path."""
