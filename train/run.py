"""One training run from start to end: strategy, data, fit, outputs, backup removed.

The order matters: a multi-worker strategy must exist before any other TensorFlow op, every
worker trains, and only the chief writes the outputs. `edge-digits train` parses its flags,
calls `run_training` and prints the result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from edge_digits.errors import BadInput

from . import distribute

if TYPE_CHECKING:  # fit imports Keras; this module is imported before the strategy exists
    from .finetune import FinetuneReport
    from .fit import TrainResult

DEFAULT_HOLDOUT = 0.3  # of the --extra-data crops, with --finetune


@dataclass
class TrainingRun:
    """What a run did: the fit's result on every worker; the written files on the chief only."""

    result: TrainResult
    is_chief: bool
    worker: str = ""  # the cluster's name for this worker ("" without a cluster)
    outputs: dict[str, Path] = field(default_factory=dict)
    finetune: FinetuneReport | None = None  # before/after, on the chief of a --finetune run


def run_training(
    train_csv: Path | None,
    out_dir: Path | None,
    options: Mapping,
    strategy: str = "auto",
    workers: str | None = None,
    worker_index: int | None = None,
    connect_timeout: float = 60.0,
    backup_dir: Path | None = None,
    extra_data: Sequence[Path] = (),
    extra_repeat: int = 1,
    finetune: Path | None = None,
    holdout: float | None = None,
    not_digits: bool = False,
    log: Callable[[str], None] = print,
    environ: Mapping[str, str] = os.environ,
) -> TrainingRun:
    """Train with TrainConfig `options` (epochs, batch_size, ...); the chief writes `out_dir` (default runs/train/expN).

    `log` hears the lines a user wants before the epochs start (data mix, replicas and batch).
    With `finetune`, `holdout` (0.3) of the extra crops are kept out of training to report on (train/finetune.py).
    With `not_digits`, the extra data's `x` crops are trained towards no digit (train/augment.py).
    A multi-worker run that loses a peer raises a one-line ClickException instead of TensorFlow's page.
    """
    cluster, tf_config = distribute.cluster_from_options(strategy, workers, worker_index, environ) or (None, None)
    backup = distribute.backup_dir(cluster, out_dir, backup_dir)
    # The strategy first: multi-worker training must be set up before any other TensorFlow op.
    dist = distribute.start(strategy, cluster, tf_config, connect_timeout, backup)

    from edge_digits.data import load_digits
    from edge_digits.labelled import mixed, read_folder
    from edge_digits.paths import next_run_dir

    from .fit import TrainConfig, fit, scaling, write_outputs

    digits = load_digits(train_csv, "train", need_labels=True)
    extras = [read_folder(folder, not_digits) for folder in extra_data]
    sizes, held_out = [len(d) for d in extras], None
    if holdout is not None and not finetune:
        raise BadInput("--holdout applies to fine-tuning: add --finetune MODEL.keras")
    if finetune:
        from .finetune import hold_out

        holdout = DEFAULT_HOLDOUT if holdout is None else holdout
        extras, held_out = hold_out(extras, holdout, options["seed"])
    if extras:
        digits = mixed(digits, extras, extra_repeat, options["seed"])
        log(f"training data: {digits.source}, {len(digits)} images (extra data repeated {extra_repeat}x)")
    config = TrainConfig(finetune=str(finetune) if finetune else None, **options)
    log(scaling(config, dist.strategy).describe())
    try:
        result = fit(digits, config, strategy=dist.strategy, backup_dir=backup)
    except Exception as exc:
        message = distribute.peer_failure(dist.cluster, exc)
        if message is None:
            raise
        raise click.ClickException(message) from None
    distribute.remove_backup(backup)
    run = TrainingRun(result, dist.is_chief, dist.cluster.name if dist.cluster is not None else "")
    if run.is_chief:
        if finetune:
            from . import finetune as tuning
            from .keras_io import load_model

            run.finetune = tuning.report(load_model(finetune), result.model, held_out, load_digits(None, "test", True),
                                         tuning.not_digits(list(extra_data)))
            result.finetune = tuning.provenance(finetune, list(extra_data), sizes, holdout, run.finetune)
        run.outputs = write_outputs(result, config, out_dir or next_run_dir("train"))
    return run
