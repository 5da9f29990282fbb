// The admin page's live parts. Every page works without this script; it
// only adds the log tail (server-sent events) with pause/resume, and
// refreshes the charts and the overview as new samples arrive.
(function () {
  "use strict";

  function tail(table) {
    var body = table.tBodies[0];
    var status = document.getElementById("tailstatus");
    var pause = document.getElementById("pause");
    var paused = false, held = [], maxRows = 1000;

    function cell(tr, text, code) {
      var td = document.createElement("td");
      if (code) {
        var c = document.createElement("code");
        c.textContent = text;
        td.appendChild(c);
      } else {
        td.textContent = text;
      }
      tr.appendChild(td);
    }
    function show(raw) {
      var line = {};
      try { line = JSON.parse(raw); } catch (e) { /* shown raw */ }
      var tr = document.createElement("tr");
      var t = line.time ? new Date(line.time) : null;
      cell(tr, t && !isNaN(t) ? t.toISOString().slice(11, 23) : "");
      cell(tr, line.level || "");
      cell(tr, line.msg || "");
      cell(tr, attrs(line, raw), true);
      tr.className = "lvl-" + (line.level || "");
      body.appendChild(tr);
      while (body.rows.length > maxRows) body.deleteRow(0);
    }
    // The rest of the line as key=value, as the server renders it.
    function attrs(line, raw) {
      if (!line.msg && !line.level) return raw;
      return Object.keys(line).filter(function (k) {
        return k !== "time" && k !== "level" && k !== "msg";
      }).sort().map(function (k) {
        var v = line[k];
        return k + "=" + (typeof v === "string" ? v : JSON.stringify(v));
      }).join(" ");
    }
    function scrolledDown() {
      return window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    }

    var es = new EventSource(table.dataset.stream);
    es.onopen = function () { status.textContent = paused ? "Paused." : "Live: new lines appear below."; };
    es.onerror = function () {
      // CLOSED: the browser gave up (the session ended, or the node is
      // gone); otherwise it reconnects by itself.
      status.textContent = es.readyState === EventSource.CLOSED
        ? "Live tail stopped (signed out, or the node is gone): reload the page."
        : "Live tail interrupted; reconnecting\u2026";
    };
    es.onmessage = function (ev) {
      if (paused) {
        held.push(ev.data);
        if (held.length > maxRows) held.shift();
        status.textContent = "Paused: " + held.length + " new lines held.";
        return;
      }
      var follow = scrolledDown();
      show(ev.data);
      if (follow) window.scrollTo(0, document.body.scrollHeight);
    };
    pause.hidden = false;
    pause.onclick = function () {
      paused = !paused;
      pause.textContent = paused ? "Resume" : "Pause";
      if (!paused) {
        held.forEach(show);
        held = [];
        status.textContent = "Live: new lines appear below.";
      } else {
        status.textContent = "Paused.";
      }
    };
  }

  function refreshCharts(box) {
    setInterval(function () {
      if (document.hidden) return;
      fetch(box.dataset.refresh, { credentials: "same-origin" })
        // A redirect means the session ended (sent to /login): keep the
        // charts rather than show the sign-in page inside them.
        .then(function (r) { return r.ok && !r.redirected ? r.text() : Promise.reject(r.status); })
        .then(function (html) { box.innerHTML = html; })
        .catch(function () { /* keep the last charts */ });
    }, 10000);
  }

  // The overview redraws itself from a fresh copy of the page, except the
  // answer to "Reveal join token" (a POST's answer, not fetched again).
  function refreshOverview(body) {
    setInterval(function () {
      if (document.hidden || document.querySelector("details[open]") || document.querySelector("#jointoken code")) return;
      fetch(location.href, { credentials: "same-origin" })
        .then(function (r) { return r.ok && !r.redirected ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("div.body");
          if (fresh) body.innerHTML = fresh.innerHTML;
        })
        .catch(function () { /* keep what is shown */ });
    }, 10000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("nodes") && window.fetch && window.DOMParser) {
      refreshOverview(document.querySelector("div.body"));
    }
    var log = document.getElementById("log");
    if (log && window.EventSource) tail(log);
    var charts = document.getElementById("charts");
    if (charts && window.fetch) refreshCharts(charts);
  });
})();
