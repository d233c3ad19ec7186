"""Training stage: the seed CNN, augmentation in tf.data, fit, plots, predict and evaluate."""
