"""Training throughput: one epoch of the 60,000 MNIST images with augmentation.

    python -m edge_digits.benchmarks.train_speed [--epochs 2]

Times `edge_digits.train.fit` against a bare Keras `model.fit` on the same tf.data
augmentation pipeline, so the toolkit's own overhead (callbacks, logging) shows.
The first epoch includes graph tracing; the table reports each epoch.
"""

from __future__ import annotations

import os
import time

import click

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class _EpochTimer:
    def __init__(self):
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.times: list[float] = []

            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self.start)

        self.callback = Timer()


def train_speed(epochs: int) -> dict:
    """Seconds per epoch of a bare Keras fit, and the mean of `edge_digits.train.fit`'s epochs."""
    import keras

    from edge_digits.data import load_mnist
    from edge_digits.train import augment
    from edge_digits.train.fit import TrainConfig, fit
    from edge_digits.train.model import build_model, make_optimizer

    train = load_mnist("train")
    timer = _EpochTimer()
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(optimizer=make_optimizer("rmsprop"), loss="categorical_crossentropy", metrics=["accuracy"])
    ds = augment.dataset(train.images, train.labels, 128, augment=True, seed=0)
    model.fit(ds, epochs=epochs, verbose=0, shuffle=False, callbacks=[timer.callback])
    bare = timer.callback.times

    start = time.perf_counter()
    config = TrainConfig(epochs=epochs, validation_split=0.0)
    fit(train, config, verbose=0)
    return {"bare_keras_s": bare, "edge_digits_mean_s": (time.perf_counter() - start) / epochs,
            "images": len(train), "cores": os.cpu_count()}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True)
def main(epochs: int) -> None:
    """Seconds per training epoch on the 60,000 MNIST images, with augmentation."""
    r = train_speed(epochs)
    click.echo(f"{'':<34}" + "".join(f"{'epoch ' + str(i + 1):>10}" for i in range(epochs)))
    click.echo(f"{'bare Keras fit, tf.data augment':<34}" + "".join(f"{t:>9.1f}s" for t in r["bare_keras_s"]))
    click.echo(f"{'edge-digits train (mean/epoch)':<34}{r['edge_digits_mean_s']:>9.1f}s")
    click.echo(f"{r['images']:,} images, batch 128, augmentation on, {r['cores']} cores")


if __name__ == "__main__":
    main()
