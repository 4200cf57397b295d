"""The part of SARIF 2.1.0 that `mlplat audit --format sarif` relies on, as a JSON schema.

No PyPI package ships the official SARIF 2.1.0 schema (sarif-om is an object model without
it, sarif-tools reads SARIF without it), and we do not copy it in. So this schema states,
from the SARIF 2.1.0 specification (OASIS), the constraints that consumers such as GitHub
code scanning depend on: version, tool.driver with named rules, results with ruleId, a
message text, a level from the closed set, locations, and suppressions of the defined kinds.
"""

from __future__ import annotations

from typing import Any

_MESSAGE = {"type": "object", "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1}}}
_LOCATION = {
    "type": "object",
    "properties": {
        "physicalLocation": {
            "type": "object", "required": ["artifactLocation"],
            "properties": {
                "artifactLocation": {"type": "object", "required": ["uri"],
                                     "properties": {"uri": {"type": "string"}}},
                "region": {"type": "object",
                           "properties": {"startLine": {"type": "integer", "minimum": 1}}},
            },
        },
        "logicalLocations": {"type": "array", "items": {
            "type": "object", "properties": {"fullyQualifiedName": {"type": "string"},
                                             "name": {"type": "string"},
                                             "kind": {"type": "string"}}}},
    },
}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}

SARIF_2_1_0_STRUCTURE: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {
                    "driver": {"type": "object", "required": ["name", "rules"], "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "version": {"type": "string"},
                        "rules": {"type": "array", "items": {
                            "type": "object", "required": ["id", "shortDescription"],
                            "properties": {
                                "id": {"type": "string", "minLength": 1},
                                "shortDescription": _MESSAGE,
                                "fullDescription": _MESSAGE,
                                "help": _MESSAGE,
                                "defaultConfiguration": {"type": "object", "properties": {
                                    "level": _LEVEL}},
                                "properties": {"type": "object"},
                            }}},
                    }}}},
                "results": {"type": "array", "items": {
                    "type": "object",
                    "required": ["ruleId", "message", "locations"],
                    "properties": {
                        "ruleId": {"type": "string"},
                        "ruleIndex": {"type": "integer", "minimum": 0},
                        "level": _LEVEL,
                        "message": _MESSAGE,
                        "locations": {"type": "array", "minItems": 1, "items": _LOCATION},
                        "partialFingerprints": {"type": "object",
                                                "additionalProperties": {"type": "string"}},
                        "suppressions": {"type": "array", "items": {
                            "type": "object", "required": ["kind"],
                            "properties": {
                                "kind": {"enum": ["inSource", "external"]},
                                "status": {"enum": ["accepted", "underReview", "rejected"]},
                                "justification": {"type": "string"},
                            }}},
                    }}},
            }}},
    },
}
