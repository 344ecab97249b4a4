// labelhub task page: sets the drawing's viewBox from the image when the
// asset's metadata has no size, loads a text asset kept at a URL into its
// <pre> with its spans highlighted, and colours highlighted spans. Without
// this script the page still shows the asset, the shapes (when the size is
// known) and every list.
(function () {
  "use strict";

  // The SVG draws in the image's pixels: without width and height in the
  // metadata, take the image's natural size once it is known.
  function autoViewBox() {
    document.querySelectorAll("svg[data-auto-viewbox]").forEach(function (svg) {
      var img = document.getElementById(svg.getAttribute("data-auto-viewbox"));
      if (!img) return;
      var set = function () {
        if (img.naturalWidth > 0 && img.naturalHeight > 0) {
          svg.setAttribute("viewBox", "0 0 " + img.naturalWidth + " " + img.naturalHeight);
          svg.setAttribute("data-viewbox-from", "image");
          var note = document.getElementById("viewbox-note");
          if (note) note.hidden = true;
        }
      };
      if (img.complete) set();
      img.addEventListener("load", set);
    });
  }

  // Colours come from data-color: a style attribute would break the CSP,
  // but setting a property from script is allowed.
  function colourMarks(root) {
    root.querySelectorAll("[data-color]").forEach(function (el) {
      var c = el.getAttribute("data-color");
      if (!/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(c)) return;
      if (el.tagName === "MARK") {
        el.style.backgroundColor = c + (c.length === 4 ? "4" : "40");
        el.style.boxShadow = "inset 0 -2px 0 " + c;
      }
    });
  }

  // A text asset at a URL: fetch it, then mark the spans of the table
  // #task-spans (start and end count characters, not UTF-16 units).
  function loadText() {
    var pre = document.querySelector("pre[data-src]");
    if (!pre) return;
    fetch(pre.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (text) {
        var chars = Array.from(text);
        var spans = [];
        document.querySelectorAll("#task-spans tr[data-start]").forEach(function (tr) {
          var s = +tr.getAttribute("data-start"), e = +tr.getAttribute("data-end");
          if (!(s >= 0 && e > s)) return;
          spans.push({ start: s, end: e, color: tr.getAttribute("data-color"), id: tr.getAttribute("data-object-id") });
          var cell = tr.querySelector(".span-text");
          if (cell) cell.textContent = chars.slice(s, e).join("");
        });
        var cuts = [0, chars.length];
        spans.forEach(function (sp) {
          if (sp.start < chars.length) cuts.push(sp.start);
          if (sp.end < chars.length) cuts.push(sp.end);
        });
        cuts = cuts.sort(function (a, b) { return a - b; }).filter(function (v, i, a) { return i === 0 || v !== a[i - 1]; });
        pre.textContent = "";
        for (var i = 0; i + 1 < cuts.length; i++) {
          var from = cuts[i], to = cuts[i + 1];
          var piece = chars.slice(from, to).join("");
          var sp = spans.find(function (x) { return x.start <= from && to <= x.end; });
          if (sp) {
            var mark = document.createElement("mark");
            mark.className = "span-mark";
            mark.setAttribute("data-object-id", sp.id || "");
            mark.setAttribute("data-color", sp.color || "");
            mark.textContent = piece;
            pre.appendChild(mark);
          } else {
            pre.appendChild(document.createTextNode(piece));
          }
        }
        pre.removeAttribute("data-src");
        pre.setAttribute("data-loaded", "");
        colourMarks(pre);
      })
      .catch(function (e) {
        pre.textContent = "The text could not be loaded here (" + e.message + "); use the link below.";
      });
  }

  function init() {
    autoViewBox();
    colourMarks(document);
    loadText();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
