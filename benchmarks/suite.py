"""`edge-digits benchmark`: every model the toolkit makes against the Keras model, in one run.

Per model × runtime × threads: size, load time, MNIST accuracy, agreement with Keras,
accuracy on generated photographs through the edge preprocessing, batch-1 latency
statistics and batch throughput. Then the end-to-end capture pipeline, the edge path's
cold start, and classify's overhead over a bare `invoke()`.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge_digits import __version__
from edge_digits.data import Digits

from .runners import KerasRunner, OnnxRunner, Runner, TFLiteRunner, onnx_available
from .stats import latency_stats, time_calls

FORMATS = ("float32", "int8", "dynamic", "float16")


@dataclass
class BenchConfig:
    keras_model: Path | None
    tflite_models: dict[str, Path]  # format → file
    test: Digits
    threads: list[int] = field(default_factory=lambda: [1, 2])
    runtimes: list[str] = field(default_factory=lambda: ["litert"])
    warmup: int = 20
    runs: int = 300
    keras_runs: int = 30
    photos: int = 200
    pipeline_frames: int = 300
    cold_start: bool = True
    onnx: bool = True
    seed: int = 7
    tflm: bool = True  # the TFLite Micro section (benchmarks/micro.py) for every int8 model


def machine_info() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__,
                "edge_digits": __version__}
    from importlib.metadata import PackageNotFoundError, version

    for name, dists in (("tensorflow", ("tensorflow", "tensorflow-cpu")), ("ai_edge_litert", ("ai-edge-litert",)),
                        ("tflite_runtime", ("tflite-runtime",)), ("onnxruntime", ("onnxruntime",))):
        for dist in dists:
            try:
                versions[name] = version(dist)
                break
            except PackageNotFoundError:
                continue
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "versions": versions,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


@dataclass
class PhotoSet:
    """Generated photographs, preprocessed once; every model classifies the same crops."""

    texts: list[str]
    crops: np.ndarray  # (M, 28, 28) uint8, all photos' digits in order
    counts: list[int]  # digits found per photo

    @classmethod
    def make(cls, test: Digits, count: int, seed: int) -> PhotoSet:
        from edge_digits.edge.photos import make_photos
        from edge_digits.edge.preprocess import find_digits

        single = make_photos(test.images, test.labels, count - count // 3, seed=seed)
        multi = make_photos(test.images, test.labels, count // 3, seed=seed + 1, digits_per_photo=(2, 4))
        texts, crops, counts = [], [], []
        for photo in single + multi:
            found = find_digits(photo.image)
            texts.append(photo.text)
            counts.append(len(found))
            crops.extend(c.image for c in found)
        stack = np.stack(crops) if crops else np.zeros((0, 28, 28), np.uint8)
        return cls(texts, stack, counts)

    def accuracy(self, probs: np.ndarray) -> float:
        """Share of photos read exactly (every digit, nothing more)."""
        labels = probs.argmax(1) if len(probs) else np.zeros(0, int)
        right, start = 0, 0
        for text, n in zip(self.texts, self.counts):
            right += "".join(map(str, labels[start : start + n])) == text
            start += n
        return right / len(self.texts) if self.texts else 0.0


def _row(runner: Runner, config: BenchConfig, keras_labels: np.ndarray | None, photos: PhotoSet | None) -> dict:
    test = config.test
    start = time.perf_counter()
    probs = runner.many(test.images)
    throughput = len(test) / (time.perf_counter() - start)
    labels = probs.argmax(1)
    one = test.images[:1]
    runs = config.keras_runs if runner.runtime.startswith("keras") else config.runs
    samples = time_calls(lambda: runner.one(one), min(config.warmup, runs), runs)
    return {
        "name": runner.name, "format": runner.format, "runtime": runner.runtime, "threads": runner.threads,
        "size_bytes": runner.size_bytes,
        "accuracy": round(float((labels == test.labels).mean()), 6),
        "agreement": None if keras_labels is None else round(float((labels == keras_labels).mean()), 6),
        "photo_accuracy": None if photos is None else round(photos.accuracy(runner.many(photos.crops)), 4),
        "latency_us": latency_stats(samples), "throughput_ips": round(throughput, 1),
        "load_s": round(runner.load_s, 4),
    }


def _skipped(name: str, fmt: str, runtime: str, threads: int, why: str) -> dict:
    return {"name": name, "format": fmt, "runtime": runtime, "threads": threads, "size_bytes": None,
            "accuracy": None, "agreement": None, "photo_accuracy": None, "latency_us": None,
            "throughput_ips": None, "load_s": None, "status": why}


def pipeline_fps(model: Path, test: Digits, frames: int, seed: int, work_dir: Path) -> dict:
    """End to end on a generated 640×480 MJPG video: decode + preprocess + classify, one thread."""
    from edge_digits.edge.photos import make_photos, write_video
    from edge_digits.edge.reader import read_frame
    from edge_digits.edge.runtime import Classifier

    photos = make_photos(test.images, test.labels, 50, seed=seed, digits_per_photo=(1, 4))
    video = work_dir / "pipeline.avi"
    write_video([photos[i % len(photos)] for i in range(frames)], str(video))
    classifier = Classifier(model, threads=1)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        cap = cv2.VideoCapture(str(video))
        per_frame, count = [], 0
        start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            ok, frame = cap.read()
            if not ok:
                break
            read_frame(frame, classifier)
            per_frame.append((time.perf_counter() - t0) * 1000)
            count += 1
        total = time.perf_counter() - start
        cap.release()
    finally:
        cv2.setNumThreads(threads)
    return {"model": model.name, "frames": count, "frame_size": [640, 480], "threads": 1,
            "fps": round(count / total, 1), "ms_p50": round(statistics.median(per_frame), 3),
            "ms_p99": round(float(np.percentile(per_frame, 99)), 3)}


_COLD_START = """
import atexit, sys
def _report():
    try:
        with open("/proc/self/status") as f:
            hwm = next(line.split()[1] for line in f if line.startswith("VmHWM"))
    except OSError:
        import resource
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stderr.write(f"\\nPEAK_RSS_KB {hwm}\\n")
atexit.register(_report)
from edge_digits.cli import run
sys.argv = ["edge-digits", "classify", "--model", sys.argv[1], sys.argv[2]]
run()
"""


def cold_start(model: Path, image: Path, repeats: int = 3) -> dict:
    """Process start → first classification printed, and the process's own peak RSS (VmHWM)."""
    times, rss = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _COLD_START, str(model), str(image)],
                              capture_output=True, text=True, timeout=120)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0 or "PEAK_RSS_KB" not in proc.stderr:
            raise RuntimeError(f"cold-start run failed (exit {proc.returncode}): {proc.stderr[-300:]}")
        rss.append(int(proc.stderr.rsplit("PEAK_RSS_KB", 1)[1].split()[0]) / 1024)
    return {"seconds_p50": round(statistics.median(times), 3), "peak_rss_mb": round(max(rss), 1),
            "runs": repeats}


