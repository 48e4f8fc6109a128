"""The leaderboard build: ranking, refusal of invalid files, escaping of untrusted names, verify."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from leaderboard_files import committed, renamed, runner_up, scaled, standard_results, write
from typer.testing import CliRunner

from snnbench.cli import app
from snnbench.leaderboard import build_site
from snnbench.leaderboard.collect import InvalidResultError, ranking
from snnbench.leaderboard.pages import UnsafeNameError, http_links, inside, page_slug
from snnbench.methods.sg import SurrogateGradient
from snnbench.results import escapes_folder

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("board")
    standard_results(root / "results")
    return build_site(root / "results", root / "site")


def rows_of(html: str, split: str) -> list[list[str]]:
    """The text of each body row of one split's ranking table."""
    table = html.split(f'data-split="{split}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.DOTALL)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    ]


def test_site_has_index_task_method_pages_plots_and_local_assets(site: Path):
    for page in (
        "index.html",
        "tasks/first-last-xor-t8.html",
        "tasks/first-last-xor-t6.html",
        "methods/recon.html",
        "methods/sg.html",
        "methods/weak-one-seed.html",
        "plots/first-last-xor.svg",
        "static/sort.js",
        "static/style.css",
    ):
        assert (site / page).is_file(), page
    for html in site.rglob("*.html"):
        text = html.read_text()
        head = text.split("</head>")[0]
        assert not re.search(r'(src|href)="(https?:)?//', head), (
            html
        )  # CSS and JS come from static/
        assert "snnbench 0." in text and "commit" in text  # footer
    assert "<svg" in (site / "plots" / "first-last-xor.svg").read_text()


def test_tables_rank_by_the_primary_metric_and_flag_few_seeds(site: Path):
    rows = rows_of((site / "tasks" / "first-last-xor-t8.html").read_text(), "test")
    assert [r[1] for r in rows] == ["recon", "sg", "weak-one-seed"]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    recon, sg = committed("recon", "first-last-xor-t8"), runner_up()
    assert rows[0][2].startswith(
        f"{100 * recon['summary']['metrics']['test']['accuracy']['mean']:.1f}"
    )
    assert rows[1][2].startswith(
        f"{100 * sg['summary']['metrics']['test']['accuracy']['mean']:.1f}"
    )
    assert "fewer than 3 seeds" in rows[2][3] and "fewer than" not in rows[0][3]


def test_ranking_shares_ranks_on_ties_and_never_mixes_groups():
    base = dict(
        task="t",
        split="test",
        primary_metric="accuracy",
        metric="accuracy",
        preset="paper",
        params=1.0,
        spiking=True,
        method_version="1",
        spikes_per_sample=0.0,
        synops_per_sample=None,
        threads=1,
        hardware="cpu",
        file_href="results/x.json",
        train_seconds=0.0,
        std=0.0,
    )
    frame = pd.DataFrame(
        [
            {**base, "method": "a", "slug": "a", "group": "v1-x", "mean": 0.9, "n": 3},
            {**base, "method": "b", "slug": "b", "group": "v1-x", "mean": 0.9, "n": 3},
            {**base, "method": "c", "slug": "c", "group": "v1-x", "mean": 0.5, "n": 2},
            {**base, "method": "d", "slug": "d", "group": "v0-y", "mean": 1.0, "n": 3},
        ]
    )
    table = ranking(frame, "t", "v1-x", "test")
    assert list(table.method) == ["a", "b", "c"] and list(table["rank"]) == [1, 1, 3]
    assert list(table.few_seeds) == [False, False, True]
    assert list(ranking(frame, "t", "v0-y", "test").method) == ["d"]


def test_an_invalid_file_stops_the_build_with_file_and_reason(tmp_path: Path):
    results = standard_results(tmp_path / "results")
    bad = committed("recon", "first-last-xor-t6")
    bad["runs"][0]["metrics"]["test"]["accuracy"] = 1.5
    path = results / "broken" / "first-last-xor-t6.json"
    path.parent.mkdir()
    path.write_text(json.dumps(bad))
    result = runner.invoke(
        app, ["leaderboard", "build", "--results", str(results), "--out", str(tmp_path / "site")]
    )
    assert result.exit_code == 1
    assert str(path) in result.output and "runs/0/metrics/test/accuracy" in result.output
    assert not (tmp_path / "site").exists()


def test_results_of_another_task_version_are_refused(tmp_path: Path):
    old = committed("recon", "first-last-xor-t6")
    old["task"]["version"] = "v0"
    write(tmp_path / "results", old)
    with pytest.raises(InvalidResultError, match="task/version"):
        build_site(tmp_path / "results", tmp_path / "site")


def test_untrusted_names_descriptions_and_links_are_text(tmp_path: Path):
    evil = renamed(
        committed("recon", "first-last-xor-t6"),
        "<script>alert(1)</script>",
        description='<img src=x onerror="alert(2)">',
        paper="javascript:alert(3) and https://example.org/p?a=1&b=2",
    )
    write(tmp_path / "results", evil, folder="evil")
    site = build_site(tmp_path / "results", tmp_path / "site")
    pages = {p: p.read_text() for p in site.rglob("*.html")}
    everything = "\n".join(pages.values())
    assert "<script>alert" not in everything and "<img src=x" not in everything
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in everything
    assert "javascript:" not in "".join(re.findall(r'href="([^"]*)"', everything))
    assert 'href="https://example.org/p?a=1&amp;b=2"' in everything
    method_pages = list((site / "methods").iterdir())
    assert len(method_pages) == 1 and re.fullmatch(r"[a-z0-9._-]+\.html", method_pages[0].name)


@pytest.mark.parametrize(
    "name", ["../../escaped", "/etc/passwd", "..", "a/../../b", "C:\\x", "..\\..\\x"]
)
def test_names_that_would_leave_the_output_folder_are_rejected(tmp_path: Path, name: str):
    assert escapes_folder(name)
    write(tmp_path / "results", renamed(committed("recon", "first-last-xor-t6"), name), folder="x")
    with pytest.raises(InvalidResultError, match="escape the output folder"):
        build_site(tmp_path / "results", tmp_path / "site")


def test_page_paths_stay_inside_the_site(tmp_path: Path):
    assert inside(tmp_path, "methods/x.html") == (tmp_path / "methods" / "x.html").resolve()
    with pytest.raises(UnsafeNameError):
        inside(tmp_path, "../x.html")
    assert not escapes_folder("<script>alert(1)</script>") and not escapes_folder("a..b")


def test_slugs_and_links():
    assert page_slug("recon") == "recon"
    assert page_slug("My Method") != page_slug("my-method")
    assert re.fullmatch(r"[a-z0-9._-]+", page_slug("<script>alert(1)</script>"))
    assert http_links("see https://a.org/x, javascript:alert(1) data:text/html,hi") == [
        "https://a.org/x"
    ]


def test_two_files_for_the_same_method_and_task_are_refused(tmp_path: Path):
    doc = committed("recon", "first-last-xor-t6")
    write(tmp_path / "results", doc)
    write(tmp_path / "results", copy.deepcopy(doc), folder="copy")
    with pytest.raises(InvalidResultError, match="both hold"):
        build_site(tmp_path / "results", tmp_path / "site")


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("quick")
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--method",
            "recon",
            "--task",
            "first-last-xor-t6",
            "--preset",
            "quick",
            "--seeds",
            "0",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out / "recon" / "first-last-xor-t6.json"


def test_verify_reproduces_a_seed_exactly(quick_result: Path):
    result = runner.invoke(app, ["verify", str(quick_result), "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "reproduced exactly" in result.output


def test_verify_catches_a_claim_the_rerun_does_not_support(quick_result: Path, tmp_path: Path):
    doc = scaled(json.loads(quick_result.read_text()), 0.9)
    path = write(tmp_path, doc)
    result = runner.invoke(app, ["verify", str(path), "--seed", "0"])
    assert result.exit_code == 1
    assert "NOT reproduced" in result.output


def test_verify_names_missing_seeds(quick_result: Path):
    result = runner.invoke(app, ["verify", str(quick_result), "--seed", "7"])
    assert result.exit_code == 1 and "no run for seed 7" in result.output


def test_the_ann_reference_is_marked_and_shows_no_spike_count(tmp_path: Path):
    ann = renamed(committed("recon", "first-last-xor-t6"), "some-ann")
    for run in ann["runs"]:  # a GRU: no spikes
        run["model"].update(
            kind="gru", spiking=False, spec={"kind": "gru", "n_in": 2, "n_out": 2, "hidden": 8}
        )
        run["spikes"].update(per_sample=0.0, per_neuron_per_step=0.0)
        if "efficiency" in run:  # files of schema 3 on: nor any activity figures
            run["efficiency"] = None
    write(tmp_path / "results", ann)
    write(
        tmp_path / "results", scaled(committed("recon", "first-last-xor-t6"), 0.9)
    )  # below the ANN
    site = build_site(tmp_path / "results", tmp_path / "site")
    rows = rows_of((site / "tasks" / "first-last-xor-t6.html").read_text(), "test")
    marked = {r[1]: r for r in rows}
    assert (
        "ANN reference" in marked["some-ann ANN reference"][1]
        and "n/a (ANN)" in marked["some-ann ANN reference"]
    )
    assert "ANN" not in " ".join(marked["recon"])
    assert (
        marked["some-ann ANN reference"][0] == "ref" and marked["recon"][0] == "1"
    )  # only SNNs are ranked
    index = (site / "index.html").read_text()
    family = index.split('id="family-first-last-xor"', 1)[1]
    leader = family.split('href="tasks/first-last-xor-t6.html"', 1)[1].split("</tr>", 1)[0]
    # one ranked SNN beside the reference: no leader (first of one means nothing)
    assert "no leader" in leader and "some-ann" not in leader


def test_scores_of_an_older_method_version_are_flagged(tmp_path: Path):
    old = committed("recon", "first-last-xor-t6")
    old["method"]["version"] = "0"
    write(tmp_path / "results", old)
    current = committed("sg", "first-last-xor-t6")
    current["method"]["version"] = SurrogateGradient.version  # as if re-run with today's code
    write(tmp_path / "results", current)
    site = build_site(tmp_path / "results", tmp_path / "site")
    rows = {
        r[1]: r for r in rows_of((site / "tasks" / "first-last-xor-t6.html").read_text(), "test")
    }
    assert rows["recon"][4].startswith("v0") and "code is now v" in rows["recon"][4]
    assert "code is now" not in rows["sg"][4]


def test_build_never_deletes_what_it_did_not_make(tmp_path):
    results = standard_results(tmp_path / "results")
    files_before = sorted(p.relative_to(results) for p in results.rglob("*"))
    for out in (results, results / "recon", tmp_path):  # is, inside, holds --results
        result = runner.invoke(
            app, ["leaderboard", "build", "--results", str(results), "--out", str(out)]
        )
        assert result.exit_code == 2 and "--results" in result.output, result.output
    assert sorted(p.relative_to(results) for p in results.rglob("*")) == files_before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = runner.invoke(
        app, ["leaderboard", "build", "--results", str(results), "--out", str(mine)]
    )
    assert result.exit_code == 2 and "not a site snnbench built" in result.output
    assert (mine / "notes.txt").read_text() == "keep me"


def test_a_failed_build_leaves_the_previous_site(tmp_path):
    results = standard_results(tmp_path / "results")
    site = build_site(results, tmp_path / "site")
    build_site(results, site)  # a site we built is replaced
    index = (site / "index.html").read_text()
    bad = committed("recon", "first-last-xor-t6")
    bad["runs"][0]["metrics"]["test"]["accuracy"] = 2.0
    write(results, bad)
    with pytest.raises(InvalidResultError):
        build_site(results, site)
    assert (site / "index.html").read_text() == index
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".")
    ] == []  # no temp folders left


def test_the_index_lists_every_method_tied_for_first(tmp_path: Path):
    """The committed first-last-xor-t6 files: five SNN methods at 100.0 +- 0.0 (and the GRU
    reference, unranked) share first place, and the index names all five."""
    results = tmp_path / "results"
    tied = ["admm", "recon", "recon-sg", "reservoir", "sg-recon"]
    for method in [*tied, "gru"]:
        (results / method).mkdir(parents=True)
        source = ROOT / "leaderboard" / "results" / method / "first-last-xor-t6.json"
        shutil.copy(source, results / method / source.name)
    site = build_site(results, tmp_path / "site")
    rows = rows_of((site / "tasks" / "first-last-xor-t6.html").read_text(), "test")
    assert sorted(r[0] for r in rows) == ["1"] * 5 + ["ref"]
    index = (site / "index.html").read_text()
    family = index.split('id="family-first-last-xor"', 1)[1]
    row = family.split('href="tasks/first-last-xor-t6.html"', 1)[1].split("</tr>", 1)[0]
    assert all(f'methods/{m}.html"' in row for m in tied) and "gru" not in row
    assert "tied" in row and "Welch" in index


def test_a_parameter_budget_far_from_the_median_is_flagged():
    base = dict(
        task="t", split="test", primary_metric="accuracy", metric="accuracy", preset="paper",
        spiking=True, method_version="1", spikes_per_sample=0.0, synops_per_sample=None,
        threads=1, hardware="cpu", file_href="results/x.json",
        train_seconds=0.0, std=0.0, group="v1-x", n=3,
    )  # fmt: skip
    frame = pd.DataFrame(
        [
            {**base, "method": m, "slug": m, "mean": mean, "params": params}
            for m, mean, params in [("a", 0.9, 16e3), ("b", 0.8, 503e3), ("c", 0.7, 500e3)]
        ]
    )
    table = ranking(frame, "t", "v1-x", "test").set_index("method")
    assert table.budget_ratio["a"] < 0.5 and 0.5 <= table.budget_ratio["b"] <= 2


def test_published_numbers_are_shown_beside_ours_and_never_ranked(site: Path, tmp_path: Path):
    html = (site / "tasks" / "first-last-xor-t8.html").read_text()
    test_table = html.split('data-split="test"', 1)[1].split("</table>", 1)[0]
    body, foot = test_table.split("<tfoot>", 1)
    assert "reported in the paper" in foot and "100.0" in foot and "recon paper" in foot
    assert "reported in the paper" not in body  # not a ranked row
    write(tmp_path / "results", committed("sg", "add-b2"))  # base 2: nothing published
    other = build_site(tmp_path / "results", tmp_path / "site")
    assert "reported in the paper" not in (other / "tasks" / "add-b2.html").read_text()


def test_the_overview_matrix_matches_the_result_files(site: Path):
    """Every cell is the file's test mean of the task's primary metric; first places bold."""
    index = (site / "index.html").read_text()
    matrix = index.split('<table class="matrix">', 1)[1].split("</table>", 1)[0]
    header = re.findall(r'<th scope="col"><a href="tasks/([^"]+)\.html">', matrix)
    assert header == ["first-last-xor-t6", "first-last-xor-t8"]  # registry order
    cells = {}
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", matrix, re.DOTALL)
    for row in rows:
        method = re.search(r'methods/([^"]+)\.html', row).group(1)
        for task, mean in re.findall(r'data-task="([^"]+)" data-mean="([^"]+)"', row):
            cells[(method, task)] = float(mean)
    recon_t8 = committed("recon", "first-last-xor-t8")["summary"]["metrics"]["test"]["accuracy"]
    sg_t8 = runner_up()["summary"]["metrics"]["test"]["accuracy"]
    assert cells[("recon", "first-last-xor-t8")] == recon_t8["mean"]
    assert cells[("sg", "first-last-xor-t8")] == sg_t8["mean"]
    assert ("sg", "first-last-xor-t6") not in cells  # no file: an empty cell
    best = re.findall(r'class="num best[^"]*" data-task="([^"]+)"', matrix)
    assert best == ["first-last-xor-t8"]  # recon, first of three; t6 has one method: no best
    assert rows[0].count("methods/recon.html")  # mean rank 1 first


def test_downloads_hold_every_published_number_and_the_files(site: Path):
    """results.csv and results.json parse back to the same rows; each row's numbers are its
    file's summary; the linked copy of the file is the file."""
    frame = pd.read_csv(site / "results.csv")
    rows = json.loads((site / "results.json").read_text())
    assert len(rows) == len(frame) > 0
    assert [r["mean"] for r in rows] == list(frame["mean"])
    for row in rows:
        copy = json.loads((site / row["file"]).read_text())  # the site's copy of the file
        stat = copy["summary"]["metrics"][row["split"]][row["metric"]]
        assert (row["mean"], row["std"], row["n"]) == (stat["mean"], stat["std"], stat["n"])
        assert copy["method"]["name"] == row["method"] and copy["task"]["id"] == row["task"]
    assert {"recon", "sg", "weak-one-seed"} == {r["method"] for r in rows}


def test_method_pages_have_a_changelog_and_task_order(site: Path):
    page = (site / "methods" / "recon.html").read_text()
    changelog = page.split('<table class="changelog">', 1)[1].split("</table>", 1)[0]
    assert "barrier" in changelog and "HiGHS" in changelog  # versions 3 and 2
    scores = page.split('id="scores-table"', 1)[1].split("</table>", 1)[0]
    tasks = re.findall(r'<a href="../tasks/([^"]+)\.html">', scores)
    assert tasks == sorted(tasks, key=lambda t: int(t.rsplit("-t", 1)[1]))  # t6 before t8


def test_the_submit_page_is_contributing_md_with_its_html_escaped(site: Path):
    page = (site / "submit.html").read_text()
    assert "<h1>How to submit a method</h1>" in page and "check_method" in page
    assert 'href="submit.html"' in (site / "index.html").read_text()


def test_pareto_front_and_cost_plots(site: Path):
    from snnbench.leaderboard.plots import pareto_front

    points = pd.DataFrame({"cost": [1, 2, 3, 4], "mean": [0.5, 0.4, 0.9, 0.9]})
    assert list(pareto_front(points).cost) == [1, 3]  # 2 is beaten by 1; 4 by 3
    assert "<svg" in (site / "plots" / "first-last-xor-pareto-train_seconds.svg").read_text()
    # a synaptic-operations plot exactly where some file of the family carries the metric
    measured = any(
        run.get("efficiency") and run["efficiency"].get("effective_acs") is not None
        for path in (site.parent / "results").glob("*/first-last-xor-*.json")
        for run in json.loads(path.read_text())["runs"]
    )
    synops = site / "plots" / "first-last-xor-pareto-synops_per_sample.svg"
    assert synops.exists() == measured
    assert "first-last-xor-pareto-train_seconds.svg" in (site / "index.html").read_text()


def test_a_repository_url_links_each_file_to_the_code_at_its_commit(tmp_path: Path):
    results = standard_results(tmp_path / "results")
    commit = "0123456789abcdef" * 2 + "01234567"  # a full hash, from a clean tree
    doc = committed("recon", "first-last-xor-t8")
    doc["environment"]["git_commit"] = commit
    write(results, doc)
    site = build_site(results, tmp_path / "site", repo_url="https://example.org/snnbench")
    page = (site / "methods" / "recon.html").read_text()
    assert f'href="https://example.org/snnbench/tree/{commit}"' in page
    assert runner.invoke(app, ["leaderboard", "build", "--repo-url", "ftp://x"]).exit_code == 2
    plain = (build_site(results, tmp_path / "plain") / "methods" / "recon.html").read_text()
    assert "example.org" not in plain and f"commit {commit[:10]}" in plain


def test_preset_and_environment_fields_cannot_steer_or_crash_the_build(tmp_path: Path):
    """A preset is a name (it becomes part of a site path); a thread count is an integer."""
    from snnbench.results import validate_file

    doc = committed("recon", "first-last-xor-t8")
    doc["method"]["preset"] = "x/../../sg/first-last-xor-t8-paper"
    path = write(tmp_path / "a", doc)
    assert any("preset" in p.field for p in validate_file(path))
    doc = committed("recon", "first-last-xor-t8")
    doc["environment"]["torch_threads"] = [1, 2]
    path = write(tmp_path / "b", doc)
    assert any("torch_threads" in p.field for p in validate_file(path))


def test_a_second_preset_of_one_method_is_not_a_rival(tmp_path: Path):
    """recon with a paper and a quick file on one task is one method: no leader."""
    results = tmp_path / "results"
    write(results, committed("recon", "first-last-xor-t8"))
    quick = scaled(committed("recon", "first-last-xor-t8"), 0.5)
    quick["method"]["preset"] = "quick"
    write(results, quick, folder="recon-quick")
    site = build_site(results, tmp_path / "site")
    family = (site / "index.html").read_text().split('id="family-first-last-xor"', 1)[1]
    row = family.split('href="tasks/first-last-xor-t8.html"', 1)[1].split("</tr>", 1)[0]
    assert "no leader" in row
