"""`edge-digits label`: a real Chromium labels saved crops with the keyboard; the terminal fallback; bad folders."""

from __future__ import annotations

import http.client
import json
import time

import cv2
import numpy as np
import pytest

from edge_digits.edge.label_server import LabelServer
from edge_digits.edge.labelling import Labeller
from tests.helpers import cli, one_line_error
from tests.test_serve import browser  # noqa: F401  (the Debian Chromium fixture)


@pytest.fixture
def saved(tmp_path, live_photos):
    """The crops `classify --save-uncertain` keeps from three generated photos (all of them: threshold 1)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, photo in enumerate(live_photos[:3]):
        cv2.imwrite(str(photos / f"p{i}.png"), photo.image)
    result = cli("classify", photos, "--min-confidence", "1", "--save-uncertain", tmp_path / "u")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "u" / "pending.jsonl").read_text().splitlines()]
    assert len(records) >= 4
    return tmp_path / "u", records


def labels_csv(folder) -> str:
    path = folder / "labels.csv"
    return path.read_text() if path.exists() else ""


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_chromium_labels_with_the_keyboard(saved, browser):  # noqa: F811
    folder, records = saved
    files = [r["file"] for r in records]
    n = len(files)
    with LabelServer(Labeller(folder), "127.0.0.1", 0) as server:
        assert server.token is None  # loopback: no token
        browser.get(server.url)
        text = lambda element_id: browser.find_element("id", element_id).text  # noqa: E731
        wait_for(lambda: text("progress") == f"0 / {n} labelled, 0 skipped")
        assert text("guess") == f"model: {records[0]['label']} ({records[0]['confidence']:.2f})"
        size = "const i = document.getElementById('crop'); return [i.complete, i.naturalHeight];"
        wait_for(lambda: browser.execute_script(size) == [True, 128])  # the larger view, not the 28×28 input
        body = browser.find_element("tag name", "body")

        def key(k: str, progress: str, csv: str) -> None:
            body.send_keys(k)
            wait_for(lambda: text("progress") == progress)
            assert labels_csv(folder) == csv  # on disk before the page shows the answer

        key("7", f"1 / {n} labelled, 0 skipped", f"file,label\n{files[0]},7\n")
        key("x", f"2 / {n} labelled, 0 skipped", f"file,label\n{files[0]},7\n{files[1]},x\n")
        key("u", f"1 / {n} labelled, 0 skipped", f"file,label\n{files[0]},7\n")
        assert browser.find_element("id", "crop").get_attribute("data-file") == files[1]  # undone: shown again
        key("3", f"2 / {n} labelled, 0 skipped", f"file,label\n{files[0]},7\n{files[1]},3\n")
        key("s", f"2 / {n} labelled, 1 skipped", f"file,label\n{files[0]},7\n{files[1]},3\n")
        assert browser.find_element("id", "crop").get_attribute("data-file") == files[3]
        for k in "0123456789"[: n - 3]:
            body.send_keys(k)
        wait_for(lambda: browser.find_element("id", "done").is_displayed())
        assert text("done") == "All done: labels.csv is saved (skipped crops come back next time)."
        assert text("progress") == f"{n - 1} / {n} labelled, 1 skipped"
    rows = labels_csv(folder).splitlines()
    rest = [f"{f},{k}" for f, k in zip(files[3:], "0123456789")]
    assert rows == ["file,label", f"{files[0]},7", f"{files[1]},3", *rest]
    again = Labeller(folder)  # the next session starts at the skipped crop
    assert again.current().file == files[2] and again.progress() == f"{n - 1}/{n} labelled, 0 skipped"


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def test_token_off_loopback_and_json_only_answers(saved):
    folder, records = saved
    with LabelServer(Labeller(folder), "0.0.0.0", 0, token="sesame") as server:
        port = server.port
        for path in ("/", "/api/state", f"/image?file={records[0]['file']}"):
            assert request(port, "GET", path) == (401, b"token required: add ?token=...\n")
        assert request(port, "GET", "/?token=sesame")[0] == 200
        bearer = {"Authorization": "Bearer sesame"}
        status, png = request(port, "GET", f"/image?file={records[0]['file']}", headers=bearer)
        view = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
        assert status == 200 and view.shape[0] == 128
        assert request(port, "GET", "/image?file=../../etc/passwd", headers=bearer) == (404, b"no such crop\n")
        # A form post from another web page (text/plain) is refused: no CORS pre-flight is ever granted.
        assert request(port, "POST", "/api/press", b'{"key": "1"}', {**bearer, "Content-Type": "text/plain"})[0] == 415
        as_json = {**bearer, "Content-Type": "application/json"}
        status, body = request(port, "POST", "/api/press", b'{"key": "q"}', as_json)
        assert (status, body) == (400, b"key 'q': use 0-9, x (not a digit), s (skip) or u (undo)\n")
        status, body = request(port, "POST", "/api/press", b'{"key": "1"}', as_json)
        assert status == 200 and json.loads(body)["labelled"] == 1
    assert labels_csv(folder) == f"file,label\n{records[0]['file']},1\n"


def test_terminal_labelling(saved):
    folder, records = saved
    result = cli_input(["label", folder, "--cli"], "4\ns\nu\nz\nx\nq\n")
    assert result.exit_code == 0, result.output
    assert labels_csv(folder) == f"file,label\n{records[0]['file']},4\n{records[1]['file']},x\n"
    assert "key 'z': use 0-9, x (not a digit), s (skip) or u (undo)\n" in result.stdout
    assert f"[0/{len(records)} labelled, 0 skipped] {records[0]['file']}  model: {records[0]['label']}" in result.stdout
    assert result.stderr == f"2/{len(records)} labelled, 0 skipped: {folder / 'labels.csv'}\n"


def cli_input(args: list, text: str):
    from click.testing import CliRunner

    from edge_digits.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], input=text, catch_exceptions=False)


@pytest.mark.parametrize("labels, message", [
    ("file,label\n{f},7\n{f},12\n", "labels.csv: line 3: label '12' is not 0-9 or x"),
    ("name,label\n", "labels.csv: line 1: the header must be file,label"),
    ("file,label\ngone.png,3\n", "labels.csv: line 2: gone.png is missing or not an image"),
])
def test_bad_labels_csv_is_one_line_exit_2(saved, labels, message):
    folder, records = saved
    (folder / "labels.csv").write_text(labels.format(f=records[0]["file"]))
    result = cli("label", folder, "--cli")
    assert result.exit_code == 2
    assert one_line_error(result) == f"Error: {folder / message}"


def test_missing_crop_and_empty_folder_are_one_line_exit_2(saved, tmp_path):
    folder, records = saved
    (folder / records[1]["file"]).unlink()
    result = cli("label", folder, "--cli")
    assert result.exit_code == 2
    assert one_line_error(result) == f"Error: {folder / 'pending.jsonl'}: {records[1]['file']} is missing"
    (tmp_path / "empty").mkdir()
    result = cli("label", tmp_path / "empty")
    assert result.exit_code == 2
    no_crops = "no crops to label (no pending.jsonl and no .png files)"
    assert one_line_error(result) == f"Error: {tmp_path / 'empty'}: {no_crops}"
    result = cli("label", tmp_path / "nothing-here")
    assert one_line_error(result) == f"Error: {tmp_path / 'nothing-here'}: not a folder"


def test_label_command_serves_until_sigterm(saved):
    import re
    import signal
    import subprocess
    import sys

    folder, records = saved
    proc = subprocess.Popen([sys.executable, "-m", "edge_digits", "label", str(folder), "--serve", "127.0.0.1:0"],
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
        port = int(re.fullmatch(r"label: http://127\.0\.0\.1:(\d+)/\n", first)[1])
        assert proc.stderr.readline() == f"0/{len(records)} labelled, 0 skipped; Ctrl-C to stop\n"
        headers = {"Content-Type": "application/json"}
        status, body = request(port, "POST", "/api/press", b'{"key": "5"}', headers)
        assert status == 200 and json.loads(body)["current"]["file"] == records[1]["file"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143  # as every command stopped by SIGTERM; the answer was saved
        assert proc.stderr.read() == f"1/{len(records)} labelled, 0 skipped: {folder / 'labels.csv'}\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert labels_csv(folder) == f"file,label\n{records[0]['file']},5\n"
