"""The built site in a real browser: headless Chromium (Debian's) driven by playwright.

`snnbench leaderboard serve` serves the site; the test reads rows and ranks, sorts by clicking
headers, follows a link to a method page, checks that an untrusted method name runs nothing,
and saves screenshots.  Without Chromium or playwright it is skipped with the reason (`.ci/run`
installs Chromium); it never passes without having run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from leaderboard_files import committed, renamed, scaled, standard_results, write

from snnbench.leaderboard import build_site

CHROMIUM = (
    os.environ.get("SNNBENCH_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
EVIL = "<script>alert(1)</script>"
# Flags for a sandboxed machine with no network (see the machine notes: without the
# background-networking flags Chromium keeps trying to reach Google's hosts).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def playwright_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(
            f"BROWSER TEST NOT RUN: playwright is not installed ({exc}); `pip install -e .[dev]`"
        )
    if CHROMIUM is None:
        pytest.skip(
            "BROWSER TEST NOT RUN: no Chromium found "
            "(apt-get install chromium, or set SNNBENCH_CHROMIUM)"
        )
    return sync_playwright


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    results = standard_results(root / "results")
    write(
        results,
        renamed(committed("recon", "first-last-xor-t6"), EVIL, description=EVIL),
        folder="evil",
    )
    site = build_site(results, root / "site")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snnbench.cli",
            "leaderboard",
            "serve",
            "--site",
            str(site),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    try:
        line = server.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, f"serve printed {line!r}"
        yield f"http://127.0.0.1:{match.group(1)}/", root
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(served):
    sync_playwright = playwright_or_skip()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def column(page, table: str, index: int) -> list[str]:
    """The text of a column's body cells (a row's method is a <th scope="row">)."""
    cells = page.locator(f"{table} tbody tr > :nth-child({index})")
    return [c.strip() for c in cells.all_inner_texts()]


def test_index_rows_sorting_and_a_method_page(served, browser):
    url, root = served
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    assert page.title() == "snnbench leaderboard"
    xor = "#family-first-last-xor table"
    assert column(page, xor, 1) == [
        "first-last-xor-t6",
        "first-last-xor-t8",
        "first-last-xor-t11",
        "first-last-xor-t14",
    ]
    page.click("text=first-last-xor-t8")
    assert page.url.endswith("/tasks/first-last-xor-t8.html")

    test_table = 'table[data-split="test"]'
    assert column(page, test_table, 1) == ["1", "2", "3"]
    assert column(page, test_table, 2) == ["recon", "sg", "weak-one-seed"]
    assert "fewer than 3 seeds" in column(page, test_table, 4)[2]
    page.screenshot(path=str(root / "task-page.png"), full_page=True)

    page.click(f"{test_table} th:has-text('accuracy')")  # ascending: the weakest first
    assert column(page, test_table, 2) == ["weak-one-seed", "sg", "recon"]
    page.click(f"{test_table} th:has-text('accuracy')")
    assert column(page, test_table, 2) == ["recon", "sg", "weak-one-seed"]
    page.click(f"{test_table} th:has-text('method')")
    assert column(page, test_table, 2) == ["recon", "sg", "weak-one-seed"]
    page.click(f"{test_table} th:has-text('method')")
    assert column(page, test_table, 2) == ["weak-one-seed", "sg", "recon"]

    page.click(f"{test_table} a:has-text('sg')")
    assert page.url.endswith("/methods/sg.html")
    assert page.inner_text("h1") == "sg"
    assert "first-last-xor-t8" in page.inner_text("#scores-table")
    page.screenshot(path=str(root / "method-page.png"), full_page=True)
    assert dialogs == []
    keep = os.environ.get("SNNBENCH_SCREENSHOTS")
    if keep:
        for shot in root.glob("*.png"):
            shutil.copy(shot, Path(keep) / shot.name)


def test_an_untrusted_method_name_is_shown_as_text_and_runs_nothing(served, browser):
    url, _ = served
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url + "tasks/first-last-xor-t6.html")
    page.click(f"table[data-split='test'] a:has-text('{EVIL}')")
    assert page.inner_text("h1") == EVIL
    assert page.inner_text("p.description") == EVIL
    assert page.locator("script:not([src])").count() == 0
    assert dialogs == []


def test_sorting_by_keyboard_sets_aria_sort(served, browser):
    url, _ = served
    page = browser.new_page()
    page.goto(url + "tasks/first-last-xor-t8.html")
    test_table = 'table[data-split="test"]'
    header = page.locator(f"{test_table} th:has-text('accuracy')")
    header.locator("button").focus()
    page.keyboard.press("Enter")  # ascending: the weakest first
    assert column(page, test_table, 2) == ["weak-one-seed", "sg", "recon"]
    assert header.get_attribute("aria-sort") == "ascending"
    page.keyboard.press("Space")
    assert column(page, test_table, 2) == ["recon", "sg", "weak-one-seed"]
    assert header.get_attribute("aria-sort") == "descending"
    other = page.locator(f"{test_table} th:has-text('method')")
    assert other.get_attribute("aria-sort") == "none"
    assert page.locator(f"{test_table} caption").count() == 1
    assert page.locator(f"{test_table} thead th[scope=col]").count() > 5


def test_overview_cells_link_to_their_task_and_downloads_are_served(served, browser):
    url, _ = served
    page = browser.new_page()
    page.goto(url)
    cell = page.locator("table.matrix td[data-task='first-last-xor-t8'] a").first
    assert column(page, "table.matrix", 3)[0].startswith(cell.inner_text())
    cell.click()
    assert page.url.endswith("/tasks/first-last-xor-t8.html")
    for name in ("results.csv", "results.json", "submit.html"):
        assert page.request.get(url + name).status == 200, name
    href = page.locator("table[data-split='test'] a:has-text('json')").first.get_attribute("href")
    linked = page.request.get(url + "tasks/" + href)
    assert linked.status == 200 and linked.json()["method"]["name"] == "recon"


@pytest.mark.parametrize("path", ["", "tasks/first-last-xor-t8.html", "methods/sg.html"])
def test_phone_width_cuts_no_score_column_off(served, browser, path):
    """At 390 px the page never scrolls sideways (wide tables scroll inside their own box,
    the method column kept in view) and the scores right after the method are on screen."""
    url, root = served
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(url + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    scores = {
        "": "#family-first-last-xor table tbody tr > :nth-child(3)",
        "tasks/first-last-xor-t8.html": "table[data-split='test'] tbody tr > :nth-child(3)",
        "methods/sg.html": "#scores-table tbody tr > :nth-child(2)",
    }[path]
    boxes = [c.bounding_box() for c in page.locator(scores).all()]
    assert boxes and all(b["x"] >= 0 and b["x"] + b["width"] <= 390 for b in boxes), boxes
    name = (path or "index").replace("/", "-").replace(".html", "")
    page.screenshot(path=str(root / f"phone-{name}.png"), full_page=True)
    keep = os.environ.get("SNNBENCH_SCREENSHOTS")
    if keep:
        shutil.copy(root / f"phone-{name}.png", Path(keep) / f"phone-{name}.png")


def test_overview_downloads_and_ties_against_the_files(served, browser, tmp_path):
    """The overview's cells are the files' test means; results.json parses back to the
    files' numbers; a fixture of two methods that cannot be told apart shows them tied."""
    url, root = served
    page = browser.new_page()
    page.goto(url)
    recon = committed("recon", "first-last-xor-t8")["summary"]["metrics"]["test"]["accuracy"]
    row = page.locator("table.matrix tr:has(a[href='methods/recon.html'])")
    cell = row.locator("td[data-task='first-last-xor-t8']")
    assert float(cell.get_attribute("data-mean")) == recon["mean"]
    assert cell.inner_text().startswith(f"{100 * recon['mean']:.1f}")
    rows = page.request.get(url + "results.json").json()
    for row in rows:
        summary = page.request.get(url + row["file"]).json()["summary"]
        stat = summary["metrics"][row["split"]][row["metric"]]
        assert (row["mean"], row["std"], row["n"]) == (stat["mean"], stat["std"], stat["n"])
    # ties: sg and a copy of it with a tiny shift share first place on the index
    results = tmp_path / "results"
    write(results, committed("sg", "first-last-xor-t8"))
    write(results, renamed(scaled(committed("sg", "first-last-xor-t8"), 0.999), "sg-twin"))
    site = build_site(results, tmp_path / "site")
    page.goto((site / "index.html").as_uri())
    leaders = page.locator("#family-first-last-xor tr:has(a[href='tasks/first-last-xor-t8.html'])")
    assert leaders.locator("a[href='methods/sg.html']").count() == 1
    assert leaders.locator("a[href='methods/sg-twin.html']").count() == 1
    assert "tied" in leaders.inner_text()
