#!/usr/bin/env bash
# Trainer benchmark: `explorer train` against PyTorch CPU, side by side in one
# run, same machine, same thread count. See docs/benchmarks.md, section
# "Training (trainer) vs PyTorch".
#
#   bench/trainer/run.sh [FASHION_MNIST_DIR]
#
# FASHION_MNIST_DIR is the folder holding train-images-idx3-ubyte.gz and the
# other idx files of the Debian package dataset-fashion-mnist (find it with
# `dpkg -L dataset-fashion-mnist | grep idx3`); by default it is looked up
# with dpkg. The PyTorch side needs python3-torch (Debian's torch; the
# interpreter is the first python3 on PATH that can import torch, or $PYTHON).
#
# Environment:
#   THREADS   threads for both sides (default 1)
#   EPOCHS    epochs (default 20)
#   SEED      seed for both sides (default 1)
#   CONFIGS   space-separated subset of: supcon ntxent ntxent-aug0.5
#             triplet-semihard triplet-all triplet-hard contrastive
#             (default: all but ntxent-aug0.5 and contrastive)
#   OUT       output folder (default bench/out/trainer, git-ignored)
#   PYTHON    interpreter with torch
#   SIDES     "torch go" (default), or just one of them
#   The ntxent config gives both sides the issue's augmentation exactly:
#   shift up to 2 px + gaussian noise 0.1 (ours: --aug-shift 2 --aug-noise
#   0.1, which replace the --augment preset). ntxent-aug0.5 gives both
#   DefaultAugment(0.5): shift 2, rotate 10, noise 0.1, cutout 6.
#
# Writes OUT/{torch,go}/CONFIG/metrics.json (+ rss.json, log) and prints the
# table from compare.py. Runs are sequential: nothing else should be running.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."

THREADS=${THREADS:-1}
EPOCHS=${EPOCHS:-20}
SEED=${SEED:-1}
CONFIGS=${CONFIGS:-"supcon ntxent triplet-semihard triplet-all triplet-hard"}
OUT=${OUT:-bench/out/trainer}
SIDES=${SIDES:-"torch go"}

DATA=${1:-${FASHION_MNIST_DIR:-}}
if [ -z "$DATA" ] && command -v dpkg >/dev/null 2>&1; then
	f=$(dpkg -L dataset-fashion-mnist 2>/dev/null | grep 'train-images-idx3-ubyte.gz$' | head -n1 || true)
	[ -n "$f" ] && DATA=$(dirname "$f")
fi
if [ -z "$DATA" ] || [ ! -f "$DATA/train-images-idx3-ubyte.gz" ]; then
	echo "run.sh: Fashion-MNIST idx files not found; install dataset-fashion-mnist or pass the folder" >&2
	echo "        (see: dpkg -L dataset-fashion-mnist)" >&2
	exit 2
fi

if [ -z "${PYTHON:-}" ]; then
	for cand in $(type -ap python3); do
		if "$cand" -c 'import torch' >/dev/null 2>&1; then PYTHON=$cand; break; fi
	done
fi
if [ -z "${PYTHON:-}" ]; then
	echo "run.sh: no python3 with torch on PATH; install python3-torch or set PYTHON" >&2
	exit 2
fi

NPROC=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # nproc honours those
export OMP_WAIT_POLICY=PASSIVE
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

