// The plugin pages: the Config JSON check, the preset select of the run
// dialog, and the live session page (console over server-sent events,
// state and progress polled). Everything works without it, less live.
(function () {
  "use strict";

  // jsonProblem returns why text is not JSON ("" when it is, or blank).
  function jsonProblem(text) {
    if (text.trim() === "") return "";
    try {
      JSON.parse(text);
      return "";
    } catch (e) {
      return e.message;
    }
  }

  function showProblem(area, box, msg) {
    if (!box) return;
    if (msg) {
      box.textContent = "Not valid JSON: " + msg;
      box.hidden = false;
      area.setAttribute("aria-invalid", "true");
    } else {
      box.textContent = "";
      box.hidden = true;
      area.removeAttribute("aria-invalid");
    }
  }

  // Textareas marked data-json-check="ID" say in element ID what is wrong
  // with their JSON as one types; their forms do not send invalid JSON.
  function jsonChecks() {
    document.querySelectorAll("textarea[data-json-check]").forEach(function (area) {
      var box = document.getElementById(area.getAttribute("data-json-check"));
      var timer = null;
      area.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { showProblem(area, box, jsonProblem(area.value)); }, 250);
      });
      if (area.form) {
        area.form.addEventListener("submit", function (ev) {
          var msg = jsonProblem(area.value);
          if (msg) {
            ev.preventDefault();
            showProblem(area, box, msg);
            area.focus();
          }
        });
      }
    });
  }

  // The preset select fills the editor; the Load button is for pages
  // without scripts.
  function presetSelect() {
    var select = document.getElementById("preset-select");
    if (!select) return;
    var area = document.getElementById(select.getAttribute("data-config-target"));
    document.querySelectorAll("[data-no-script]").forEach(function (el) { el.hidden = true; });
    select.addEventListener("change", function () {
      var opt = select.options[select.selectedIndex];
      if (!area || !opt) return;
      area.value = opt.getAttribute("data-config") || "";
      var hidden = area.form && area.form.querySelector("input[name=preset]");
      if (hidden) hidden.value = opt.value;
      var name = document.getElementById("preset-name");
      if (name && opt.value) name.value = opt.textContent;
      showProblem(area, document.getElementById(area.getAttribute("data-json-check")), "");
    });
  }

  function pad(n, w) { n = String(n); while (n.length < w) n = "0" + n; return n; }

  function clockTime(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    return pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) + "." + pad(d.getUTCMilliseconds(), 3);
  }

  function duration(ms) {
    var s = Math.max(0, Math.round(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    s = s % 60;
    if (h > 0) return h + "h " + pad(m, 2) + "m";
    if (m > 0) return m + "m " + pad(s, 2) + "s";
    return s + "s";
  }

  var finalStates = { succeeded: true, failed: true, cancelled: true, timed_out: true };

  // The session page: follow the log and the run until it ends.
  function liveRun() {
    var root = document.getElementById("run-live");
    if (!root || root.getAttribute("data-final") === "true") return;
    var id = root.getAttribute("data-run");
    var last = parseInt(root.getAttribute("data-after"), 10) || 0;
    var consoleList = document.getElementById("run-console");
    var empty = document.getElementById("console-empty");
    var status = document.getElementById("console-status");
    var done = false, source = null, pollTimer = null;

    function set(elID, text) {
      var el = document.getElementById(elID);
      if (el) el.textContent = text;
    }

    function text(elID) {
      var el = document.getElementById(elID);
      return el ? el.textContent.trim() : "";
    }

    function appendLog(l) {
      if (l.seq <= last) return;
      last = l.seq;
      var li = document.createElement("li");
      li.className = "log log-" + l.level;
      li.setAttribute("data-seq", l.seq);
      var t = document.createElement("span");
      t.className = "t";
      t.title = l.time;
      t.textContent = clockTime(l.time);
      var lv = document.createElement("span");
      lv.className = "level";
      lv.textContent = l.level;
      var msg = document.createElement("span");
      msg.className = "msg";
      msg.textContent = l.message;
      li.appendChild(t);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(lv);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(msg);
      if (l.attrs) {
        var at = document.createElement("span");
        at.className = "attrs";
        at.textContent = " " + JSON.stringify(l.attrs);
        li.appendChild(at);
      }
      var follow = consoleList.scrollTop + consoleList.clientHeight >= consoleList.scrollHeight - 8;
      consoleList.appendChild(li);
      if (follow) consoleList.scrollTop = consoleList.scrollHeight;
      if (empty) empty.hidden = true;
    }

    function update(run) {
      // A poll answered after the stream's end carries an older state: the
      // first final state is the last word.
      if (done) return;
      var state = document.getElementById("run-state");
      state.textContent = run.state;
      state.className = "state state-" + run.state;
      state.setAttribute("data-state", run.state);
      var bar = document.getElementById("run-progress");
      var p = run.progress || {};
      if (p.total > 0) {
        bar.max = p.total;
        bar.value = p.done;
        set("run-progress-text", p.done + " / " + p.total + (p.message ? " · " + p.message : ""));
      } else if (p.message) {
        set("run-progress-text", p.message);
      }
      set("run-attempts", String(run.attempts));
      if (run.startedAt) {
        if (text("run-started") === "—") set("run-started", new Date(run.startedAt).toLocaleString());
        var end = run.finishedAt ? new Date(run.finishedAt) : new Date();
        set("run-duration", duration(end - new Date(run.startedAt)));
      }
      if (run.finishedAt && text("run-finished") === "—") set("run-finished", new Date(run.finishedAt).toLocaleString());
      var err = document.getElementById("run-error");
      if (run.error) {
        err.textContent = run.error;
        err.hidden = false;
      }
      if (run.result !== undefined && run.result !== null) {
        var res = document.getElementById("run-result");
        res.textContent = JSON.stringify(run.result, null, 2);
        res.hidden = false;
        document.getElementById("run-no-result").hidden = true;
      }
      var cancel = document.getElementById("run-cancel");
      if (cancel && run.cancelRequested) cancel.textContent = "Cancel requested…";
      // Other scripts of the page (fileexplorer.js) follow the run too.
      root.dispatchEvent(new CustomEvent("labelhub:run", { detail: run }));
      if (finalStates[run.state]) finish();
    }

    function finish() {
      if (done) return;
      done = true;
      root.setAttribute("data-final", "true");
      var bar = document.getElementById("run-progress");
      if (bar && !bar.hasAttribute("max")) {
        // An indeterminate bar would go on moving: full when it succeeded.
        bar.max = 1;
        bar.value = root.querySelector("#run-state").getAttribute("data-state") === "succeeded" ? 1 : 0;
      }
      var form = document.getElementById("cancel-form");
      if (form) form.hidden = true;
      if (status) status.textContent = "the session has ended";
      if (source) source.close();
      clearTimeout(pollTimer);
      // Lines written just before the end arrive with a last page.
      fetch("/api/v1/runs/" + id + "/logs?after=" + last, { headers: { Accept: "application/json" } })
        .then(function (res) { return res.ok ? res.json() : { items: [] }; })
        .then(function (page) { (page.items || []).forEach(appendLog); })
        .catch(function () {});
    }

    function connect() {
      if (done || !window.EventSource) return;
      source = new EventSource("/api/v1/runs/" + id + "/logs?stream=true&after=" + last);
      source.addEventListener("log", function (ev) {
        try { appendLog(JSON.parse(ev.data)); } catch (e) { /* a broken line is skipped */ }
      });
      source.addEventListener("end", function (ev) {
        source.close();
        try { update(JSON.parse(ev.data)); } catch (e) { poll(); }
      });
      source.onerror = function () {
        // Reconnect from the last line seen, not from the start.
        source.close();
        if (!done) setTimeout(connect, 2000);
      };
    }

    function poll() {
      if (done) return;
      fetch("/api/v1/runs/" + id, { headers: { Accept: "application/json" } })
        .then(function (res) {
          if (!res.ok) throw new Error(res.status);
          return res.json();
        })
        .then(update)
        .catch(function () {})
        .then(function () {
          if (!done) pollTimer = setTimeout(poll, 1000);
        });
    }

    connect();
    poll();
  }

  jsonChecks();
  presetSelect();
  liveRun();
})();
