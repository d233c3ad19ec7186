"""Conversion stage: float32 / int8 / dynamic-range / float16 TFLite models, verified, with a manifest."""
