"""Training with tf.distribute: real multi-worker runs as local processes, failure modes, pure helpers.

Multi-worker strategies must be created before any other TensorFlow op in a process, so those runs
are `edge-digits train` subprocesses talking over 127.0.0.1; everything else runs in-process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_digits.errors import BadInput
from edge_digits.train import distribute
from tests.helpers import cli, one_line_error

SMALL_RUN = ("--limit", "1200", "--epochs", "1", "--batch-size", "32", "--no-augment")


def free_ports(n: int) -> list[int]:
    """n distinct ports nobody listens on (held open together so the kernel cannot repeat one)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def addresses(ports: list[int]) -> str:
    return ",".join(f"127.0.0.1:{p}" for p in ports)


def start_worker(cwd: Path, workers: str, index: int, *args: str) -> subprocess.Popen:
    """`edge-digits train --strategy multi-worker ...` as its own process (TF_CONFIG cleared)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    command = [sys.executable, "-m", "edge_digits", "train", "--strategy", "multi-worker",
               "--workers", workers, "--worker-index", str(index), *args]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"worker hung:\n{out}\n{err[-3000:]}")
    return process.returncode, out, err


def error_lines(stderr: str) -> list[str]:
    """Our error lines, without TensorFlow's native start-up chatter (absl, oneDNN)."""
    return [line for line in stderr.splitlines() if line.startswith("Error:") or "Traceback" in line]


# ---------------------------------------------------------------- two real workers
@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """One short epoch on two local workers (1 replica each): the chief writes, worker 1 does not."""
    root = tmp_path_factory.mktemp("multi_worker")
    workers = addresses(free_ports(2))
    procs = [start_worker(root, workers, i, *SMALL_RUN, "--out", str(root / f"out{i}")) for i in (0, 1)]
    results = [finish(p) for p in procs]
    for code, out, err in results:
        assert code == 0, f"{out}\n{err[-3000:]}"
    return root, workers, results


def test_two_workers_train_and_only_the_chief_writes(two_workers, mnist_test):
    from edge_digits.train.fit import predict_labels
    from edge_digits.train.keras_io import load_model

    root, workers, results = two_workers
    banner = "strategy multi-worker: 2 replicas, per-replica batch 32, global batch 64, learning rate 0.002"
    for _, out, _ in results:
        assert out.splitlines()[0] == banner
    chief = root / "out0"
    assert sorted(p.name for p in chief.iterdir()) == ["confusion.png", "history.json", "history.png", "model.keras"]
    assert not (root / "out1").exists()  # worker 1 wrote nothing, not even the folder
    assert "worker 1 done; the chief writes the outputs" in results[1][1]
    # Backups (the chief's under --out, worker 1's in the temp dir) are gone after success.
    cluster = distribute.parse_tf_config(json.dumps(distribute.build_tf_config(workers.split(","), 1)))
    assert not distribute.backup_dir(cluster, root / "out1", None).exists()
    record = json.loads((chief / "history.json").read_text())
    assert record["distribution"]["replicas"] == 2 and record["distribution"]["global_batch"] == 64
    assert record["config"]["batch_size"] == 32  # what the user asked for: per replica
    held_out = mnist_test.head(500)
    accuracy = float((predict_labels(load_model(chief / "model.keras"), held_out.images) == held_out.labels).mean())
    assert accuracy > 0.6  # one epoch of 17 steps: ~0.78


