"""PromQL checks for dashboards and rules: does a query parse, and which metrics does it read.

Parsing is promql-parser's (a Python binding of the Rust `promql-parser` crate that
GreptimeDB uses, following Prometheus's grammar). Grafana queries carry template variables
that are not PromQL; `grafana_to_promql` replaces them with values of the right kind first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import promql_parser

from mlplat.observability.metrics import exporter_of

#: Grafana's built-in interval variables stand where PromQL wants a duration.
_INTERVAL_VARIABLES = re.compile(r"\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|"
                                 r"__interval|__range)\}")
#: Dashboard variables (`$team`, `${model}`): used inside label matcher strings.
_VARIABLE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


class PromqlError(ValueError):
    """A query that does not parse, or reads metrics no exporter of the stack emits."""


def grafana_to_promql(query: str) -> str:
    """The query with Grafana's variables replaced: intervals by `5m`, the rest (which
    only appear inside matcher strings in mlplat's dashboards) by a plain word."""
    return _VARIABLE.sub("value", _INTERVAL_VARIABLES.sub("5m", query))


def parse(query: str) -> promql_parser.Expr:
    """The AST of `query` (Grafana variables allowed); PromqlError if it does not parse."""
    try:
        return promql_parser.parse(grafana_to_promql(query))
    except ValueError as error:
        raise PromqlError(f"{query!r} does not parse: {error}") from None


def metric_names(query: str) -> frozenset[str]:
    """Names of the series `query` selects (`foo` in `rate(foo[5m])`)."""
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(parse(query), visit)
    return frozenset(names)


def unknown_metrics(queries: Iterable[str]) -> dict[str, frozenset[str]]:
    """Queries that read series no exporter of the stack emits, with those series."""
    found: dict[str, frozenset[str]] = {}
    for query in queries:
        unknown = frozenset(n for n in metric_names(query) if exporter_of(n) is None)
        if unknown:
            found[query] = unknown
    return found
