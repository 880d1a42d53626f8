/* Settings pages: colour swatches of priorities, and drag-to-reorder of the priority
 * table (the up/down buttons do the same without JS). No inline script (CSP). */
(function () {
  "use strict";

  function paintSwatches() {
    document.querySelectorAll(".swatch[data-colour]").forEach(function (el) {
      var colour = el.dataset.colour;
      if (/^#[0-9a-fA-F]{6}$/.test(colour)) { el.style.backgroundColor = colour; }
    });
  }

  function sortable(tbody) {
    var form = tbody.closest("form");
    var dragged = null;
    tbody.querySelectorAll("tr[draggable]").forEach(function (row) {
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
        var box = row.getBoundingClientRect();
        var after = event.clientY > box.top + box.height / 2;
        tbody.insertBefore(dragged, after ? row.nextSibling : row);
      });
      row.addEventListener("drop", function (event) {
        event.preventDefault();
        if (form) { form.submit(); }  // the hidden id inputs now follow the new order
      });
    });
  }

  function start() {
    paintSwatches();
    document.querySelectorAll("tbody.sortable").forEach(sortable);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
