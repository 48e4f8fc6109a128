// Sortable tables: each header of a table.sortable becomes a button (reachable by keyboard);
// pressing it sorts by that column, pressing again reverses; the header carries aria-sort.
// Cells sort by their data-sort value when numeric, else by their text.
"use strict";
function sortKey(cell) {
  const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
  const num = Number(raw);
  return raw !== "" && !Number.isNaN(num) ? num : raw.toLowerCase();
}
function compare(a, b) {
  if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
  return typeof a === "number" ? -1 : 1;  // numbers before text
}
function sortBy(table, header) {
  const column = Array.from(header.parentNode.children).indexOf(header);
  const descending = header.getAttribute("aria-sort") === "ascending";
  for (const th of header.parentNode.children) th.setAttribute("aria-sort", "none");
  header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((r, s) => compare(sortKey(r.cells[column]), sortKey(s.cells[column])) * (descending ? -1 : 1));
  for (const row of rows) body.appendChild(row);
}
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.sortable")) {
    for (const th of table.tHead.rows[0].cells) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      // on the header, so that a click anywhere in it sorts; the button's own clicks (and
      // Enter or Space on it) bubble up to it
      th.addEventListener("click", () => sortBy(table, th));
    }
  }
  // secondary metrics: hidden until asked for
  for (const toggle of document.querySelectorAll("button.toggle-secondary")) {
    toggle.addEventListener("click", () => {
      const table = document.getElementById(toggle.getAttribute("aria-controls"));
      const shown = table.classList.toggle("show-secondary");
      toggle.setAttribute("aria-expanded", shown ? "true" : "false");
      toggle.textContent = shown ? "hide secondary metrics" : "show secondary metrics";
    });
  }
});
