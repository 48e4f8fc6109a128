// Click a header of any table.sortable to sort by that column; click again to reverse.
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
  for (const th of header.parentNode.children) th.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((r, s) => compare(sortKey(r.cells[column]), sortKey(s.cells[column])) * (descending ? -1 : 1));
  for (const row of rows) body.appendChild(row);
}
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.sortable")) {
    for (const th of table.tHead.rows[0].cells) {
      th.addEventListener("click", () => sortBy(table, th));
    }
  }
});
