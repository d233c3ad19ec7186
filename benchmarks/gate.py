"""The benchmark's quality gate: rows whose accuracy is below the floor the user set."""

from __future__ import annotations


def below_min_accuracy(document: dict, min_accuracy: float) -> list[str]:
    """One "name (runtime, threads): accuracy" entry per measured row under `min_accuracy`."""
    return [f"{r['name']} ({r['runtime']}, {r['threads']}): {100 * r['accuracy']:.2f}%"
            for r in document["results"] if r.get("accuracy") is not None and r["accuracy"] < min_accuracy]
