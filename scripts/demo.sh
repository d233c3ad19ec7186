#!/usr/bin/env bash
# The whole pipeline on the embedded MNIST, as a user would type it. Outputs go to runs/demo.
set -euo pipefail
OUT=${DEMO_OUT:-runs/demo}
EPOCHS=${DEMO_EPOCHS:-3}
rm -rf "$OUT"
mkdir -p "$OUT"
step() { printf '\n==> %s\n' "$*"; }
# TensorFlow and LiteRT print start-up chatter on stderr that says nothing about the demo.
exec 2> >(grep --line-buffered -vE '^(I0000|W0000|WARNING: All log messages|INFO: Created TensorFlow Lite|To enable the following|fully_quantize:)' >&2)

step "edge-digits data export --format kaggle --out $OUT/data"
edge-digits data export --format kaggle --out "$OUT/data"

step "edge-digits train --train-csv $OUT/data/train.csv --epochs $EPOCHS --out $OUT/train"
edge-digits train --train-csv "$OUT/data/train.csv" --epochs "$EPOCHS" --out "$OUT/train"

step "edge-digits predict (Kaggle submission + the first 3 test digits)"
edge-digits predict --model "$OUT/train/model.keras" --csv "$OUT/data/test.csv" \
    --out "$OUT/submission.csv" --plot "$OUT/predictions.png" --n 3

step "edge-digits evaluate --model $OUT/train/model.keras (10,000 MNIST test images)"
edge-digits evaluate --model "$OUT/train/model.keras" --errors "$OUT/errors.png" --top 5 | tee "$OUT/evaluate.txt"

step "edge-digits convert --model $OUT/train/model.keras --float32 --int8 --dynamic"
edge-digits convert --model "$OUT/train/model.keras" --float32 --int8 --dynamic

step "edge-digits benchmark (Keras vs TFLite vs ONNX Runtime, the models just built)"
edge-digits benchmark --model "$OUT/train/model.keras" --runs 200 --keras-runs 20 --photos 200 \
    --pipeline-frames 300 --json "$OUT/benchmark.json" --plot "$OUT/benchmark.png" 2> "$OUT/benchmark.log" \
    | tee "$OUT/benchmark.txt"

step "edge-digits data photos + classify (generated photographs, shipped int8 model)"
edge-digits data photos --out "$OUT/photos" --count 12 --digits 1-4 --seed 11 --video "$OUT/photos.avi"
edge-digits classify "$OUT/photos" --save-crops "$OUT/crops" --json 2>/dev/null > "$OUT/classify.jsonl"
python - "$OUT/classify.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    confidences = " ".join(f"{d['confidence']:.2f}{'?' if d.get('uncertain') else ''}" for d in r["digits"])
    print(f"{r['source']}: {r['text']}  ({confidences})" if r["digits"] else f"{r['source']}: (no digits found)")
PY

step "edge-digits capture --source $OUT/photos.avi --headless --save $OUT/annotated.avi --json"
edge-digits capture --source "$OUT/photos.avi" --headless --smooth 3 --save "$OUT/annotated.avi" --json \
    > "$OUT/capture.jsonl"
head -n 2 "$OUT/capture.jsonl"

# ---- live preview: the photographs played at 2 a second, annotated and served over HTTP, then stopped.
PORT=${DEMO_PORT:-8765}
step "edge-digits capture --source $OUT/photos --realtime --serve 127.0.0.1:$PORT (a few seconds)"
edge-digits capture --source "$OUT/photos" --realtime --headless --smooth 3 --serve "127.0.0.1:$PORT" \
    2> "$OUT/preview.log" &
preview=$!
for _ in $(seq 50); do grep -q '^preview:' "$OUT/preview.log" && break; sleep 0.2; done
sed -n 's/^preview: /  open /p' "$OUT/preview.log"
sleep "${DEMO_PREVIEW_S:-4}"
python -c "import sys, urllib.request; print('  /api/reading:', urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()[:150])" \
    "http://127.0.0.1:$PORT/api/reading" || true
kill -TERM "$preview" 2> /dev/null || true
wait "$preview" || true
tail -n 1 "$OUT/preview.log"

# ---- the labelling loop (README "Adapt to your own handwriting"): labels from generated photos' truth.
step "the labelling loop on another hand: save uncertain digits, label, fine-tune, convert, read again"
OUT="$OUT/other-hand" PHOTOS=${DEMO_LOOP_PHOTOS:-60} TEST_PHOTOS=${DEMO_LOOP_PHOTOS:-60} EPOCHS=2 LIMIT=6000 CHECK=0 \
    bash scripts/finetune_loop.sh > "$OUT/other-hand.log" 2>&1
grep -E '^(held-out crops|MNIST test \(|.*digits read|check:)' "$OUT/other-hand.log" | sed 's/^/  /'

printf '\n==> summary\n'
python - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
manifest = json.loads((out / "train" / "manifest.json").read_text())
bench = json.loads((out / "benchmark.json").read_text())
keras = manifest["evaluation"]["keras_accuracy"]
rows = {(r["name"], r["threads"]): r for r in bench["results"] if r.get("latency_us")}
int8 = rows[("tflite-int8", 1)]
predict = next(r for (n, _), r in rows.items() if n == "keras-predict")
readings = [json.loads(line) for line in (out / "classify.jsonl").read_text().splitlines()]
photos = [Path(r["source"]).stem.split("_")[-1] == r["text"] for r in readings]  # true digits in the file name
frames = [json.loads(line) for line in (out / "capture.jsonl").read_text().splitlines()]
artifacts = [
    ("Kaggle CSVs", f"{out}/data/{{train,test,test_labels}}.csv"),
    ("model", f"{out}/train/model.keras"),
    ("history", f"{out}/train/history.json, history.png"),
    ("confusion matrix", f"{out}/train/confusion.png"),
    ("submission", f"{out}/submission.csv (+ predictions.png, errors.png)"),
    ("TFLite models", f"{out}/train/model_{{float32,int8,dynamic}}.tflite + manifest.json"),
    ("benchmark", f"{out}/benchmark.json, benchmark.png"),
    ("photos + crops", f"{out}/photos/, {out}/crops/"),
    ("annotated video", f"{out}/annotated.avi (+ capture.jsonl)"),
]
for name, path in artifacts:
    print(f"  {name:<18} {path}")
print()
print(f"  Keras accuracy (MNIST test)      {100 * keras:.2f}%")
for name, entry in manifest["models"].items():
    print(f"  {name:<32} {100 * entry['verification']['accuracy']:.2f}%  {entry['size_bytes'] / 1024:.0f} KiB")
print(f"  int8 batch-1 latency (p50)       {int8['latency_us']['p50']:.0f} µs "
      f"({predict['latency_us']['p50'] / int8['latency_us']['p50']:.0f}× faster than Keras predict)")
print(f"  photos read exactly (shipped)    {sum(photos)}/{len(photos)}")
if "pipeline" in bench:
    print(f"  capture pipeline                 {bench['pipeline']['fps']:.0f} frames/s (640x480, 1 thread)")
print(f"  capture run                      {len(frames)} frames annotated")
PY

printf '\n==> benchmark of the models just built (%s)\n' "$OUT/benchmark.txt"
cat "$OUT/benchmark.txt"

