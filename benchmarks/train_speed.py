"""Training throughput: one epoch of the 60,000 MNIST images with augmentation.

    python -m edge_digits.benchmarks.train_speed [--epochs 2]

Times `edge_digits.train.fit` against a bare Keras `model.fit` on the same tf.data
augmentation pipeline, so the toolkit's own overhead (callbacks, logging) shows.
The first epoch includes graph tracing; the table reports each epoch.
"""

from __future__ import annotations

import argparse
import os
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

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
    model.fit(ds, epochs=args.epochs, verbose=0, shuffle=False, callbacks=[timer.callback])
    bare = timer.callback.times

    start = time.perf_counter()
    config = TrainConfig(epochs=args.epochs, validation_split=0.0)
    fit(train, config, verbose=0)
    ours = (time.perf_counter() - start) / args.epochs

    print(f"{'':<34}" + "".join(f"{'epoch ' + str(i + 1):>10}" for i in range(args.epochs)))
    print(f"{'bare Keras fit, tf.data augment':<34}" + "".join(f"{t:>9.1f}s" for t in bare))
    print(f"{'edge-digits train (mean/epoch)':<34}{ours:>9.1f}s")
    print(f"60,000 images, batch 128, augmentation on, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
