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
import shutil
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

from . import peers
from .macs import int8_mac_rate, macs_per_image
from .preview import preview_fps
from .runners import KerasRunner, Runner, TFLiteRunner
from .stats import latency_stats, time_calls


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
    field_photos: int = 300  # generated field photos read end to end (0: skip); the real set comes with them
    pipeline_frames: int = 300
    cold_start: bool = True
    peers: bool = True  # ONNX Runtime and OpenVINO at the same precision
    seed: int = 7
    reference: str = ""  # the table header's line about the Keras reference
    failed: dict[str, str] = field(default_factory=dict)  # named files that cannot run (--skip-failures)
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
                        ("tflite_runtime", ("tflite-runtime",)), ("onnxruntime", ("onnxruntime",)),
                        ("openvino", ("openvino",))):
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
        from edge_digits.edge.preprocess import find_digits
        from edge_digits.photos import make_photos

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


def pipeline_video(test: Digits, frames: int, seed: int, path: Path) -> Path:
    """A generated 640×480 MJPG video: 50 photographs of 1–4 digits, looped to `frames` frames."""
    from edge_digits.photos import make_photos, write_video

    photos = make_photos(test.images, test.labels, 50, seed=seed, digits_per_photo=(1, 4))
    write_video([photos[i % len(photos)] for i in range(frames)], str(path))
    return path


def pipeline_fps(model: Path, test: Digits, frames: int, seed: int, work_dir: Path) -> dict:
    """End to end on a generated 640×480 MJPG video: decode + preprocess + classify, one thread."""
    from edge_digits.edge.reader import read_digits
    from edge_digits.edge.runtime import Classifier

    video = pipeline_video(test, frames, seed, work_dir / "pipeline.avi")
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
            read_digits(frame, classifier)
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


def peer_rows(config: BenchConfig, keras_labels: np.ndarray | None, photos: PhotoSet | None, work: Path,
              log=print) -> list[dict]:
    """ONNX Runtime float32/int8 and OpenVINO int8/float32 rows, or skipped rows saying why not."""
    rows: list[dict] = []
    int8 = config.tflite_models.get("int8")
    jobs: list[tuple[str, str, str, str | None]] = []  # (name, format, runtime, why not)
    onnx_why = peers.missing("onnxruntime", "tf2onnx") or (
        None if config.keras_model else "skipped: needs the Keras model (--model) to export")
    jobs.append(("onnx-float32", "float32", "onnxruntime", onnx_why))
    jobs.append(("onnx-int8", "int8", "onnxruntime",
                 onnx_why or (None if int8 else "skipped: needs our int8 file, whose calibration it reuses")))
    ov_why = peers.missing("openvino")
    for fmt in ("int8", "float32"):
        jobs.append((f"openvino-{fmt}", fmt, "openvino",
                     ov_why or (None if fmt in config.tflite_models else f"skipped: no {fmt} .tflite file")))
    files: dict[str, Path] = {}
    for name, fmt, runtime, why in jobs:
        for threads in config.threads:
            if why:
                rows.append(_skipped(name, fmt, runtime, threads, why))
                continue
            if name == "onnx-float32" and name not in files:
                log("exporting the Keras model to ONNX (tf2onnx) ...")
                files[name] = peers.export_onnx(config.keras_model, work)
            if name == "onnx-int8" and name not in files:  # the float32 job ran first, with the same why
                images, how = peers.calibration_images(int8)
                log(f"quantizing the ONNX model to int8 (calibration: {how}) ...")
                files[name] = peers.quantize_onnx(files["onnx-float32"], images, work)
            log(f"{runtime} {fmt}, {threads} thread(s) ...")
            if runtime == "onnxruntime":
                runner: Runner = peers.OnnxRunner(files[name], fmt, threads)
            else:
                runner = peers.OpenVinoRunner(config.tflite_models[fmt], fmt, threads)
            rows.append(_row(runner, config, keras_labels, photos))
    return rows


def floor(config: BenchConfig) -> dict | None:
    """MACs per image from the graph and the one-core int8 time they need at the machine's MAC rate."""
    model = config.tflite_models.get("int8") or next(iter(config.tflite_models.values()), config.keras_model)
    rate = int8_mac_rate()
    if model is None or rate is None:
        return None
    macs = macs_per_image(model)
    return {"model": model.name, "macs_per_image": macs, "instruction": rate.instruction or "none",
            "macs_per_cycle": rate.macs_per_cycle, "clock_mhz": rate.clock_mhz,
            "int8_gmacs_per_core": round(rate.macs_per_second / 1e9, 1),
            "floor_us_one_core": round(rate.floor_us(macs), 2)}


def reading(model: Path, field_photos: int, seed: int) -> dict:
    """Whole pictures read end to end (find, split, classify, confidence) by the edge model."""
    from edge_digits.edge.runtime import Classifier

    from .reading_accuracy import REAL_SET, field_accuracy, real_accuracy

    classifier = Classifier(model)
    out = {"model": model.name, "field": {"seed": seed, **field_accuracy(classifier, field_photos, seed)["all"]}}
    if (REAL_SET / "labels.csv").is_file():  # a checkout, not an installed wheel
        out["real"] = real_accuracy(classifier)
    return out


def run_benchmark(config: BenchConfig, log=print) -> dict:
    """The whole benchmark; returns the JSON document (design.md's contract plus extras)."""
    work = Path(tempfile.mkdtemp(prefix="edge-digits-bench-"))
    try:
        return _run(config, work, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(config: BenchConfig, work: Path, log) -> dict:
    results: list[dict] = []
    photos = None
    if config.photos:
        log(f"preprocessing {config.photos} generated photographs ...")
        photos = PhotoSet.make(config.test, config.photos, config.seed)
    keras_labels = None
    if config.keras_model is not None:
        call = KerasRunner(config.keras_model, "call")
        keras_labels = call.many(config.test.images).argmax(1)  # what every other row agrees with
        for runner in (KerasRunner(config.keras_model, "predict"), call):
            log(f"{runner.name} ...")
            results.append(_row(runner, config, keras_labels, photos))
    for fmt, why in config.failed.items():
        results.append(_skipped(f"tflite-{fmt}", fmt, "-", 0, f"skipped: {why}"))
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
    if config.peers:
        results.extend(peer_rows(config, keras_labels, photos, work, log))
    document = {"machine": machine_info(), "reference": config.reference, "results": results,
                "settings": {"warmup": config.warmup, "runs": config.runs, "keras_runs": config.keras_runs,
                             "test_images": len(config.test), "photos": config.photos}}
    document["floor"] = floor(config)
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
            log("capture with the live preview, without and with one viewer ...")
            document["preview"] = preview_fps(edge_model, config.test, min(config.pipeline_frames, 150),
                                              config.seed, work)
        document["classify_overhead"] = classify_overhead(edge_model, max(config.runs, 200))
        if config.field_photos:
            log(f"reading the real development set and {config.field_photos} field photos ...")
            document["reading"] = reading(edge_model, config.field_photos, config.seed)
        if config.cold_start:
            log("cold start of the edge path ...")
            image = work / "photo.png"
            from edge_digits.photos import make_photos

            cv2.imwrite(str(image), make_photos(config.test.images, config.test.labels, 1, seed=config.seed)[0].image)
            document["cold_start"] = {"model": edge_model.name, **cold_start(edge_model, image)}
    return document
