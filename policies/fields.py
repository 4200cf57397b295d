"""Which input fields of which resources each rule reads, found by watching it read them.

A plan diff marks a change that touches a security rule's fields. Rather than a list of
field paths kept by hand beside every check (which would drift from the code, and miss
the companion resources a check looks up: a bucket's versioning is another record), each
rule is run over the plan with every record's inputs wrapped in containers that log each
field the check looks at. What a check reads on a plan is exactly what decides its
outcome there: a check is a pure function of the records (policies/model.py), so a
change to fields it read on neither side of a diff cannot change its result on that
record.

What is logged, as paths of keys (list positions dropped, so a path names a field of
every element of a list):
- a value that is not a mapping or a list (a leaf), or a key that is absent, read with
  `[]`/`get`: that key's path;
- a mapping whose keys or values are walked, compared or measured (`items()`, `in` on a
  list, `len`, `==`, iteration): the mapping's path, which covers everything below it;
- any use of a list: the list's path (lists are short; a check that looks at one element
  usually looks at all).
Reads the wrappers cannot see (C code that copies a dict without calling its methods)
would go unlogged; the test `tests/unit/test_plan_diff_rules.py` proves, for every rule,
that the change between its passing and its failing fixture is marked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule

#: A field of a record's inputs: its keys from the top, list positions left out.
FieldPath = tuple[str, ...]
#: rule id -> URN -> the fields of that record the rule read.
RuleReads = dict[str, dict[str, frozenset[FieldPath]]]


class _Log:
    """The fields read while one rule runs, per URN."""

    def __init__(self) -> None:
        self.reads: dict[str, set[FieldPath]] = {}

    def add(self, urn: str, path: FieldPath) -> None:
        self.reads.setdefault(urn, set()).add(path)


def _wrap(value: Any, log: _Log, urn: str, path: FieldPath) -> Any:
    if isinstance(value, dict):
        return _WatchedDict(value, log, urn, path)
    if isinstance(value, list):
        return _WatchedList(value, log, urn, path)
    return value


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


class _WatchedDict(dict[str, Any]):
    """A record's inputs (or a mapping inside them) that logs what is read of it."""

    def __init__(self, data: dict[str, Any], log: _Log, urn: str, path: FieldPath) -> None:
        super().__init__({key: _wrap(item, log, urn, (*path, str(key)))
                          for key, item in data.items()})
        self._log, self._urn, self._path = log, urn, path

    def _read(self, key: Any) -> None:
        value = dict.get(self, key)
        if not _is_container(value):
            self._log.add(self._urn, (*self._path, str(key)))

    def _whole(self) -> None:
        self._log.add(self._urn, self._path)

    def __getitem__(self, key: str) -> Any:
        self._read(key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        self._read(key)
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        self._read(key)
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[str]:
        self._whole()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._whole()
        return dict.__len__(self)

    def __eq__(self, other: object) -> bool:
        self._whole()
        return dict.__eq__(self, other)

    __hash__ = None

    def keys(self) -> Any:
        self._whole()
        return dict.keys(self)

    def values(self) -> Any:
        self._whole()
        return dict.values(self)

    def items(self) -> Any:
        self._whole()
        return dict.items(self)


class _WatchedList(list[Any]):
    """A list inside a record's inputs: any use of it logs the whole list."""

    def __init__(self, data: list[Any], log: _Log, urn: str, path: FieldPath) -> None:
        super().__init__(_wrap(item, log, urn, path) for item in data)
        self._log, self._urn, self._path = log, urn, path

    def _whole(self) -> None:
        self._log.add(self._urn, self._path)

    def __getitem__(self, index: Any) -> Any:
        self._whole()
        return list.__getitem__(self, index)

    def __iter__(self) -> Iterator[Any]:
        self._whole()
        return list.__iter__(self)

    def __len__(self) -> int:
        self._whole()
        return list.__len__(self)

    def __contains__(self, item: object) -> bool:
        self._whole()
        return list.__contains__(self, item)

    def __eq__(self, other: object) -> bool:
        self._whole()
        return list.__eq__(self, other)

    __hash__ = None


def _watched(plan: Plan, log: _Log) -> Plan:
    records = [dataclasses.replace(record, inputs=_wrap(record.inputs, log, record.urn, ()))
               for record in plan.resources]
    return Plan(project=plan.project, stack=plan.stack, source=plan.source,
                resources=records, outputs=plan.outputs)


def fields_read(rules: Iterable[Rule], plan: Plan) -> RuleReads:
    """For each rule, the fields of each record of `plan` its check read.

    A rule that applies to a record but read none of its fields still lists the record
    (with no fields): its outcome there depends on the record existing."""
    found: RuleReads = {}
    for rule in rules:
        log = _Log()
        watched = _watched(plan, log)
        for record in watched.resources:
            if rule.applies_to(record):
                log.reads.setdefault(record.urn, set())
                rule.evaluate(record, watched)
        found[rule.id] = {urn: frozenset(paths) for urn, paths in log.reads.items()}
    return found


def touches(read: Iterable[FieldPath], changed: FieldPath) -> bool:
    """Whether a change at `changed` (list positions left out) can alter a read field: it
    is that field, lies inside a mapping or list that was read whole, or replaces a
    mapping that holds a read field."""
    for path in read:
        shorter = min(len(path), len(changed))
        if path[:shorter] == changed[:shorter]:
            return True
    return False


def record_rules(reads: RuleReads, record: ResourceRecord) -> list[str]:
    """Rules whose outcome depended on `record` at all (it was read, or they apply to it)."""
    return sorted(rule_id for rule_id, by_urn in reads.items() if record.urn in by_urn)