def test_two_workers_see_disjoint_halves_like_two_local_replicas(two_workers, tmp_path):
    """Each worker must train on its own half of every global batch: the same numbers as one
    machine with two replicas (MirroredStrategy on two logical CPUs) and the same global batch."""
    root, _, _ = two_workers
    script = """
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
from edge_digits.data import load_mnist
from edge_digits.train.fit import TrainConfig, fit
config = TrainConfig(epochs=1, batch_size=32, limit=1200, augment=False)
print(json.dumps(fit(load_mnist("train"), config, verbose=0, strategy=strategy).history))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (mirrored,) = json.loads(done.stdout.splitlines()[-1])
    (multi,) = json.loads((root / "out0" / "history.json").read_text())["epochs"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert multi[key] == pytest.approx(mirrored[key], rel=1e-3), key


# ---------------------------------------------------------------- peers that never come
def test_unreachable_peer_is_a_one_line_error_within_the_timeout(tmp_path):
    own, absent = free_ports(2)
    started = time.monotonic()
    alone = start_worker(tmp_path, addresses([own, absent]), 0, *SMALL_RUN, "--connect-timeout", "5",
                         "--out", str(tmp_path / "out"))
    code, _, err = finish(alone, timeout=60)
    elapsed = time.monotonic() - started
    assert code == 2 and elapsed < 30
    (line,) = error_lines(err)
    assert line.startswith("Error: worker 0 cannot reach worker 1 at ") and f"127.0.0.1:{absent}" in line
    assert not (tmp_path / "out").exists()


def test_peers_with_different_cluster_lists_fail_instead_of_hanging(tmp_path):
    """Worker 1 lists a third worker that never comes, so it stops at its pre-flight; worker 0 saw
    worker 1 answer and is stuck inside TensorFlow, where only the guard process can end it."""
    a, b, c = free_ports(3)
    started = time.monotonic()
    first = start_worker(tmp_path, addresses([a, b]), 0, *SMALL_RUN, "--connect-timeout", "5")
    second = start_worker(tmp_path, addresses([a, b, c]), 1, *SMALL_RUN, "--connect-timeout", "5")
    (code0, _, err0), (code1, _, err1) = finish(first, 60), finish(second, 60)
    assert time.monotonic() - started < 40
    assert code1 == 2 and f"cannot reach worker 2 at 127.0.0.1:{c}" in error_lines(err1)[0]
    assert code0 != 0
    (line,) = error_lines(err0)
    assert "every peer answered but the cluster did not form within 5 s" in line
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- interrupt and resume
def test_an_interrupted_run_resumes_from_the_last_epoch(tmp_path):
    workers = addresses(free_ports(2))
    args = ("--limit", "4000", "--epochs", "2", "--batch-size", "32", "--no-augment")
    outs = [tmp_path / "out0", tmp_path / "out1"]
    backups = [outs[0] / ".backup", tmp_path / "backup1"]  # the chief's default; worker 1's by --backup-dir
    extra = [("--out", str(outs[0])), ("--out", str(outs[1]), "--backup-dir", str(backups[1]))]

    def start_both() -> list[subprocess.Popen]:
        return [start_worker(tmp_path, workers, i, *args, *extra[i]) for i in (0, 1)]

    first = start_both()
    deadline = time.monotonic() + 120
    while not all(distribute.backup_epoch(b) == 1 for b in backups):
        assert all(p.poll() is None for p in first), "a worker ended before backing up epoch 1"
        assert time.monotonic() < deadline, "no epoch-1 backup in time"
        time.sleep(0.05)
    first[0].send_signal(signal.SIGTERM)  # as `kill` or Kubernetes sends it: must stop the chief at once
    assert finish(first[0], timeout=20)[0] == -signal.SIGTERM
    code, _, err = finish(first[1], timeout=60)  # worker 1 notices its lost peer and says so in one line
    assert code == 1
    (line,) = error_lines(err)
    assert line.startswith("Error: worker 1 lost contact with its peers during training")
    assert not (outs[0] / "model.keras").exists()

    results = [finish(p) for p in start_both()]
    for code, out, err in results:
        assert code == 0, f"{out}\n{err[-3000:]}"
    record = json.loads((outs[0] / "history.json").read_text())
    assert [row["epoch"] for row in record["epochs"]] == [2]  # epoch 1 came from the backup
    assert not backups[0].exists() and not backups[1].exists()
    assert not outs[1].exists()


# ---------------------------------------------------------------- the CLI in-process
def test_mirrored_on_this_machine_trains_with_one_replica(tmp_path):
    result = cli("train", "--strategy", "mirrored", "--limit", "600", "--epochs", "1", "--batch-size", "64",
                 "--no-augment", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "strategy mirrored: 1 replica, per-replica batch 64, global batch 64, learning rate 0.001" in result.stdout
    record = json.loads((tmp_path / "run" / "history.json").read_text())
    assert record["distribution"]["strategy"] == "mirrored"
    assert (tmp_path / "run" / "model.keras").is_file()


@pytest.mark.parametrize("args, message", [
    (("--strategy", "multi-worker"), "needs TF_CONFIG or --workers"),
    (("--strategy", "one-device", "--workers", "a:1,b:2", "--worker-index", "0"), "--workers needs --strategy"),
    (("--workers", "a:1,b:2"), "--workers needs --worker-index"),
    (("--worker-index", "1"), "--worker-index needs --workers"),
    (("--workers", "a:1,b:2", "--worker-index", "2"), "--worker-index 2 is not in 0..1"),
    (("--workers", "a:1,b", "--worker-index", "0"), "'b' is not host:port"),
])
def test_bad_cluster_options_are_one_line_errors(monkeypatch, args, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    result = cli("train", *args)
    assert result.exit_code == 2
    assert message in one_line_error(result)


def test_help_documents_the_batch_and_learning_rate_rule():
    text = " ".join(cli("train", "--help").stdout.split())
    for phrase in ("--strategy [auto|one-device|mirrored|multi-worker]", "global batch = batch × replicas",
                   "linear scaling rule", "--connect-timeout", "--backup-dir", "--workers HOST:PORT,..."):
        assert phrase in text


# ---------------------------------------------------------------- pure helpers
def test_tf_config_is_built_from_workers_and_parsed_back():
    config = distribute.build_tf_config(distribute.parse_workers(" host-a:2222, 10.0.0.2:2222 "), 1)
    assert config == {"cluster": {"worker": ["host-a:2222", "10.0.0.2:2222"]}, "task": {"type": "worker", "index": 1}}
    cluster = distribute.parse_tf_config(json.dumps(config))
    assert cluster.name == "worker 1" and not cluster.is_chief
    assert cluster.peers == [("worker 0", "host-a:2222")]
    assert distribute.parse_tf_config(json.dumps({**config, "task": {"type": "worker", "index": 0}})).is_chief


def test_a_chief_task_is_the_chief_and_worker_0_is_not():
    cluster = {"chief": ["c:1"], "worker": ["w0:1", "w1:1"]}
    chief = distribute.parse_tf_config(json.dumps({"cluster": cluster, "task": {"type": "chief", "index": 0}}))
    worker0 = distribute.parse_tf_config(json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    assert chief.is_chief and not worker0.is_chief
    assert [name for name, _ in worker0.peers] == ["chief 0", "worker 1"]


@pytest.mark.parametrize("text, message", [
    ("not json", "TF_CONFIG is not"),
    ('{"cluster": {"worker": ["a:1"]}}', "TF_CONFIG is not"),
    ('{"cluster": {"worker": ["a:1"], "ps": ["p:1"]}, "task": {"type": "ps", "index": 0}}', "only 'chief' and"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "not in its cluster"),
    ('{"cluster": {"worker": ["a:99999"]}, "task": {"type": "worker", "index": 0}}', "is not host:port"),
])
def test_bad_tf_config_is_bad_input(text, message):
    with pytest.raises(BadInput, match=message):
        distribute.parse_tf_config(text)


def test_workers_option_wins_over_tf_config_which_single_machine_strategies_ignore():
    env = {"TF_CONFIG": json.dumps(distribute.build_tf_config(["x:1", "y:2", "z:3"], 2))}
    cluster, text = distribute.cluster_from_options("auto", "a:1,b:2", 0, env)
    assert cluster.tasks == (("worker 0", "a:1"), ("worker 1", "b:2")) and json.loads(text)["task"]["index"] == 0
    assert distribute.cluster_from_options("auto", None, None, env)[0].name == "worker 2"
    assert distribute.cluster_from_options("one-device", None, None, env) is None
    assert distribute.cluster_from_options("auto", None, None, {}) is None


def test_linear_scaling_rule():
    plan = distribute.scale("multi-worker", 4, 128, 1e-3)
    assert (plan.global_batch, plan.learning_rate) == (512, pytest.approx(4e-3))
    assert plan.describe() == ("strategy multi-worker: 4 replicas, per-replica batch 128, global batch 512, "
                               "learning rate 0.004")
    one = distribute.scale("one-device", 1, 128, 1e-3)
    assert (one.global_batch, one.learning_rate) == (128, 1e-3)


def test_auto_is_one_device_on_this_cpu_machine_and_changes_nothing():
    import tensorflow as tf

    assert not tf.config.list_physical_devices("GPU")
    dist = distribute.start("auto", None, None, connect_timeout=60)
    assert (dist.name, dist.strategy, dist.replicas, dist.is_chief) == ("one-device", None, 1, True)
    cluster = distribute.parse_tf_config(json.dumps(distribute.build_tf_config(["a:1", "b:2"], 0)))
    assert distribute.choose("auto", None, gpus=2) == "mirrored"
    assert distribute.choose("auto", cluster, gpus=0) == "multi-worker"


def test_backup_folders(tmp_path):
    chief = distribute.parse_tf_config(json.dumps(distribute.build_tf_config(["a:1", "b:2"], 0)))
    other = distribute.parse_tf_config(json.dumps(distribute.build_tf_config(["a:1", "b:2"], 1)))
    assert distribute.backup_dir(chief, tmp_path, None) == tmp_path / ".backup"
    elsewhere = distribute.backup_dir(other, tmp_path, None)
    assert tmp_path not in elsewhere.parents and elsewhere == distribute.backup_dir(other, None, None)
    assert distribute.backup_dir(None, tmp_path, None) is None  # one machine: only when asked
    assert distribute.backup_dir(other, tmp_path, tmp_path / "b") == tmp_path / "b"
    assert distribute.backup_epoch(tmp_path) == 0
    (tmp_path / "training_metadata.json").write_text('{"epoch": 3, "batch": 0}')
    assert distribute.backup_epoch(tmp_path) == 3


def test_preflight_waits_for_a_late_peer_and_names_a_missing_one():
    own, peer = free_ports(2)
    cluster = distribute.parse_tf_config(json.dumps(distribute.build_tf_config(
        [f"127.0.0.1:{own}", f"127.0.0.1:{peer}"], 0)))
    with pytest.raises(BadInput, match=f"worker 0 cannot reach worker 1 at 127.0.0.1:{peer} within 0.5 s"):
        distribute.preflight(cluster, timeout=0.5)
    with socket.create_server(("127.0.0.1", peer)):
        distribute.preflight(cluster, timeout=5)
    assert not any(distribute.reachable(f"127.0.0.1:{p}", 0.5) for p in (own, peer))  # all closed again
