"""The preview page served at `/`: one self-contained HTML file (no CDN, works offline).

It shows the annotated stream, the current and the steadied reading in large type, the frame
rate, and the last readings with the time they appeared. A `?token=` in its address is passed
on to the stream and the events.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-digits live</title>
<style>
  body { margin: 0; font-family: system-ui, sans-serif; background: #111; color: #eee; }
  main { display: flex; flex-wrap: wrap; gap: 1rem; padding: 1rem; }
  img { max-width: 100%; background: #222; min-width: 320px; min-height: 240px; }
  .label { color: #999; font-size: 0.9rem; }
  .big { font-size: 4rem; font-weight: 700; font-family: ui-monospace, monospace; min-height: 4.5rem; }
  #stable { color: #7f7; }
  ol { padding-left: 1.2rem; font-family: ui-monospace, monospace; }
  #status { color: #fa3; }
</style>
</head>
<body>
<main>
  <img id="live" alt="annotated live camera image">
  <section>
    <div class="label">current reading</div><div id="current" class="big">-</div>
    <div class="label">steadied reading</div><div id="stable" class="big">-</div>
    <div class="label">frames/s</div><div id="fps">-</div>
    <div class="label">frame</div><div id="frame">-</div>
    <div id="status">connecting...</div>
    <div class="label">last readings</div><ol id="history"></ol>
  </section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const withToken = (path) => token ? path + "?token=" + encodeURIComponent(token) : path;
const $ = (id) => document.getElementById(id);
$("live").src = withToken("stream.mjpg");
const arrivals = [];
let last = null;
const events = new EventSource(withToken("api/events"));
events.onopen = () => { $("status").textContent = ""; };
events.onerror = () => { $("status").textContent = "disconnected (capture stopped?)"; };
events.addEventListener("reading", (message) => {
  const record = JSON.parse(message.data);
  const stable = record.stable !== undefined ? record.stable : record.text;
  $("current").textContent = record.text || "-";
  $("stable").textContent = stable || "-";
  $("frame").textContent = record.frame;
  const now = performance.now();
  arrivals.push([now, record.frame]);
  while (arrivals.length > 2 && now - arrivals[0][0] > 2000) arrivals.shift();
  if (arrivals.length > 1) {
    const [t0, f0] = arrivals[0];
    $("fps").textContent = ((record.frame - f0) * 1000 / (now - t0)).toFixed(1);
  }
  if (stable && stable !== last) {
    last = stable;
    const item = document.createElement("li");
    item.textContent = new Date().toLocaleTimeString() + "  " + stable;
    $("history").prepend(item);
    while ($("history").children.length > 10) $("history").lastChild.remove();
  }
});
</script>
</body>
</html>
"""
