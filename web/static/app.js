// labelhub web UI: small progressive enhancements. Every page works
// without this script; it only adds conveniences.
(function () {
  "use strict";

  // Show times in the reader's time zone (the server writes UTC).
  function localTimes(root) {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    } catch (e) {
      return;
    }
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      t.title = t.getAttribute("datetime");
      t.textContent = fmt.format(d);
    });
  }

  // Copy the text of the element named by data-copy.
  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (btn) {
      var target = document.getElementById(btn.getAttribute("data-copy"));
      if (!target) return;
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var text = target.textContent.trim();
        var done = function () {
          btn.textContent = "Copied";
          setTimeout(function () { btn.textContent = "Copy"; }, 2000);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { selectText(target); });
        } else {
          selectText(target);
          try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
        }
      });
    });
  }

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // Ask before submitting forms marked data-confirm.
  function confirmForms() {
    document.addEventListener("submit", function (ev) {
      var msg = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
      if (msg && !window.confirm(msg)) ev.preventDefault();
    });
  }

  // Pretty-print the JSON of a textarea, or say where it is broken.
  function formatButtons() {
    document.querySelectorAll("[data-format-json]").forEach(function (btn) {
      var area = document.getElementById(btn.getAttribute("data-format-json"));
      if (!area) return;
      btn.hidden = false;
      btn.addEventListener("click", function () {
        try {
          area.value = JSON.stringify(JSON.parse(area.value), null, 2);
          area.setCustomValidity("");
        } catch (e) {
          area.setCustomValidity("Not valid JSON: " + e.message);
          area.reportValidity();
          area.addEventListener("input", function clear() {
            area.setCustomValidity("");
            area.removeEventListener("input", clear);
          });
        }
      });
    });
  }

  // "Load more": fetch the next page and append its rows in place; the
  // link still works as a plain link when this fails.
  function loadMore() {
    document.addEventListener("click", function (ev) {
      var link = ev.target.closest && ev.target.closest("a[data-load-more]");
      if (!link) return;
      var tbody = document.getElementById(link.getAttribute("data-load-more"));
      if (!tbody) return;
      ev.preventDefault();
      link.setAttribute("aria-busy", "true");
      fetch(link.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (res) {
          if (!res.ok) throw new Error(res.status);
          return res.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var rows = doc.getElementById(tbody.id);
          if (rows) {
            localTimes(rows);
            Array.prototype.slice.call(rows.children).forEach(function (tr) {
              tbody.appendChild(document.importNode(tr, true));
            });
          }
          var next = doc.querySelector('a[data-load-more="' + tbody.id + '"]');
          if (next) {
            link.href = next.getAttribute("href");
            link.removeAttribute("aria-busy");
          } else {
            link.parentNode.remove();
          }
        })
        .catch(function () {
          window.location.href = link.href;
        });
    });
  }

  // Storage form: show the fields of the chosen provider only, and leave
  // the others out of the request. Without this script every field shows
  // and the server ignores the other providers' fields.
  function providerFields() {
    document.querySelectorAll("select[data-provider-select]").forEach(function (select) {
      var form = select.form;
      if (!form) return;
      var update = function () {
        form.querySelectorAll("[data-providers]").forEach(function (el) {
          var on = el.getAttribute("data-providers").split(/\s+/).indexOf(select.value) >= 0;
          el.hidden = !on;
          el.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !on; });
          if (el.matches("input, select, textarea")) el.disabled = !on;
        });
        form.querySelectorAll("[data-no-script-hint]").forEach(function (el) { el.hidden = true; });
      };
      select.addEventListener("change", update);
      update();
    });
  }


  // "Add data": stream the file to the API with upload progress, follow
  // the import, show its counts and errors. Without this script the form
  // posts the file to the UI, which imports it the same way.
  function importForm() {
    var form = document.getElementById("import-form");
    if (!form) return;
    var meta = document.querySelector('meta[name="csrf-token"]');
    var csrf = meta ? meta.getAttribute("content") : "";
    var fileInput = document.getElementById("import-file");
    var drop = document.getElementById("import-drop");
    var fileName = document.getElementById("import-file-name");
    var $ = function (id) { return document.getElementById(id); };
    var current = null, errorsCursor = "";

    var showName = function () {
      fileName.textContent = fileInput.files.length ? fileInput.files[0].name + " (" + fileInput.files[0].size + " bytes)" : "";
    };
    fileInput.addEventListener("change", showName);
    ["dragenter", "dragover"].forEach(function (t) {
      drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      drop.addEventListener(t, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (ev) {
      ev.preventDefault();
      if (ev.dataTransfer && ev.dataTransfer.files.length) {
        fileInput.files = ev.dataTransfer.files;
        showName();
      }
    });

    var api = function (method, url) {
      return fetch(url, { method: method, credentials: "same-origin", headers: { Accept: "application/json", "X-CSRF-Token": csrf } })
        .then(function (res) {
          return res.json().then(function (body) {
            if (!res.ok) throw body.error || { message: res.status + "" };
            return body;
          });
        });
    };
    var problem = function (e) {
      var box = $("import-problem");
      box.hidden = false;
      box.textContent = "";
      var strong = document.createElement("strong");
      strong.textContent = e.message || String(e);
      box.appendChild(strong);
      (e.details || []).forEach(function (d) {
        var p = document.createElement("div");
        p.textContent = d.path + ": " + d.message;
        box.appendChild(p);
      });
    };
    var addErrors = function (items) {
      var tbody = $("import-error-rows");
      items.forEach(function (e) {
        var tr = document.createElement("tr");
        [e.index, e.line || "", e.path, e.message].forEach(function (v, i) {
          var td = document.createElement("td");
          if (i === 2) {
            var code = document.createElement("code");
            code.className = "path";
            code.textContent = v;
            td.appendChild(code);
          } else {
            td.textContent = v;
          }
          tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
      $("import-errors").hidden = tbody.children.length === 0;
    };
    var moreErrors = function () {
      api("GET", "/api/v1/imports/" + current + "/errors?limit=50&cursor=" + encodeURIComponent(errorsCursor)).then(function (page) {
        addErrors(page.items || []);
        errorsCursor = page.nextCursor || "";
        $("import-errors-more").hidden = !errorsCursor;
      }, problem);
    };
    $("import-errors-more").querySelector("button").addEventListener("click", moreErrors);

    var show = function (st) {
      $("import-state").textContent = st.state;
      $("import-state").setAttribute("data-state", st.state);
      $("import-phase").textContent = (st.options && st.options.dryRun ? "dry run · " : "") + (st.phase || "") + (st.error ? " " + st.error : "");
      ["received", "imported", "updated", "skipped", "invalid"].forEach(function (k) {
        var dd = document.querySelector('#import-counts [data-count="' + k + '"]');
        if (dd) dd.textContent = st.counts[k];
      });
    };
    var refreshAssets = function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (res) { return res.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var list = doc.getElementById("asset-list");
          if (list) {
            localTimes(list);
            $("asset-list").replaceWith(document.importNode(list, true));
          }
        });
    };
    var finished = function (st) {
      var bar = $("import-progress");
      bar.value = 100;
      $("import-progress-text").textContent = "Done: " + st.counts.received + " items, " + st.counts.imported + " imported, " + st.counts.invalid + " invalid.";
      $("import-result").setAttribute("data-done", "true");
      $("import-error-rows").textContent = "";
      errorsCursor = "";
      addErrors(st.errors || []);
      errorsCursor = st.errorsNextCursor || "";
      $("import-errors-more").hidden = !errorsCursor;
      $("import-rollback").hidden = !(st.state === "succeeded" || st.state === "failed") || st.options.dryRun;
      $("import-resume").hidden = st.state !== "failed" || !st.uploaded;
      $("import-submit").disabled = false;
      refreshAssets();
    };
    var poll = function () {
      api("GET", "/api/v1/imports/" + current + "?limit=50").then(function (st) {
        show(st);
        if (st.state === "running" || st.state === "queued") {
          $("import-progress-text").textContent = "Importing: " + st.counts.received + " items read, " + st.counts.imported + " imported, " + st.counts.invalid + " invalid…";
          setTimeout(poll, 250);
        } else {
          finished(st);
        }
      }, problem);
    };
    var follow = function (st) {
      current = st.importId || st.id;
      $("import-link").href = "/projects/" + form.getAttribute("data-project") + "/imports/" + current;
      show(st);
      poll();
    };
    $("import-rollback").addEventListener("click", function () {
      if (!window.confirm("Remove the assets this import added?")) return;
      $("import-rollback").hidden = true;
      api("POST", "/api/v1/imports/" + current + "/rollback").then(follow, problem);
    });
    $("import-resume").addEventListener("click", function () {
      $("import-resume").hidden = true;
      api("POST", "/api/v1/imports/" + current + "/resume").then(follow, problem);
    });

    form.addEventListener("submit", function (ev) {
      if (!fileInput.files.length || !window.XMLHttpRequest) return;
      ev.preventDefault();
      var file = fileInput.files[0];
      var q = new URLSearchParams();
      var fd = new FormData(form);
      if (fd.get("storageId")) q.set("storageId", fd.get("storageId"));
      fd.getAll("batches").forEach(function (b) { if (b) q.append("batches", b); });
      (fd.get("newBatches") || "").split(",").forEach(function (b) {
        b = b.trim();
        if (b) { q.append("batches", b); q.set("createBatches", "true"); }
      });
      q.set("onDuplicate", fd.get("onDuplicate") || "allow");
      if (fd.get("atomic")) q.set("atomic", "true");
      if (fd.get("dryRun")) q.set("dryRun", "true");
      q.set("wait", "false");

      $("import-result").hidden = false;
      $("import-result").removeAttribute("data-done");
      $("import-problem").hidden = true;
      $("import-errors").hidden = true;
      $("import-error-rows").textContent = "";
      $("import-rollback").hidden = true;
      $("import-resume").hidden = true;
      $("import-state").textContent = "uploading";
      $("import-submit").disabled = true;
      var bar = $("import-progress");
      bar.value = 0;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/projects/" + form.getAttribute("data-project") + "/imports?" + q.toString());
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Content-Type", "application/json");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        bar.value = Math.round(e.loaded / e.total * 100);
        $("import-progress-text").textContent = "Uploading: " + e.loaded + " of " + e.total + " bytes (" + bar.value + "%)";
      });
      xhr.addEventListener("load", function () {
        var body;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        if (xhr.status < 200 || xhr.status > 299) {
          $("import-state").textContent = "refused";
          $("import-submit").disabled = false;
          problem(body.error || { message: "HTTP " + xhr.status });
          return;
        }
        bar.value = 100;
        follow(body);
      });
      xhr.addEventListener("error", function () {
        $("import-submit").disabled = false;
        problem({ message: "The upload failed: the hub could not be reached." });
      });
      xhr.send(file);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    copyButtons();
    confirmForms();
    formatButtons();
    loadMore();
    providerFields();
    importForm();
  });
})();
