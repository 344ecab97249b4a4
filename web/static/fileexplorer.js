// The File Explorer dialog and the summary of its imports' sessions.
// Browsing and importing work without it (links and forms); it opens the
// chosen integration at once, selects every file shown, counts the
// selection, and fills the session's summary when the import ends.
(function () {
  "use strict";

  // The integration select opens its bucket without the Open button.
  function autoSubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var form = select.form;
      if (!form) return;
      form.querySelectorAll("[data-no-script]").forEach(function (el) { el.hidden = true; });
      select.addEventListener("change", function () {
        if (select.value !== "") form.submit();
      });
    });
  }

  // Checkboxes of the files: "select all", and a count next to the
  // "Import selected files" button, which needs at least one. Rows that
  // "Load more" adds later count too.
  function selection() {
    var form = document.getElementById("explorer-import-form");
    if (!form) return;
    var all = document.getElementById("explorer-select-all");
    var button = document.getElementById("explorer-import-files");
    var note = document.getElementById("explorer-selected");
    function boxes() { return form.querySelectorAll("input.file-check"); }
    function update() {
      var n = 0, total = 0;
      boxes().forEach(function (b) { total++; if (b.checked) n++; });
      if (button) button.disabled = n === 0;
      if (note) note.textContent = n === 0 ? "" : n + " file" + (n === 1 ? "" : "s") + " selected";
      if (all) {
        all.hidden = total === 0;
        all.checked = total > 0 && n === total;
        all.indeterminate = n > 0 && n < total;
      }
    }
    if (all) {
      all.addEventListener("change", function () {
        boxes().forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    form.addEventListener("change", function (ev) {
      if (ev.target.classList && ev.target.classList.contains("file-check")) update();
    });
    var rows = document.getElementById("explorer-rows");
    if (rows && window.MutationObserver) new MutationObserver(update).observe(rows, { childList: true });
    update();
  }

  // The session page of an import: plugins.js announces every state it
  // reads; the summary's figures come with the final one.
  function summary() {
    var card = document.getElementById("explorer-summary");
    var live = document.getElementById("run-live");
    if (!card || !live) return;
    live.addEventListener("labelhub:run", function (ev) {
      var run = ev.detail || {};
      var sum = run.result && run.result.summary;
      if (!sum) return;
      card.querySelectorAll("[data-summary]").forEach(function (dd) {
        var v = sum[dd.getAttribute("data-summary")];
        if (typeof v === "number") dd.textContent = String(v);
      });
      if (run.state === "succeeded" || run.state === "failed" || run.state === "cancelled" || run.state === "timed_out") {
        card.setAttribute("data-ended", "true");
      }
    });
  }

  autoSubmit();
  selection();
  summary();
})();
