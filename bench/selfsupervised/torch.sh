#!/bin/sh
# Distorted views on Fashion-MNIST, ours against the PyTorch reference
# (bench/trainer/torch_train.py) with the same settings, interleaved
# (A B A B ...), 3 seeds, one thread each, the load printed beside each run.
# The reference has no cosine schedule, so both use a constant one here.
# Needs Debian's python3-torch and dataset-fashion-mnist. Run from the
# repository root.
set -e
DATA=${FASHION_MNIST_DIR:-$(dpkg -L dataset-fashion-mnist | grep train-images-idx3 | xargs dirname)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/explorer" ./cmd/explorer
PY=${PYTHON:-/usr/bin/python3}
common="--loss ntxent --pairs augment --temperature 0.1 --batch 512 --dim 64 --epochs 40 --lr 0.001"
printf 'side\tseed\tload\tfinal_knn\traw_knn\n'
for seed in 1 2 3; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$tmp/explorer" train --dataset fashion $common --schedule constant --aug-noise 0.2 --aug-cutout 4 \
    --seed $seed --threads 1 --out "$tmp/ours-$seed" >/dev/null 2>&1
  $PY -c 'import json,sys; m=json.load(open(sys.argv[1])); e=m["epochs"][-1]; print("ours\t%s\t%s\t%.4f\t%.4f" % (sys.argv[2], sys.argv[3], e["knn_accuracy"], m["raw_knn_accuracy"]))' "$tmp/ours-$seed/metrics.json" $seed $load
  load=$(cut -d' ' -f1 /proc/loadavg)
  OMP_WAIT_POLICY=PASSIVE $PY bench/trainer/torch_train.py --data "$DATA" $common --shift 0 --noise 0.2 --cutout 4 --rotate 0 \
    --seed $seed --threads 1 --quiet --out "$tmp/torch-$seed" >/dev/null 2>&1
  $PY -c 'import json,sys; m=json.load(open(sys.argv[1])); e=m["epochs"][-1]; print("torch\t%s\t%s\t%.4f\t%.4f" % (sys.argv[2], sys.argv[3], e["knn_accuracy"], m["raw_knn_accuracy"]))' "$tmp/torch-$seed/metrics.json" $seed $load
done
