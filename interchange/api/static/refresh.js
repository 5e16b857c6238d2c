/* interchange dashboard: refresh the page's content in place every N seconds
   (N = <body data-refresh>). Hand-written, no dependencies. Without JavaScript the page
   still reads, and <noscript><meta http-equiv=refresh> reloads it. Never refreshes while
   the clerk is typing, has a form field filled in, or has a timeline opened. */
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  if (!seconds || !window.fetch || !window.DOMParser) { return; }

  function busy(live) {
    var active = document.activeElement;
    if (active && active !== document.body && live.contains(active) &&
        /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(active.tagName)) { return true; }
    var fields = live.querySelectorAll("input[type=text], input:not([type]), textarea");
    for (var i = 0; i < fields.length; i++) { if (fields[i].value) { return true; } }
    return live.querySelector("details[open]") !== null;
  }

  function tick() {
    var live = document.getElementById("live");
    if (!live || document.hidden || busy(live)) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Refresh": "1" } })
      .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (fresh && !busy(live)) {
          live.innerHTML = fresh.innerHTML;
          document.body.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  window.setInterval(tick, seconds * 1000);
})();
