#!/usr/bin/env bash
# The labelling loop on a generated "other hand" (edge_digits/other_hand.py), without a person:
# save what the shipped model is unsure of, label it from the photos' truth, fine-tune, convert,
# and read held-out photos of the same hand before and after. `make demo` runs a short pass;
# the README's figures come from the defaults below. Outputs go to $OUT.
set -euo pipefail
OUT=${OUT:-runs/other-hand}
PHOTOS=${PHOTOS:-300}          # photos of the hand whose uncertain digits get labelled (MNIST train digits)
TEST_PHOTOS=${TEST_PHOTOS:-300} # held-out photos of the same hand (MNIST test digits)
EPOCHS=${EPOCHS:-4}
LIMIT=${LIMIT:-30000}           # training images per epoch: MNIST train mixed with the oversampled crops
REPEAT=${REPEAT:-30}
BASE=${BASE:-models/digits.keras}
rm -rf "$OUT"
mkdir -p "$OUT"
step() { printf '\n==> %s\n' "$*"; }

step "photos of another hand: $PHOTOS to label, $TEST_PHOTOS held out"
python -m edge_digits.other_hand photos --out "$OUT/field-photos" --count "$PHOTOS" --seed 1 --split train
python -m edge_digits.other_hand photos --out "$OUT/test-photos" --count "$TEST_PHOTOS" --seed 2 --split test

step "1. edge-digits classify $OUT/field-photos --min-confidence 0.9 --save-uncertain $OUT/field"
edge-digits classify "$OUT/field-photos" --min-confidence 0.9 --save-uncertain "$OUT/field" > /dev/null

step "2. (edge-digits label $OUT/field) -- here the photos' truth answers for the person"
python -m edge_digits.other_hand label "$OUT/field" --truth "$OUT/field-photos.truth.json"

step "3. edge-digits train --finetune $BASE --extra-data $OUT/field"
edge-digits train --finetune "$BASE" --extra-data "$OUT/field" --extra-repeat "$REPEAT" --optimizer adam \
    --learning-rate 0.0003 --schedule cosine --epochs "$EPOCHS" --limit "$LIMIT" --validation-split 0 --seed 1 \
    --out "$OUT/finetuned" | grep -vE '^(Epoch |[0-9]+/[0-9]+ )'

step "4. edge-digits convert --model $OUT/finetuned/model.keras --int8"
edge-digits convert --model "$OUT/finetuned/model.keras" --int8 --calibration-samples 1000

step "5. edge-digits classify the held-out photos with the shipped and the fine-tuned int8 model"
edge-digits classify "$OUT/test-photos" --json > "$OUT/before.jsonl"
edge-digits classify "$OUT/test-photos" --json --model "$OUT/finetuned/model_int8.tflite" > "$OUT/after.jsonl"
python -m edge_digits.other_hand score "$OUT/before.jsonl" "$OUT/after.jsonl" --truth "$OUT/test-photos.truth.json"

# The issue's bar for the loop: the held-out crops read better, MNIST test at most 0.2 points lower.
python - "$OUT/finetuned/history.json" "${CHECK:-1}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["finetune"]["report"]
change = 100 * (r["mnist_after"] - r["mnist_before"])
ok = change >= -0.2 and r["holdout_after"] > r["holdout_before"]
print(f"check: held-out crops {100 * r['holdout_before']:.2f}% -> {100 * r['holdout_after']:.2f}%, "
      f"MNIST test {change:+.2f} points (at least -0.20): {'ok' if ok else 'FAILED'}")
sys.exit(0 if ok or sys.argv[2] == "0" else 1)
PY
