"""The JSON Schemas of result files: version 3 (result and seed record), and versions 2 and 1
(read only: a file is checked against its own version's schema, then migrated)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Literal

from jsonschema import Draft202012Validator

SCHEMA_VERSION = 3
Kind = Literal["result", "seed_record"]
SCHEMA_FILES = {1: "result-v1.schema.json", 2: "result-v2.schema.json", 3: "result.schema.json"}


@cache
def _schema(name: str) -> dict:
    return json.loads(files("snnbench.schema").joinpath(name).read_text())


@cache
def validator(kind: Kind = "result", version: int = SCHEMA_VERSION) -> Draft202012Validator:
    """The validator of a summary file or a seed record of a schema version (version 1 had
    no seed records)."""
    schema = _schema(SCHEMA_FILES[version])
    if version > 1:
        if kind == "seed_record":  # the same file's $defs, rooted at the record
            schema = {
                "$schema": schema["$schema"],
                "$ref": "#/$defs/seed_record",
                "$defs": schema["$defs"],
            }
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(
    document: object, kind: Kind, version: int = SCHEMA_VERSION
) -> list[tuple[str, str]]:
    """(field path, message) of every schema violation, in path order."""
    errors = sorted(
        validator(kind, version).iter_errors(document),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    return [("/".join(str(p) for p in e.absolute_path), e.message) for e in errors]
