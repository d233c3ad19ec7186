"""The labelling page served at `/`: one self-contained HTML file (no CDN, works offline).

One crop at a time, large, with the model's guess and the progress. Keys (or the buttons):
0-9 label, x "not a digit", s skip, u undo. Each key is one POST, sent in order; the page shows
the state the server answers with, so what it shows is what labels.csv holds.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-digits label</title>
<style>
  body { margin: 0; font-family: system-ui, sans-serif; background: #111; color: #eee; }
  main { max-width: 40rem; margin: 0 auto; padding: 1rem; text-align: center; }
  #crop { height: 256px; min-width: 128px; image-rendering: pixelated; background: #222; }
  #guess { font-size: 1.3rem; margin: 0.5rem; }
  #progress { font-family: ui-monospace, monospace; }
  progress { width: 100%; height: 0.8rem; }
  .keys button { font-size: 1.4rem; width: 3rem; height: 3rem; margin: 0.15rem; }
  #status { color: #fa3; min-height: 1.5rem; }
  #done { font-size: 1.5rem; color: #7f7; }
  .help { color: #999; font-size: 0.9rem; }
</style>
</head>
<body>
<main>
  <div id="progress">-</div>
  <progress id="bar" value="0" max="1"></progress>
  <div id="item"><img id="crop" alt="the crop to label"><div id="guess">-</div></div>
  <div id="done" hidden></div>
  <div class="keys" id="keys"></div>
  <div class="help">keys: 0-9 label &middot; x not a digit &middot; s skip &middot; u undo</div>
  <div id="status"></div>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const headers = {"Content-Type": "application/json"};
if (token) headers["Authorization"] = "Bearer " + token;
const $ = (id) => document.getElementById(id);
const KEYS = "0123456789xsu";

function show(state) {
  $("progress").textContent = state.labelled + " / " + state.total + " labelled, " + state.skipped + " skipped";
  $("bar").max = state.total;
  $("bar").value = state.labelled + state.skipped;
  const item = state.current;
  $("item").hidden = !item;
  $("done").hidden = !!item;
  if (item) {
    let query = "image?file=" + encodeURIComponent(item.file);
    if (token) query += "&token=" + encodeURIComponent(token);
    $("crop").src = query;
    $("crop").dataset.file = item.file;
    $("guess").textContent = item.guess === null ? "model: -" : "model: " + item.guess
      + (item.confidence === null ? "" : " (" + item.confidence.toFixed(2) + ")");
  } else {
    const later = state.skipped ? " (skipped crops come back next time)" : "";
    $("done").textContent = "All done: labels.csv is saved" + later + ".";
  }
}

let queue = Promise.resolve();
function press(key) {
  queue = queue.then(async () => {
    const response = await fetch("api/press", {method: "POST", headers, body: JSON.stringify({key})});
    if (!response.ok) { $("status").textContent = "error: " + (await response.text()); return; }
    $("status").textContent = key === "u" ? "undone" : key === "s" ? "skipped" : "saved " + key;
    show(await response.json());
  }).catch((error) => { $("status").textContent = "not saved: " + error; });
}

for (const key of KEYS) {
  const button = document.createElement("button");
  button.textContent = key;
  button.onclick = () => press(key);
  $("keys").append(button);
}
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase();
  if (KEYS.includes(key) && key.length === 1) { event.preventDefault(); press(key); }
});
fetch("api/state", {headers}).then((r) => r.json()).then(show)
  .catch((error) => { $("status").textContent = "cannot reach the labeller: " + error; });
</script>
</body>
</html>
"""
