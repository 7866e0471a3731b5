// Sortable tables: a column header's button sorts its table by that column, again to
// reverse. Numbers sort by the raw value in data-sort; unknown values (empty) go last.
(function () {
  "use strict";
  function key(row, index, numeric) {
    var cell = row.cells[index];
    var text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (!numeric) { return text === "—" ? null : text.toLowerCase(); }
    return text === "" ? null : Number(text);
  }
  function sort(table, header, index) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var numeric = header.classList.contains("num");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (row, position) {
      return { row: row, key: key(row, index, numeric), position: position };
    });
    rows.sort(function (a, b) {
      if (a.key === b.key) { return a.position - b.position; }
      if (a.key === null) { return 1; }
      if (b.key === null) { return -1; }
      var order = a.key < b.key ? -1 : 1;
      return ascending ? order : -order;
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      var button = header.querySelector("button");
      if (button) {
        button.addEventListener("click", function () { sort(table, header, index); });
      }
    });
  });
})();
