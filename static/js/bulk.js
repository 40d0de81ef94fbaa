// Bulk actions of the conversation list and the Trash. The pages work without
// this script (tick rows, pick the action, continue); it adds a box that ticks
// every row of the page, a count of the ticked rows, and picks "the rows
// ticked" when a row is ticked. Listens on the document, so rows that htmx
// swaps in work too.
(function () {
  "use strict";

  function rows(form) {
    return document.querySelectorAll('input[data-bulk-row][form="' + form.id + '"]');
  }

  function refresh(form) {
    var boxes = rows(form);
    var ticked = 0;
    boxes.forEach(function (box) {
      if (box.checked) ticked += 1;
    });
    var count = form.querySelector("[data-bulk-count]");
    if (count) count.textContent = ticked ? "(" + ticked + " ticked)" : "";
    var all = document.querySelector('input[data-bulk-all][form="' + form.id + '"]');
    if (all) {
      all.hidden = false;
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  function setUp() {
    document.querySelectorAll("form[data-bulk]").forEach(refresh);
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.form || !box.form.hasAttribute("data-bulk")) return;
    if (box.hasAttribute("data-bulk-all")) {
      rows(box.form).forEach(function (row) {
        row.checked = box.checked;
      });
    }
    if (box.hasAttribute("data-bulk-all") || box.hasAttribute("data-bulk-row")) {
      var selected = box.form.querySelector("[data-bulk-selected]");
      if (selected) selected.checked = true;
      refresh(box.form);
    }
  });

  document.addEventListener("DOMContentLoaded", setUp);
  document.addEventListener("htmx:afterSettle", setUp);
})();
