"""The `edge-digits` command line: thin commands that parse, call a plain function, print.

Heavy imports (TensorFlow, pandas, OpenCV) happen inside the commands that need them, so
`edge-digits --help` is instant and the edge commands never load TensorFlow.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter

from edge_digits import __version__
from edge_digits.errors import BadInput, CheckFailed
from edge_digits.formats import DEFAULT_FORMATS, FORMATS, RUNTIMES, TFLITE_FORMATS, tflite_file_name

PATH = click.Path(path_type=Path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edge-digits")
def main() -> None:
    """Handwritten digit recognition from Kaggle CSVs to a camera on a small device.

    \b
    Pipeline:  data → train → convert → capture / classify → benchmark
    """


def training_stack(command: str) -> None:
    """Import TensorFlow for a training-side command: one line naming the extra when it is missing,
    and none of TensorFlow's C++ start-up lines before our own output."""
    import importlib.util

    from edge_digits.data import TRAIN_EXTRA
    from edge_digits.stderr import import_tensorflow

    missing = [m for m in ("tensorflow", "keras", "pandas", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        raise BadInput(f"`edge-digits {command}` needs the training extra: {TRAIN_EXTRA}")
    import_tensorflow()


# ---------------------------------------------------------------- data
@main.group()
def data() -> None:
    """Export or inspect MNIST in the Kaggle CSV format."""


@data.command("export")
@click.option("--format", "fmt", type=click.Choice(["kaggle"]), default="kaggle", show_default=True)
@click.option("--out", "out_dir", type=PATH, required=True, help="Folder for the CSV files.")
def data_export(fmt: str, out_dir: Path) -> None:
    """Write the built-in MNIST as train.csv, test.csv and test_labels.csv."""
    from edge_digits.data import export_kaggle

    for name, path in export_kaggle(out_dir).items():
        click.echo(f"{name:>12}: {path}")


@data.command("info")
@click.argument("csv_file", required=False, type=PATH)
def data_info(csv_file: Path | None) -> None:
    """Rows, label histogram and pixel statistics of a CSV, .csv.gz or .zip (default: built-in MNIST train)."""
    from edge_digits.data import describe_csv

    click.echo(describe_csv(csv_file))


def _digit_range(_ctx, _param, value: str) -> tuple[int, int]:
    try:
        low, _, high = value.partition("-")
        lo, hi = int(low), int(high or low)
    except ValueError:
        raise click.BadParameter("expected N or N-M, e.g. 1-4") from None
    if not 1 <= lo <= hi <= 8:
        raise click.BadParameter("digits per photo must be within 1-8")
    return lo, hi


@data.command("photos")
@click.option("--out", "out_dir", type=PATH, required=True, help="Folder for the JPEG photographs.")
@click.option("--count", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--digits", "digits_range", default="1-4", show_default=True, callback=_digit_range,
              help="Digits per photo, N or N-M.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--video", "video_file", type=PATH, help="Also write them as a video (.avi MJPG / .mp4).")
def data_photos(out_dir: Path, count: int, digits_range: tuple[int, int], seed: int, video_file: Path | None) -> None:
    """Generate photographs of MNIST test digits as ink on paper (to try classify/capture without a camera)."""
    from edge_digits.data import load_mnist
    from edge_digits.photos import iter_photos, write_photos

    test = load_mnist("test")
    write_photos(iter_photos(test.images, test.labels, count, seed=seed, digits_per_photo=digits_range), out_dir,
                 video_file)
    click.echo(f"{count} photographs in {out_dir} (true digits in the file names)")
    if video_file:
        click.echo(f"video: {video_file}")


@data.command("field")
@click.option("--out", "out_dir", type=PATH, required=True, help="Labelled folder to write (crops + labels.csv).")
@click.option("--photos", type=click.IntRange(min=0), default=20000, show_default=True,
              help="Field photos to render and cut into crops with the edge pipeline.")
@click.option("--styled", type=click.IntRange(min=0), default=20000, show_default=True,
              help="MNIST digits redrawn in other styles (elastic, slant, pen width).")
@click.option("--not-digits/--no-not-digits", default=False, show_default=True,
              help="Also keep what the pipeline cuts out that is no single digit (glued digits, wrong pieces of "
                   "a split, marks), labelled x, for train --not-digits.")
@click.option("--glued", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also this many glued pairs and triples of MNIST digits, labelled x.")
@click.option("--signs", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also this many photographed signs that are no digit (% # * + = ~ < > x $), labelled x.")
@click.option("--flagged", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also this many 1s with a long flag, and as many 7s (half with a bar across).")
@click.option("--curled", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also this many 9s whose foot curls wide back to the left, and as many 3s.")
@click.option("--open-fours", "fours", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also this many 4s drawn open in two strokes (some hooked over at the top), and as many 9s.")
@click.option("--seed", type=int, default=0, show_default=True)
def data_field(out_dir: Path, photos: int, styled: int, not_digits: bool, glued: int, signs: int,
               flagged: int, curled: int, fours: int, seed: int) -> None:
    """Training crops from field photos of MNIST train digits, as a labelled folder for train --extra-data."""
    from edge_digits.data import load_mnist
    from edge_digits.field_photos import field_training_set
    from edge_digits.labelled import write_folder

    train_set = load_mnist("train")
    images, labels, counts = field_training_set(train_set.images, train_set.labels, photos, styled, seed, not_digits,
                                                glued, signs, flagged, curled, fours)
    write_folder(out_dir, images, labels)
    extra = f", {counts['not_digits']} not digits (x)" if not_digits else ""
    extra += f", {glued} glued digits (x)" if glued else ""
    extra += f", {signs} signs (x)" if signs else ""
    extra += f", {counts['flagged']} flagged 1s and 7s" if flagged else ""
    extra += f", {counts['curled']} curled 9s and 3s" if curled else ""
    extra += f", {counts['fours']} open 4s and 9s" if fours else ""
    click.echo(f"{len(images)} crops in {out_dir}: {counts['photo_crops']} from {counts['photos']} field photos, "
               f"{counts['styled']} restyled digits{extra}")


# ---------------------------------------------------------------- train
@main.command()
@click.option("--train-csv", type=PATH, help="Kaggle train.csv (default: built-in MNIST train).")
@click.option("--out", "out_dir", type=PATH, help="Output folder (default: runs/train/expN).")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True,
              help="Per replica (see --strategy).")
@click.option("--optimizer", type=click.Choice(["rmsprop", "adam", "adadelta"]), default="rmsprop",
              show_default=True)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), help="Default per optimizer.")
@click.option("--schedule", type=click.Choice(["plateau", "cosine"]), default="plateau", show_default=True,
              help="ReduceLROnPlateau (the seed's) or cosine decay.")
@click.option("--augment/--no-augment", default=True, show_default=True)
@click.option("--augment-strength", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Scales rotation (±10°), zoom and shift (0.1).")
@click.option("--validation-split", type=click.FloatRange(0, 0.5), default=0.1, show_default=True)
@click.option("--limit", type=click.IntRange(min=10), help="Use the first N rows only.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--arch", type=click.Choice(["seed", "micro"]), default="seed", show_default=True,
              help="seed: the notebook's CNN; micro: a 34k-parameter CNN for microcontrollers (TFLite Micro).")
@click.option("--strategy", type=click.Choice(["auto", "one-device", "mirrored", "multi-worker"]), default="auto",
              show_default=True,
              help="auto: multi-worker if --workers/TF_CONFIG describe a cluster, mirrored on 2+ GPUs, else one "
                   "device. --batch-size is per replica: global batch = batch × replicas, and the learning rate "
                   "is multiplied by the number of replicas (linear scaling rule).")
@click.option("--workers", metavar="HOST:PORT,...",
              help="Multi-worker: every worker's address, in index order (instead of TF_CONFIG); worker 0 is the "
                   "chief and the only one that writes --out.")
@click.option("--worker-index", type=click.IntRange(min=0), help="Multi-worker: this machine's index in --workers.")
@click.option("--connect-timeout", type=click.FloatRange(min=0, min_open=True), default=60, show_default=True,
              help="Multi-worker: seconds to wait for every peer before failing.")
@click.option("--backup-dir", type=PATH,
              help="Back up each epoch here and resume from it after an interruption (multi-worker default: "
                   "--out/.backup on the chief, a temp folder on other workers); removed after success.")
@click.option("--extra-data", "extra_data", type=PATH, multiple=True,
              help="A labelled folder (28x28 PNG crops + labels.csv: file,label) to train on besides the CSV; "
                   "repeatable.")
@click.option("--extra-repeat", type=click.IntRange(min=1), default=1, show_default=True,
              help="Oversample the --extra-data this many times.")
@click.option("--not-digits", is_flag=True,
              help="Also train the --extra-data crops labelled x (not a digit) towards no digit, a flat output, "
                   "so the model is unsure of marks, fragments and glued digits (outlier exposure).")
@click.option("--finetune", type=PATH, help="Start from this .keras model's weights (fine-tuning).")
@click.option("--holdout", type=click.FloatRange(0, 0.9),
              help="With --finetune: share of the --extra-data crops kept out of training, to report accuracy "
                   "before/after on  [default: 0.3]")
def train(train_csv, out_dir, strategy, workers, worker_index, connect_timeout, backup_dir, extra_data, extra_repeat,
          not_digits, finetune, holdout, **options) -> None:
    """Train the seed (or --arch micro) CNN and write model.keras, history.json/png and confusion.png."""
    training_stack("train")
    from edge_digits.train.run import run_training

    run = run_training(train_csv, out_dir, options, strategy, workers, worker_index, connect_timeout, backup_dir,
                       extra_data, extra_repeat, finetune, holdout, not_digits=not_digits, log=click.echo)
    if not run.is_chief:
        click.echo(f"{run.worker} done; the chief writes the outputs")
        return
    from edge_digits.train.fit import per_class_table

    if run.result.val_labels is not None:
        click.echo(f"\nvalidation per class (best epoch {run.result.best_epoch}):")
        click.echo(per_class_table(run.result.val_labels, run.result.val_predicted))
    if run.finetune is not None:
        click.echo(f"\n{run.finetune.lines()}")
    for name, path in run.outputs.items():
        click.echo(f"{name:>13}: {path}")


# ---------------------------------------------------------------- predict / evaluate
@main.command()
@click.option("--model", "model_path", type=PATH, required=True, help="A .keras model.")
@click.option("--csv", "csv_file", type=PATH, required=True, help="Kaggle test.csv (or train.csv).")
@click.option("--out", "out_csv", type=PATH, required=True, help="Submission CSV to write.")
@click.option("--plot", "plot_file", type=PATH, help="PNG of the first --n digits with predictions.")
@click.option("--n", type=click.IntRange(min=1), default=3, show_default=True)
def predict(model_path: Path, csv_file: Path, out_csv: Path, plot_file: Path | None, n: int) -> None:
    """Predict a test.csv into a Kaggle submission (ImageId,Label)."""
    training_stack("predict")
    from edge_digits.data import load_csv
    from edge_digits.train.keras_io import load_model
    from edge_digits.train.predict import plot_predictions, predict_submission

    model = load_model(model_path)
    digits = load_csv(csv_file)
    labels = predict_submission(model, digits, out_csv)
    click.echo(f"{len(labels)} predictions written to {out_csv}")
    if plot_file:
        plot_predictions(digits, labels, n, plot_file)
        click.echo(f"plot: {plot_file}")


@main.command()
@click.option("--model", "model_path", type=PATH, required=True, help="A .keras model.")
@click.option("--csv", "csv_file", type=PATH, help="Labelled CSV (default: built-in MNIST test).")
@click.option("--errors", "errors_file", type=PATH, help="PNG of the most confident errors.")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True)
def evaluate(model_path: Path, csv_file: Path | None, errors_file: Path | None, top: int) -> None:
    """Accuracy, per-class accuracy and the most confident errors of a .keras model."""
    training_stack("evaluate")
    from edge_digits.data import load_digits
    from edge_digits.train.keras_io import load_model
    from edge_digits.train.predict import evaluate as run_evaluation
    from edge_digits.train.predict import plot_errors

    model = load_model(model_path)
    digits = load_digits(csv_file, "test", need_labels=True)
    evaluation = run_evaluation(model, digits)
    click.echo(evaluation.report(top))
    if errors_file:
        plot_errors(digits, evaluation, errors_file)
        click.echo(f"errors: {errors_file}")


# ---------------------------------------------------------------- convert
def format_flags(command):
    """--float32 --int8 --dynamic --float16: one flag per format of the registry, collected into `formats`."""
    for fmt in reversed(TFLITE_FORMATS):
        command = click.option(f"--{fmt.name}", "formats", flag_value=fmt.name, multiple=True, help=fmt.help)(command)
    return command


@main.command()
@click.option("--model", "model_path", type=PATH, help="The .keras model to convert.")
@format_flags
@click.option("--io", "io_type", type=click.Choice(["int8", "uint8", "float32"]), default="int8",
              show_default=True, help="Input/output type of the int8 model (uint8 takes raw 0-255 pixels).")
@click.option("--calibration-samples", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--calibration-csv", type=PATH, help="Calibration images (default: built-in MNIST train).")
@click.option("--eval-csv", type=PATH, help="Labelled held-out CSV (default: built-in MNIST test).")
@click.option("--max-drop", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="Fail when a model's accuracy is more than this many points below Keras.")
@click.option("--out", "out_dir", type=PATH, help="Output folder (default: beside the .keras file).")
@click.option("--name", help="File name stem (default: the .keras file's stem).")
@click.option("--micro", is_flag=True,
              help="Also export the int8 model for TensorFlow Lite Micro (NAME.cc/.h, NAME_ops.h), checked with "
                   "TFLM's own kernels: bit-exact vs LiteRT on 1,000 held-out images, arena measured.")
@click.option("--tflite", "tflite_path", type=PATH,
              help="With --micro: export this existing int8 .tflite instead of converting a --model.")
@click.option("--max-arena", type=click.IntRange(min=1), metavar="BYTES",
              help="With --micro: fail when the tensor arena (with its margin) is larger.")
@click.option("--micro-samples", type=click.IntRange(min=1000), default=1000, show_default=True,
              help="With --micro: held-out images TFLM must match LiteRT on.")
def convert(model_path: Path | None, formats: tuple[str, ...], io_type: str, calibration_samples: int,
            calibration_csv: Path | None, eval_csv: Path | None, max_drop: float, out_dir: Path | None,
            name: str | None, micro: bool, tflite_path: Path | None, max_arena: int | None,
            micro_samples: int) -> None:
    """Convert a .keras model to TFLite (default: --float32 --int8), verify each file, write a manifest.

    --micro also exports the int8 file for TensorFlow Lite Micro (or --tflite F.tflite --micro alone).
    """
    training_stack("convert")
    from edge_digits.convert.pipeline import ConvertOptions, check_output_dir, convert_all
    from edge_digits.data import load_digits

    if (model_path is None) == (tflite_path is None):
        raise BadInput("give either --model M.keras or --tflite F.tflite (the latter with --micro)")
    if tflite_path is not None:
        if not micro or formats:
            raise BadInput("--tflite exports an existing file for TFLite Micro: use it with --micro and no format flag")
        _convert_micro(tflite_path, out_dir, name, eval_csv, max_arena, micro_samples)
        return
    out_dir = out_dir or model_path.parent
    created = not out_dir.exists()
    try:
        check_output_dir(out_dir)
        if not model_path.is_file():
            raise BadInput(f"{model_path}: no such model file")
        formats = tuple(dict.fromkeys(formats)) or DEFAULT_FORMATS
        if micro and "int8" not in formats:
            formats += ("int8",)  # TFLite Micro runs the full-integer model
        calibration = load_digits(calibration_csv, "train", need_labels=False)
        evaluation = load_digits(eval_csv, "test", need_labels=True)
        options = ConvertOptions(formats=formats, io_type=io_type, calibration_samples=calibration_samples,
                                 max_drop=max_drop, name=name)
        report = convert_all(model_path, out_dir, calibration, evaluation, options)
    except BaseException:
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()  # a rejected or interrupted convert leaves no empty --out folder behind
        raise
    click.echo(report.table())
    if report.manifest:
        click.echo(f"manifest: {report.manifest}")
    if report.failed:
        names = ", ".join(r.fmt for r in report.failed)
        raise CheckFailed(f"accuracy dropped more than {max_drop} points below Keras for: {names} "
                          "(previous files of those names kept)")
    if micro:
        int8 = next(r.path for r in report.results if r.fmt == "int8")
        _convert_micro(int8, out_dir, None, eval_csv, max_arena, micro_samples)


def _convert_micro(tflite_path: Path, out_dir: Path | None, name: str | None, eval_csv: Path | None,
                   max_arena: int | None, samples: int) -> None:
    """`convert --micro`: check an int8 .tflite with TFLite Micro, then write its C++ files."""
    from edge_digits.convert.micro import export_micro
    from edge_digits.convert.pipeline import check_output_dir
    from edge_digits.data import load_digits

    if not tflite_path.is_file():
        raise BadInput(f"{tflite_path}: no such model file")
    out_dir = out_dir or tflite_path.parent
    check_output_dir(out_dir)
    evaluation = load_digits(eval_csv, "test", need_labels=True)
    click.echo(export_micro(tflite_path, evaluation, out_dir, name, samples, max_arena).summary())


# ---------------------------------------------------------------- benchmark
def _int_list(_ctx, _param, value: str) -> list[int]:
    try:
        values = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter("expected comma-separated integers, e.g. 1,2") from None
    if not values or min(values) < 1:
        raise click.BadParameter("expected positive integers, e.g. 1,2")
    return values


_DEFAULT_TFLITE = tflite_file_name("<stem>", "{" + ",".join(FORMATS) + "}")  # <stem>_{float32,int8,...}.tflite


@main.command()
@click.option("--model", "keras_path", type=PATH,
              help="The .keras reference (default: models/digits.keras, also with --tflite).")
@click.option("--tflite", "tflite_paths", type=PATH, multiple=True,
              help=f"TFLite files (default: {_DEFAULT_TFLITE} beside --model).")
@click.option("--test-csv", type=PATH, help="Labelled test CSV (default: the 10,000 MNIST test images).")
@click.option("--limit", type=click.IntRange(min=10), help="Use only the first N test images.")
@click.option("--threads", default="1,2", show_default=True, callback=_int_list, help="Thread counts to try.")
@click.option("--runtimes", default="litert", show_default=True,
              help=f"Comma-separated: {', '.join(RUNTIMES)}.")
@click.option("--warmup", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--runs", type=click.IntRange(min=1), default=300, show_default=True,
              help="Timed batch-1 runs per TFLite/ONNX/OpenVINO row.")
@click.option("--keras-runs", type=click.IntRange(min=1), default=30, show_default=True,
              help="Timed batch-1 runs per Keras row (predict costs ~40 ms a call).")
@click.option("--photos", type=click.IntRange(min=0), default=300, show_default=True,
              help="Generated photographs for the photo accuracy column (0: skip).")
@click.option("--field-photos", type=click.IntRange(min=0), default=300, show_default=True,
              help="Generated field photos read end to end, with the real development set (0: skip both).")
@click.option("--pipeline-frames", type=click.IntRange(min=0), default=300, show_default=True)
@click.option("--no-peers", "--no-onnx", "no_peers", is_flag=True,
              help="Skip the ONNX Runtime and OpenVINO peers.")
@click.option("--no-cold-start", is_flag=True)
@click.option("--skip-failures", is_flag=True,
              help="A --tflite file that cannot run becomes a skipped row instead of an error.")
@click.option("--no-tflm", is_flag=True, help="Skip the TFLite Micro section (int8 models run in TFLM).")
@click.option("--json", "json_file", type=PATH, help="Write the results as JSON (README contract).")
@click.option("--plot", "plot_file", type=PATH, help="PNG: latency per model, accuracy against size.")
@click.option("--min-accuracy", type=click.FloatRange(0, 1), help="Fail when any model's accuracy is below this.")
def benchmark(**kwargs) -> None:
    """Latency and accuracy of Keras vs TFLite float32 / int8 / dynamic / float16, side by side."""
    from edge_digits.benchmarks.gate import below_min_accuracy
    from edge_digits.benchmarks.options import BenchOptions, bench_config
    from edge_digits.benchmarks.report import plot, table, write_json
    from edge_digits.benchmarks.suite import run_benchmark

    options = BenchOptions.from_cli(**kwargs)
    document = run_benchmark(bench_config(options), log=lambda msg: click.echo(msg, err=True))
    click.echo(table(document))
    if options.json_file:
        write_json(document, options.json_file)
        click.echo(f"json: {options.json_file}")
    if options.plot_file:
        plot(document, options.plot_file)
        click.echo(f"plot: {options.plot_file}")
    if options.min_accuracy is not None:
        low = below_min_accuracy(document, options.min_accuracy)
        if low:
            raise CheckFailed(f"below --min-accuracy {100 * options.min_accuracy:.2f}%: " + "; ".join(low))


# ---------------------------------------------------------------- device commands
from edge_digits.cli_edge import capture, classify, label  # noqa: E402  (click only; heavy imports inside)

main.add_command(classify)
main.add_command(capture)
main.add_command(label)


def _terminated(signum, _frame) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: `finally` blocks remove temp files


def run() -> None:
    """Entry point: an interrupted run exits 130 (Ctrl-C) or 143 (SIGTERM), cleaned up, without a traceback."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
