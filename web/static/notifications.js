// The header's count of unread notifications: refreshed when a session
// shown on the page ends (its notification is written just after), and
// lowered when a Download link of the Notifications page marks its
// notification read. Without this script the count is current on every
// page load and "Open session" marks read.
(function () {
  "use strict";

  var badge = document.getElementById("notif-count");
  if (!badge) return;

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function show(n) {
    badge.textContent = String(n);
    badge.setAttribute("data-unread", String(n));
    badge.hidden = n <= 0;
  }

  function count() {
    return fetch("/api/v1/notifications?unread=true&limit=1", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) throw new Error(res.status);
        return res.json();
      })
      .then(function (page) { return page.unread || 0; });
  }

  // refresh reads the count until it differs from before (an export's
  // notification follows the end of its run closely) or tries run out.
  function refresh(before, tries) {
    count()
      .then(function (n) {
        show(n);
        if (n === before && tries > 1) setTimeout(function () { refresh(before, tries - 1); }, 500);
      })
      .catch(function () {});
  }

  var live = document.getElementById("run-live");
  if (live && live.getAttribute("data-final") !== "true") {
    var finalStates = { succeeded: true, failed: true, cancelled: true, timed_out: true };
    var seen = false;
    live.addEventListener("labelhub:run", function (ev) {
      if (seen || !ev.detail || !finalStates[ev.detail.state]) return;
      seen = true;
      refresh(parseInt(badge.getAttribute("data-unread"), 10) || 0, 20);
    });
  }

  // A Download link marks its notification read as the file downloads.
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-mark-read]");
    if (!link) return;
    var row = link.closest("tr");
    if (!row || row.getAttribute("data-unread") !== "true") return;
    fetch("/api/v1/notifications/" + encodeURIComponent(link.getAttribute("data-mark-read")) + "/read", {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { Accept: "application/json", "X-CSRF-Token": csrf() }
    })
      .then(function (res) {
        if (!res.ok) throw new Error(res.status);
        row.setAttribute("data-unread", "false");
        row.classList.remove("notif-unread");
        var dot = row.querySelector(".notif-dot");
        if (dot) dot.remove();
        return count().then(show);
      })
      .catch(function () {});
  });
})();
