"""Edge stage: capture, MNIST-style preprocessing, a TensorFlow-free LiteRT classifier, overlay."""
