#!/bin/sh
# Self-supervised defaults, 3 seeds each (docs/benchmarks.md,
# "Self-supervised defaults"): explorer train --dataset D --pairs P --seed S
# with every other setting the defaults, printing dataset, pairs, seed,
# held-out kNN of the untrained encoder, after the last epoch, of the raw
# inputs, and the epochs. Run from the repository root.
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/explorer" ./cmd/explorer
printf 'dataset\tpairs\tseed\tuntrained\tfinal\traw\tepochs\n'
for dp in "digits augment" "fashion augment" "wordnet augment" "wordnet headword"; do
  set -- $dp
  for seed in 1 2 3; do
    out="$tmp/$1-$2-$seed"
    "$tmp/explorer" train --dataset "$1" --pairs "$2" --seed "$seed" --out "$out" >/dev/null 2>&1
    python3 - "$out" "$1" "$2" "$seed" <<'PY'
import json, sys
m = json.load(open(sys.argv[1] + "/metrics.json"))
f, z = m["epochs"][-1], m["initial"]
print("\t".join([sys.argv[2], sys.argv[3], sys.argv[4], "%.4f" % z["knn_accuracy"], "%.4f" % f["knn_accuracy"],
                 "%.4f" % f["raw_knn_accuracy"], str(m["config"]["epochs"])]))
PY
  done
done
