"""Benchmarks: latency and accuracy of Keras vs TFLite formats and runtimes, side by side."""
