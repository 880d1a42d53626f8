/* Ordered settings tables (routing rules, SLA rules, triggers): drag a row to a new place
 * (HTML5 drag and drop); the new order is posted to the table's data-reorder-url as
 * order=<id>,<id>,... with the CSRF token, then the page is loaded again from the server. The
 * up/down buttons are plain forms and work without this script. */
(function () {
  "use strict";

  function rowsOf(table) {
    return Array.prototype.slice.call(table.querySelectorAll("tbody tr.ordered-row"));
  }

  function setUp(table) {
    var dragged = null;
    var errorBox = table.nextElementSibling;

    function renumber() {
      rowsOf(table).forEach(function (row, index) {
        var cell = row.querySelector(".pos");
        if (cell) { cell.textContent = String(index + 1); }
      });
    }

    function save() {
      var order = rowsOf(table).map(function (row) { return row.dataset.id; }).join(",");
      var body = new URLSearchParams();
      body.set("order", order);
      body.set("csrf_token", table.dataset.csrf || "");
      table.classList.add("saving");
      fetch(table.dataset.reorderUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-Requested-With": "ordered-table" },
      }).then(function (response) {
        if (response.ok) {
          window.location.assign(window.location.pathname + "?done=reordered");
          return null;
        }
        return response.text().then(function () {
          if (errorBox) {
            errorBox.hidden = false;
            errorBox.textContent = "The new order was refused (" + response.status + "); reload the page.";
          }
        });
      }).catch(function () {
        if (errorBox) {
          errorBox.hidden = false;
          errorBox.textContent = "The new order could not be saved; reload the page.";
        }
      }).finally(function () { table.classList.remove("saving"); });
    }

    rowsOf(table).forEach(function (row) {
      row.addEventListener("dragstart", function (event) {
        dragged = row;
        row.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", row.dataset.id || "");
      });
      row.addEventListener("dragend", function () {
        row.classList.remove("dragging");
        dragged = null;
      });
      row.addEventListener("dragover", function (event) {
        if (!dragged || dragged === row) { return; }
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
      });
      row.addEventListener("drop", function (event) {
        if (!dragged || dragged === row) { return; }
        event.preventDefault();
        var box = row.getBoundingClientRect();
        var after = event.clientY > box.top + box.height / 2;
        row.parentNode.insertBefore(dragged, after ? row.nextSibling : row);
        renumber();
        save();
      });
    });
  }

  document.querySelectorAll("table.ordered[data-reorder-url]").forEach(setUp);
})();
