"""Training beyond one device: pick a tf.distribute strategy, describe the cluster, scale batch and LR.

Three things are easy to get wrong with `MultiWorkerMirroredStrategy`, so they live in one place:

* it must be created before any other TensorFlow op (it configures the runtime's collectives),
  so `start()` is the first TensorFlow call of `edge-digits train`;
* creating it blocks in C++, with no time limit and Python's global lock held, until every peer
  has joined; `preflight()` first waits (bounded by --connect-timeout) until every peer's port
  answers and fails with a one-line error naming the missing ones, and a child-process `Guard`
  bounds what is left (strategy creation and the first collective);
* only the chief may write the run's outputs (`Cluster.is_chief`), and every worker needs its own
  backup folder to resume from (`backup_dir`).

Pure helpers (parsing, TF_CONFIG, scaling, choice) import nothing heavy, so they are unit-testable.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_digits.errors import BadInput

STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker")


# ---------------------------------------------------------------- cluster description
@dataclass(frozen=True)
class Cluster:
    """This process's place in a multi-worker cluster, as TF_CONFIG describes it."""

    tasks: tuple[tuple[str, str], ...]  # (task name such as "worker 1", "host:port"), chief first
    task_type: str  # "chief" or "worker"
    task_index: int

    @property
    def name(self) -> str:
        return f"{self.task_type} {self.task_index}"

    @property
    def is_chief(self) -> bool:
        """The chief writes the outputs: task `chief` if the cluster has one, else worker 0 (TF's rule)."""
        has_chief = any(name.startswith("chief ") for name, _ in self.tasks)
        return self.task_type == "chief" or (not has_chief and self.task_index == 0)

    @property
    def peers(self) -> list[tuple[str, str]]:
        """Every other task: the ones this worker waits for."""
        return [(name, address) for name, address in self.tasks if name != self.name]

    @property
    def key(self) -> str:
        """Short stable id of (cluster, task): names this worker's default backup folder across restarts."""
        text = json.dumps([self.tasks, self.task_type, self.task_index])
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def parse_address(text: str) -> str:
    """`host:port` with a port in 1..65535; BadInput otherwise (a typo should not become a hang)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"worker address {text.strip()!r} is not host:port")
    return f"{host}:{int(port)}"


def parse_workers(text: str) -> list[str]:
    """`--workers host:port,host:port` → addresses, in task-index order, each at most once."""
    addresses = [parse_address(part) for part in text.split(",") if part.strip()]
    if not addresses:
        raise BadInput("--workers needs at least one host:port")
    if len(set(addresses)) != len(addresses):
        raise BadInput(f"--workers lists an address twice: {text}")
    return addresses


def build_tf_config(workers: list[str], index: int) -> dict[str, Any]:
    """The TF_CONFIG that `--workers ... --worker-index I` stands for (no chief job: worker 0 leads)."""
    if not 0 <= index < len(workers):
        raise BadInput(f"--worker-index {index} is not in 0..{len(workers) - 1} (one per --workers address)")
    return {"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}}


def parse_tf_config(text: str) -> Cluster:
    """A Cluster from TF_CONFIG's JSON; BadInput naming what is wrong (only chief/worker jobs train)."""
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        task_type, task_index = str(task["type"]), int(task["index"])
        jobs = {job: [parse_address(a) for a in cluster.get(job, [])] for job in ("chief", "worker")}
    except BadInput as exc:
        raise BadInput(f"TF_CONFIG: {exc.message}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadInput(f"TF_CONFIG is not {{'cluster': {{...}}, 'task': {{'type', 'index'}}}}: {exc}") from None
    if task_type not in jobs:
        raise BadInput(f"TF_CONFIG task type {task_type!r}: only 'chief' and 'worker' tasks train here")
    if not 0 <= task_index < len(jobs[task_type]):
        raise BadInput(f"TF_CONFIG task {task_type} {task_index} is not in its cluster's {task_type} list")
    if len(jobs["chief"]) > 1:
        raise BadInput("TF_CONFIG: a cluster has at most one chief")
    tasks = tuple((f"{job} {i}", address) for job in ("chief", "worker") for i, address in enumerate(jobs[job]))
    return Cluster(tasks, task_type, task_index)


def cluster_from_options(strategy: str, workers: str | None, worker_index: int | None,
                         environ: Mapping[str, str]) -> tuple[Cluster, str] | None:
    """(cluster, its TF_CONFIG text) from --workers/--worker-index, else from TF_CONFIG; None if neither.

    The options win over the environment so that one shell can start several local workers.
    TF_CONFIG is read only for `auto` and `multi-worker`: an explicit single-machine strategy
    ignores a TF_CONFIG left in the environment.
    """
    if workers is None and worker_index is not None:
        raise BadInput("--worker-index needs --workers")
    if workers is not None:
        if strategy not in ("auto", "multi-worker"):
            raise BadInput(f"--workers needs --strategy multi-worker (or auto), not {strategy}")
        if worker_index is None:
            raise BadInput("--workers needs --worker-index (this machine's position in the list)")
        text = json.dumps(build_tf_config(parse_workers(workers), worker_index))
        return parse_tf_config(text), text
    text = environ.get("TF_CONFIG", "").strip() if strategy in ("auto", "multi-worker") else ""
    return (parse_tf_config(text), text) if text else None


def choose(strategy: str, cluster: Cluster | None, gpus: int) -> str:
    """What `auto` means: multi-worker when a cluster is described, mirrored on 2+ GPUs, else one device."""
    if strategy == "auto":
        if cluster is not None:
            return "multi-worker"
        return "mirrored" if gpus > 1 else "one-device"
    if strategy == "multi-worker" and cluster is None:
        raise BadInput("--strategy multi-worker needs TF_CONFIG or --workers host:port,... --worker-index I")
    if strategy != "multi-worker" and cluster is not None:
        raise BadInput(f"--strategy {strategy} runs on one machine: drop --workers or use multi-worker")
    return strategy


# ---------------------------------------------------------------- batch and learning-rate scaling
@dataclass(frozen=True)
class Scaling:
    """Per-replica batch is what the user asks for; the global batch and the learning rate follow."""

    strategy: str
    replicas: int
    per_replica_batch: int
    global_batch: int
    learning_rate: float

    def describe(self) -> str:
        plural = "replica" if self.replicas == 1 else "replicas"
        return (f"strategy {self.strategy}: {self.replicas} {plural}, per-replica batch {self.per_replica_batch}, "
                f"global batch {self.global_batch}, learning rate {self.learning_rate:g}")


def scale(strategy: str, replicas: int, per_replica_batch: int, base_learning_rate: float) -> Scaling:
    """Linear scaling rule (Goyal et al. 2017): global batch = batch × replicas, LR = base LR × replicas.

    Each optimizer step averages the gradient over `replicas` times more examples, so there are
    `replicas` times fewer steps per epoch; scaling the LR by the same factor keeps the distance
    travelled per epoch roughly the same. One replica leaves both untouched.
    """
    if replicas < 1:
        raise ValueError("replicas must be at least 1")
    return Scaling(strategy, replicas, per_replica_batch, per_replica_batch * replicas,
                   base_learning_rate * replicas)


def strategy_name(strategy: Any | None) -> str:
    """The --strategy name of a tf.distribute strategy object (None: TensorFlow's default, one device)."""
    kind = type(strategy).__name__ if strategy is not None else ""
    if "MultiWorker" in kind or "CollectiveAllReduce" in kind:
        return "multi-worker"
    return "mirrored" if "Mirrored" in kind else "one-device"


# ---------------------------------------------------------------- backups for resuming
def backup_dir(cluster: Cluster | None, out_dir: Path | None, explicit: Path | None) -> Path | None:
    """Where BackupAndRestore keeps the last epoch: --backup-dir, else the chief's --out/.backup.

    Non-chief workers must write nothing into --out, so without --backup-dir they use a folder in
    the system temp dir whose name is stable across restarts (same cluster and index → same folder).
    Single-machine runs back up only when asked (--backup-dir), which keeps the default path as it was.
    """
    if explicit is not None:
        return explicit
    if cluster is None:
        return None
    if cluster.is_chief:
        return (out_dir if out_dir is not None else Path("runs") / "train") / ".backup"
    return Path(tempfile.gettempdir()) / f"edge-digits-backup-{cluster.key}"


def backup_epoch(folder: Path | None) -> int:
    """The epoch a BackupAndRestore folder would resume after (0: nothing to resume)."""
    try:
        return int(json.loads((folder / "training_metadata.json").read_text())["epoch"])
    except (TypeError, OSError, ValueError, KeyError):
        return 0


# ---------------------------------------------------------------- peers: pre-flight, then a guard
def reachable(address: str, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at host:port (a peer's gRPC server is up)."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:  # refused, unreachable, unknown host, timed out
        return False


def unreachable_message(cluster: Cluster, missing: list[tuple[str, str]], timeout: float) -> str:
    """The one line a worker fails with when some peers never answered."""
    names = ", ".join(f"{name} at {address}" for name, address in missing)
    return (f"{cluster.name} cannot reach {names} within {timeout:g} s: start every worker with the same "
            f"--workers (or TF_CONFIG cluster) and its own index, or raise --connect-timeout")


def listen_placeholder(address: str) -> socket.socket:
    """Accept TCP connections on this worker's own port until TensorFlow's server takes it over.

    TensorFlow opens the port only while creating the strategy, and that call blocks until every
    peer has joined; if workers waited for each other's TF ports first, none would ever open its
    own. A plain listener (never accepting: the kernel completes the handshakes) breaks the circle.
    """
    port = int(address.rpartition(":")[2])
    try:
        if socket.has_dualstack_ipv6():
            return socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=128)
        return socket.create_server(("", port), backlog=128)
    except OSError as exc:
        raise BadInput(f"cannot listen on this worker's address {address}: {exc.strerror or exc}") from None


def preflight(cluster: Cluster, timeout: float, poll: float = 0.25) -> None:
    """Wait until every peer accepts TCP connections; BadInput naming the missing ones after `timeout` s."""
    own = dict((name, address) for name, address in cluster.tasks)[cluster.name]
    deadline = time.monotonic() + timeout
    missing = list(cluster.peers)
    with listen_placeholder(own):
        while missing:
            missing = [peer for peer in missing if not reachable(peer[1], timeout=min(1.0, timeout))]
            if not missing:
                return
            if time.monotonic() >= deadline:
                raise BadInput(unreachable_message(cluster, missing, timeout))
            time.sleep(poll)


GUARD = """\
import os, select, signal, sys
pid, timeout, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ready, _, _ = select.select([sys.stdin], [], [], timeout)
if not ready:  # neither "done" nor EOF (the parent would have closed the pipe by exiting)
    sys.stderr.write(message + "\\n")
    sys.stderr.flush()
    os.kill(pid, signal.SIGKILL)
"""


class Guard:
    """Kill this process with a one-line message if the block has not finished within `timeout` s.

    Creating MultiWorkerMirroredStrategy waits in C++ for every peer, holding Python's global lock,
    so no thread of ours can run meanwhile; a tiny child process can. It only fires when peers
    that answered the pre-flight still do not form a cluster (different cluster lists, a peer that
    died since). SIGKILL because TensorFlow swallows SIGTERM (its preemption notifier).
    """

    def __init__(self, timeout: float, message: str):
        self.timeout, self.message = timeout, message
        self._child: subprocess.Popen | None = None

    def __enter__(self) -> Guard:
        self._child = subprocess.Popen(
            [sys.executable, "-c", GUARD, str(os.getpid()), str(self.timeout), "Error: " + self.message],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.close()  # EOF: the child sees it at once and exits quietly
        self._child.wait()


# ---------------------------------------------------------------- strategies (TensorFlow from here on)
@dataclass
class Distribution:
    """What `start()` made: the strategy (None: TensorFlow's default, one device) and the cluster."""

    name: str
    strategy: Any | None = None
    cluster: Cluster | None = None

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync) if self.strategy is not None else 1

    @property
    def is_chief(self) -> bool:
        return self.cluster is None or self.cluster.is_chief


def start(strategy: str, cluster: Cluster | None, tf_config: str | None, connect_timeout: float,
          backup: Path | None = None) -> Distribution:
    """Create the strategy; call it before any other TensorFlow op (multi-worker requires that).

    `one-device` returns no strategy at all, so the single-device path is exactly the old one.
    For multi-worker, `backup` is this worker's BackupAndRestore folder: all workers must resume
    from the same epoch, so if their backups disagree (one was killed mid-save) all are dropped.
    """
    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU")) if strategy == "auto" and cluster is None else 0
    name = choose(strategy, cluster, gpus)
    if name == "one-device":
        return Distribution(name)
    if name == "mirrored":
        return Distribution(name, tf.distribute.MirroredStrategy())
    assert cluster is not None and tf_config is not None
    os.environ["TF_CONFIG"] = tf_config
    preflight(cluster, connect_timeout)
    late = (f"{cluster.name}: every peer answered but the cluster did not form within {connect_timeout:g} s "
            "(do all workers list the same cluster?); raise --connect-timeout if they are just slow")
    with Guard(connect_timeout, late):
        try:
            made = tf.distribute.MultiWorkerMirroredStrategy()
        except Exception as exc:  # e.g. an address TensorFlow cannot bind or resolve
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BadInput(f"{cluster.name} cannot start multi-worker training: {first[:300]}") from None
        epochs = gather_ints(made, backup_epoch(backup))  # first collective: every worker is really there
    # TensorFlow's preemption notifier swallows SIGTERM; restore the default so `kill` and Kubernetes
    # pod deletion stop a worker at once (training resumes from the last epoch's backup).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if len(set(epochs)) > 1 and backup is not None:
        print(f"{cluster.name}: workers' backups are at different epochs {sorted(set(epochs))}; "
              "starting again from epoch 1", file=sys.stderr)
        remove_backup(backup)
    return Distribution(name, made, cluster)


def peer_failure(cluster: Cluster | None, exc: BaseException) -> str | None:
    """The one line for a multi-worker run that lost a peer mid-training; None for any other error.

    TensorFlow reports a dead peer as an op error with a page of graph context; what the user needs
    is which worker stopped and that starting every worker again resumes from the last backup.
    """
    if cluster is None:
        return None
    import tensorflow as tf

    lost = (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.AbortedError,
            tf.errors.DeadlineExceededError)
    if not isinstance(exc, lost):
        return None
    detail = next((line.strip() for line in str(exc).splitlines() if "aborted by" in line), type(exc).__name__)
    return (f"{cluster.name} lost contact with its peers during training ({detail[:200]}); "
            "start every worker again to resume from the last finished epoch")


def patch_keras(model: Any, strategy: Any) -> None:
    """Work around two Keras 3 bugs that stop `fit` under MultiWorkerMirroredStrategy (keras-team/keras#20585).

    1. Before the first step, Keras reduces the first distributed batch with
       `strategy.reduce("MEAN", (x, y), axis=None)` only to learn its shapes; tf.distribute cannot
       reduce a tuple across workers. The model gets one replica's local batch instead (same
       shapes, no communication): an instance-level patch, only on this model.
    2. Each step's logs (loss, metrics: one scalar per replica) are reduced with
       `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars. Keras's per-step reduction is
       replaced, for multi-worker strategies only, by a mean across replicas (`axis=None`).
    Both are no-ops for one-device and mirrored training. Call on a model made in `strategy.scope()`.
    """
    if strategy_name(strategy) != "multi-worker":
        return
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    original_build = model._maybe_symbolic_build

    def build(iterator=None, data_batch=None):
        if iterator is not None and data_batch is None:
            for _, _, it in iterator:
                batch = next(it)
                data_batch = tf.nest.map_structure(lambda v: strategy.experimental_local_results(v)[0], batch)
                break
        return original_build(data_batch=data_batch)

    model._maybe_symbolic_build = build
    if getattr(trainer.reduce_per_replica, "edge_digits_patched", False):
        return
    original_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and strategy_name(strategy) == "multi-worker":
            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None) if isinstance(v, tf.distribute.DistributedValues)
                else v, values)
        return original_reduce(values, strategy, reduction)

    reduce_per_replica.edge_digits_patched = True
    trainer.reduce_per_replica = reduce_per_replica


def gather_ints(strategy: Any, value: int) -> list[int]:
    """Every replica's `value` (an all-gather across workers): a barrier that also compares state."""
    import tensorflow as tf

    @tf.function  # eager collectives work but make TensorFlow warn about their overhead
    def gather() -> tf.Tensor:
        return strategy.gather(strategy.run(lambda: tf.constant([value], tf.int64)), axis=0)

    return [int(v) for v in gather().numpy()]


def remove_backup(folder: Path | None) -> None:
    """Remove a backup folder after success (BackupAndRestore also does) or when it cannot be used."""
    import shutil

    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
