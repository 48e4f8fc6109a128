"""The result model: the only code that knows the layout of result files.

Reading (untrusted input: size, encoding, depth, NaN refused), migrating older schema
versions, validating against the JSON Schema and the semantic checks, summarising seeds, and
writing records and summaries atomically all live here; evaluate, verify, validate and the
site go through these functions and get typed objects back.
"""

from __future__ import annotations

from pathlib import Path

from snnbench.errors import ResultFileError
from snnbench.results.checks import Problem, escapes_folder, record_problems, result_problems
from snnbench.results.io import read_json
from snnbench.results.migrate import MIGRATIONS, migrate
from snnbench.results.model import ResultFile, SeedRecord, mean_std, now, summarize
from snnbench.results.schema import SCHEMA_VERSION, schema_errors
from snnbench.results.store import RECORD, ResultStore, result_files, summary_path

__all__ = [
    "SCHEMA_VERSION",
    "Problem",
    "ResultFile",
    "ResultStore",
    "SeedRecord",
    "escapes_folder",
    "load_document",
    "load_record",
    "load_result",
    "mean_std",
    "now",
    "result_files",
    "summarize",
    "summary_path",
    "validate_file",
]


OLDER_VERSIONS = tuple(MIGRATIONS)


def kind_of(path: Path) -> str:
    """A file named seed-<n>.json is a seed record, any other a summary: the name decides, so
    a record's content in a summary's place fails the summary schema instead of passing as a
    record and then being read as a summary."""
    return "seed_record" if RECORD.match(path.name) else "result"


def load_document(path: Path) -> tuple[dict, list[Problem]]:
    """The document in the current layout, and its schema problems (empty when valid).

    Older versions are checked against their own schema, then migrated.  Raises
    ResultFileError when the file cannot be read or parsed at all.
    """
    file = str(path)
    doc = read_json(Path(path))
    if not isinstance(doc, dict):
        return doc, [Problem(file, "", f"is a JSON {type(doc).__name__}, not an object")]
    version = doc.get("schema_version")
    if version in OLDER_VERSIONS:  # checked against its own version's schema, then migrated
        errors = schema_errors(doc, kind_of(Path(path)), version)
        if errors:
            return doc, [Problem(file, f, m) for f, m in errors]
        doc = migrate(doc)
    return doc, [Problem(file, f, m) for f, m in schema_errors(doc, kind_of(Path(path)))]


def _load(path: Path) -> dict:
    doc, problems = load_document(path)
    if problems:
        raise ResultFileError(
            f"{problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        )
    return doc


def load_result(path: Path) -> ResultFile:
    """A summary file, schema-checked and migrated (not the semantic checks: validate_file)."""
    return ResultFile.from_document(_load(path))


def load_record(path: Path) -> SeedRecord:
    return SeedRecord.from_document(_load(path))


def validate_file(path: str | Path, data_dir: str | None = None) -> list[Problem]:
    """Every problem of one file; never raises, whatever the file holds."""
    file = str(path)
    try:
        doc, problems = load_document(Path(path))
    except ResultFileError as exc:
        return [Problem(file, "", str(exc).removeprefix(f"{file}: "))]
    if problems:
        return problems
    check = record_problems if kind_of(Path(path)) == "seed_record" else result_problems
    try:
        return check(doc, file, data_dir)
    except Exception as exc:  # defence in depth: a hostile file must never crash a command
        return [Problem(file, "", f"could not be checked ({type(exc).__name__}: {exc})")]
