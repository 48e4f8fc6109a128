"""The JSON Schemas of result files: version 2 (result and seed record) and version 1 (read
only, before migration)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Literal

from jsonschema import Draft202012Validator

SCHEMA_VERSION = 2
Kind = Literal["result", "seed_record", "v1"]


@cache
def _schema(name: str) -> dict:
    return json.loads(files("snnbench.schema").joinpath(name).read_text())


@cache
def validator(kind: Kind = "result") -> Draft202012Validator:
    """The validator of a summary file (v2), a seed record (v2) or a version-1 file."""
    if kind == "v1":
        schema = _schema("result-v1.schema.json")
    else:
        schema = _schema("result.schema.json")
        if kind == "seed_record":  # the same file's $defs, rooted at the record
            schema = {
                "$schema": schema["$schema"],
                "$ref": "#/$defs/seed_record",
                "$defs": schema["$defs"],
            }
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(document: object, kind: Kind) -> list[tuple[str, str]]:
    """(field path, message) of every schema violation, in path order."""
    errors = sorted(
        validator(kind).iter_errors(document), key=lambda e: list(map(str, e.absolute_path))
    )
    return [("/".join(str(p) for p in e.absolute_path), e.message) for e in errors]