# Per config: PyTorch flags | explorer train flags (beyond the common ones).
torch_args() {
	case $1 in
	supcon) echo "--loss supcon --pairs labels --temperature 0.1" ;;
	ntxent) echo "--loss ntxent --pairs augment --temperature 0.5 --shift 2 --noise 0.1" ;;
	ntxent-aug0.5) echo "--loss ntxent --pairs augment --temperature 0.5 --shift 2 --rotate 10 --noise 0.1 --cutout 6" ;;
	triplet-semihard) echo "--loss triplet --pairs labels --mining semihard --margin 0.2" ;;
	triplet-all) echo "--loss triplet --pairs labels --mining all --margin 0.2" ;;
	triplet-hard) echo "--loss triplet --pairs labels --mining hard --margin 0.2" ;;
	contrastive) echo "--loss contrastive --pairs labels --margin 1.0" ;;
	*) echo "run.sh: unknown config $1" >&2; return 1 ;;
	esac
}
go_args() {
	case $1 in
	supcon) echo "--loss supcon --pairs labels --temperature 0.1" ;;
	ntxent) echo "--loss ntxent --pairs augment --temperature 0.5 --aug-shift 2 --aug-noise 0.1" ;;
	ntxent-aug0.5) echo "--loss ntxent --pairs augment --temperature 0.5 --augment 0.5" ;;
	triplet-semihard) echo "--loss triplet --pairs labels --mining semihard --margin 0.2" ;;
	triplet-all) echo "--loss triplet --pairs labels --mining all --margin 0.2" ;;
	triplet-hard) echo "--loss triplet --pairs labels --mining hard --margin 0.2" ;;
	contrastive) echo "--loss contrastive --pairs labels --margin 1.0" ;;
	*) echo "run.sh: unknown config $1" >&2; return 1 ;;
	esac
}

# The Go side runs as a built binary, so that neither compile time nor the
# compiler's memory is measured; it is skipped while `train` is a stub.
GO_BIN=""
if [[ " $SIDES " == *" go "* ]] && command -v go >/dev/null 2>&1; then
	mkdir -p "$OUT"
	help=""
	if go build -o "$OUT/explorer" ./cmd/explorer 2>"$OUT/go-build.log"; then
		help=$("$OUT/explorer" train -h 2>&1 || true)
	fi
	if grep -q -- '-loss' <<<"$help"; then
		GO_BIN=$OUT/explorer
	else
		echo "run.sh: \`explorer train\` not available yet; Go side skipped (Go side: pending)" >&2
	fi
fi

echo "threads=$THREADS epochs=$EPOCHS seed=$SEED data=$DATA python=$PYTHON ($("$PYTHON" -c 'import torch; print("torch", torch.__version__)'))"
echo "machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), nproc $NPROC"

for cfg in $CONFIGS; do
	targs=$(torch_args "$cfg")
	gargs=$(go_args "$cfg")
	if [[ " $SIDES " == *" torch "* ]]; then
		d=$OUT/torch/$cfg
		mkdir -p "$d"
		echo "== PyTorch $cfg (load average $(cut -d' ' -f1-3 /proc/loadavg))"
		# shellcheck disable=SC2086
		"$PYTHON" "$here/peak_rss.py" "$d/rss.json" -- \
			"$PYTHON" "$here/torch_train.py" --data "$DATA" $targs \
			--epochs "$EPOCHS" --batch 256 --lr 1e-3 --dim 32 --hidden 256,128 \
			--seed "$SEED" --threads "$THREADS" --out "$d" >"$d/log" 2>&1 || { echo "PyTorch $cfg failed, see $d/log" >&2; }
		tail -n 2 "$d/log"
	fi
	if [ -n "$GO_BIN" ]; then
		d=$OUT/go/$cfg
		mkdir -p "$d"
		echo "== ours $cfg (load average $(cut -d' ' -f1-3 /proc/loadavg))"
		# shellcheck disable=SC2086
		"$PYTHON" "$here/peak_rss.py" "$d/rss.json" -- \
			"$GO_BIN" train --dataset fashion $gargs \
			--epochs "$EPOCHS" --batch 256 --lr 1e-3 --dim 32 --hidden 256,128 \
			--seed "$SEED" --threads "$THREADS" --out "$d" >"$d/log" 2>&1 || { echo "ours $cfg failed, see $d/log" >&2; }
		tail -n 2 "$d/log"
	fi
done

echo
# shellcheck disable=SC2086
"$PYTHON" "$here/compare.py" "$OUT" $CONFIGS
