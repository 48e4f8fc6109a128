"""The result tables in docs/ are regenerated from leaderboard/results, never typed by hand:
these tests fail when a committed result file and the page quoting it disagree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str):
    """Import a script that lives outside the package (leaderboard/, docs/probes/)."""
    spec = importlib.util.spec_from_file_location(Path(relative).stem, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reproduction_table = load_script("leaderboard/reproduction_table.py")

# (page, the columns its table was printed with, the cells' value): the commands quoted there
LIBRARIES = ["sg", "sg-snntorch", "sg-spikingjelly"]
TABLES = [
    ("docs/reproduction.md", reproduction_table.METHODS, "score"),
    ("docs/reproduction.md", reproduction_table.METHODS, "synops"),
    ("docs/admm.md", ["admm", "reservoir", "recon", "sg", "gru"], "score"),
    ("docs/library-baselines.md", LIBRARIES, "score"),
    ("docs/library-baselines.md", LIBRARIES, "synops"),
]


@pytest.mark.parametrize("page,methods,value", TABLES, ids=[f"{p}-{v}" for p, _, v in TABLES])
def test_doc_tables_match_the_result_files(page, methods, value):
    table = reproduction_table.markdown_table(
        ROOT / "leaderboard" / "results", methods, ["test", "ood-10x"], value
    )
    assert table in (ROOT / page).read_text(), (
        f"{page} is stale: run leaderboard/reproduction_table.py --update {page}"
    )


def test_update_replaces_only_the_table_with_the_same_header(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "intro\n\n| a | b |\n|--|--|\n| 1 | 2 |\n| 3 | 4 |\n\nafter\n\n| c |\n|--|\n| 9 |\n"
    )
    reproduction_table.replace_table(page, "| a | b |\n|--|--|\n| 5 | 6 |")
    assert (
        page.read_text()
        == "intro\n\n| a | b |\n|--|--|\n| 5 | 6 |\n\nafter\n\n| c |\n|--|\n| 9 |\n"
    )
    with pytest.raises(SystemExit, match="no table"):
        reproduction_table.replace_table(page, "| x |\n|--|\n| 1 |")
    # a wider cell re-pads the header: still the same table
    reproduction_table.replace_table(page, "| a     | b |\n|--|--|\n| 55555 | 6 |")
    assert "| 55555 | 6 |" in page.read_text() and "| 5 | 6 |" not in page.read_text()


def test_admm_trace_table_matches_the_result_files(capsys):
    load_script("docs/probes/admm_traces.py").main(
        sorted((ROOT / "leaderboard" / "results" / "admm").glob("*.json"))
    )
    table = capsys.readouterr().out.rstrip("\n")
    assert table in (ROOT / "docs" / "admm.md").read_text(), "docs/admm.md's trace table is stale"
