// Live updates for cascade's dashboard: when the server says the release
// or verification run shown here changed, fetch the page again and swap in
// its live fragment. Without JavaScript the page is complete; reload it.
(function () {
  "use strict";
  var live = document.querySelector("[data-live-topic]");
  var status = document.getElementById("live-status");
  if (!live || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var topic = live.getAttribute("data-live-topic");
  var busy = false, again = false;
  function say(text) { if (status) status.textContent = text; }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(live.id);
        if (!fresh) return;
        // Keep open what the reader opened (log tails, details).
        var open = {};
        live.querySelectorAll("details[open]").forEach(function (d, i) { open[i] = true; });
        live.replaceWith(fresh);
        live = fresh;
        live.querySelectorAll("details").forEach(function (d, i) { if (open[i]) d.open = true; });
        live.setAttribute("data-refreshed", String(Date.now()));
        say("Live updates: refreshed at " + new Date().toLocaleTimeString() + ".");
      })
      .catch(function (e) { say("Live updates: could not refresh (" + e.message + "); reload the page."); })
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var es = new EventSource("/events?topic=" + encodeURIComponent(topic));
  es.onmessage = refresh;
  es.addEventListener("update", refresh);
  es.onopen = function () { say("Live updates: connected."); document.body.setAttribute("data-live", "open"); };
  es.onerror = function () { say("Live updates: reconnecting…"); };
})();
