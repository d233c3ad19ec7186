"""The shipped release models (`digits_int8.tflite` and friends) and their manifest."""