def classify_overhead(model: Path, runs: int) -> dict:
    """Per-image cost of the classify path (pixels → probabilities) over a bare `invoke()`."""
    from edge_digits.edge.runtime import Classifier

    classifier = Classifier(model, threads=1)
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 6:22, 12:16] = 255
    classifier.probabilities(image)
    bare = statistics.median(time_calls(classifier.interpreter.invoke, 50, runs))
    full = statistics.median(time_calls(lambda: classifier.probabilities(image), 50, runs))
    return {"model": model.name, "invoke_us_p50": round(bare, 2), "classify_us_p50": round(full, 2),
            "overhead_pct": round(100 * (full - bare) / bare, 1)}


def run_benchmark(config: BenchConfig, log=print) -> dict:
    """The whole benchmark; returns the JSON document (design.md's contract plus extras)."""
    results: list[dict] = []
    photos = None
    if config.photos:
        log(f"preprocessing {config.photos} generated photographs ...")
        photos = PhotoSet.make(config.test, config.photos, config.seed)
    keras_labels = None
    work = Path(tempfile.mkdtemp(prefix="edge-digits-bench-"))
    if config.keras_model is not None:
        call = KerasRunner(config.keras_model, "call")
        keras_labels = call.many(config.test.images).argmax(1)  # what every other row agrees with
        for runner in (KerasRunner(config.keras_model, "predict"), call):
            log(f"{runner.name} ...")
            results.append(_row(runner, config, keras_labels, photos))
    for fmt, path in config.tflite_models.items():
        for runtime in config.runtimes:
            for threads in config.threads:
                log(f"tflite {fmt} on {runtime}, {threads} thread(s) ...")
                try:
                    runner = TFLiteRunner(path, fmt, runtime, threads)
                except Exception as error:  # a runtime that is not installed gets a skipped row
                    results.append(_skipped(f"tflite-{fmt}", fmt, runtime, threads, f"skipped: {error}"))
                    continue
                results.append(_row(runner, config, keras_labels, photos))
    if config.onnx and config.keras_model is not None:
        why = onnx_available()
        for threads in config.threads:
            if why:
                results.append(_skipped("onnx-float32", "float32", "onnxruntime", threads, why))
                continue
            log(f"onnxruntime float32, {threads} thread(s) ...")
            results.append(_row(OnnxRunner(config.keras_model, threads, work), config, keras_labels, photos))
    document = {"machine": machine_info(), "results": results,
                "settings": {"warmup": config.warmup, "runs": config.runs, "keras_runs": config.keras_runs,
                             "test_images": len(config.test), "photos": config.photos}}
    if photos is not None:
        document["photos"] = {"count": len(photos.texts), "digits_found": int(sum(photos.counts)),
                              "digits_true": int(sum(len(t) for t in photos.texts))}
    if config.tflm:  # hook: benchmarks/micro.py adds the TFLite Micro section
        from .micro import tflm_section

        int8 = {f"tflite-{fmt}": path for fmt, path in config.tflite_models.items() if fmt.endswith("int8")}
        if int8:
            log(f"TFLite Micro on {', '.join(p.name for p in int8.values())} ...")
            document["tflm"] = tflm_section(int8, config.test)
    edge_model = config.tflite_models.get("int8") or next(iter(config.tflite_models.values()), None)
    if edge_model is not None:
        if config.pipeline_frames:
            log(f"capture pipeline on {config.pipeline_frames} generated 640x480 frames ...")
            document["pipeline"] = pipeline_fps(edge_model, config.test, config.pipeline_frames, config.seed, work)
        document["classify_overhead"] = classify_overhead(edge_model, max(config.runs, 200))
        if config.cold_start:
            log("cold start of the edge path ...")
            image = work / "photo.png"
            from edge_digits.edge.photos import make_photos

            cv2.imwrite(str(image), make_photos(config.test.images, config.test.labels, 1, seed=config.seed)[0].image)
            document["cold_start"] = {"model": edge_model.name, **cold_start(edge_model, image)}
    return document
