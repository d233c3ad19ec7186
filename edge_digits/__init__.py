"""edge-digits: handwritten digit recognition from Kaggle CSVs to a camera on a small device."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`from edge_digits import DigitReader` without importing OpenCV or a runtime until it is used."""
    if name == "DigitReader":
        from edge_digits.edge.digit_reader import DigitReader

        return DigitReader
    raise AttributeError(f"module 'edge_digits' has no attribute {name!r}")
