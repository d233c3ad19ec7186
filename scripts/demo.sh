#!/usr/bin/env bash
# The whole pipeline on the embedded MNIST, as a user would type it. Outputs go to runs/demo.
set -euo pipefail
OUT=${DEMO_OUT:-runs/demo}
EPOCHS=${DEMO_EPOCHS:-3}
rm -rf "$OUT"
mkdir -p "$OUT"
step() { printf '\n==> %s\n' "$*"; }

step "edge-digits data export --format kaggle --out $OUT/data"
edge-digits data export --format kaggle --out "$OUT/data"

step "edge-digits train --train-csv $OUT/data/train.csv --epochs $EPOCHS --out $OUT/train"
edge-digits train --train-csv "$OUT/data/train.csv" --epochs "$EPOCHS" --out "$OUT/train" | tail -n 20

step "edge-digits predict (Kaggle submission + the first 3 test digits)"
edge-digits predict --model "$OUT/train/model.keras" --csv "$OUT/data/test.csv" \
    --out "$OUT/submission.csv" --plot "$OUT/predictions.png" --n 3

step "edge-digits evaluate --model $OUT/train/model.keras (10,000 MNIST test images)"
edge-digits evaluate --model "$OUT/train/model.keras" --errors "$OUT/errors.png" --top 5 | tee "$OUT/evaluate.txt"

printf '\n==> summary\n'
printf '  %-22s %s\n' \
    "Kaggle CSVs" "$OUT/data/{train,test,test_labels}.csv" \
    "model" "$OUT/train/model.keras" \
    "history" "$OUT/train/history.json, $OUT/train/history.png" \
    "confusion matrix" "$OUT/train/confusion.png" \
    "submission" "$OUT/submission.csv" \
    "predictions plot" "$OUT/predictions.png" \
    "errors plot" "$OUT/errors.png" \
    "Keras test accuracy" "$(head -n1 "$OUT/evaluate.txt" | cut -d' ' -f2)"
