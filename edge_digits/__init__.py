"""edge-digits: handwritten digit recognition from Kaggle CSVs to a camera on a small device."""

__version__ = "0.1.0"
