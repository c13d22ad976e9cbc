#!/usr/bin/env bash
# Trainer benchmark: `explorer train` against PyTorch CPU, side by side in one
# run, same machine, same thread count. See docs/benchmarks.md, section
# "Training (trainer) vs PyTorch".
#
#   bench/trainer/run.sh [FASHION_MNIST_DIR]
#
# Needs python3-torch and libopenblas0-pthread (Debian's torch uses the
# system BLAS; the script refuses the reference BLAS) and
# dataset-fashion-mnist.
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
# Interleaved: ROUNDS rounds (default 3, at least 3), each running every
# config on PyTorch then on ours (A B A B ...), so both sides see the same
# moments of the machine. While a side runs, the 1-minute load average is
# sampled every second; compare.py reports medians over the rounds of the
# per-epoch wall and CPU times, the mean load during each side, and a ratio
# only when the two sides' loads differ by at most 0.5.
#
# Writes OUT/roundR/{torch,go}/CONFIG/{metrics.json,rss.json,load,log} and
# prints the table from compare.py. A Go build that fails stops the script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."

THREADS=${THREADS:-1}
EPOCHS=${EPOCHS:-20}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-3}
CONFIGS=${CONFIGS:-"supcon ntxent triplet-semihard triplet-all triplet-hard"}
OUT=${OUT:-bench/out/trainer}
if [ "$ROUNDS" -lt 3 ]; then
	echo "run.sh: ROUNDS=$ROUNDS: at least 3 rounds are needed for a median that means something" >&2
	exit 2
fi

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

# Debian's torch multiplies matrices through the system BLAS: the reference
# (netlib) one makes it about 12x slower, which would flatter us.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case $blas in
*/blas/libblas.so.3*)
	echo "run.sh: the system BLAS is the reference one ($blas): PyTorch would be measured about 12x slower" >&2
	echo "        than it is; install libopenblas0-pthread (or set ALLOW_REFERENCE_BLAS=1)" >&2
	[ -n "${ALLOW_REFERENCE_BLAS:-}" ] || exit 2
	;;
esac

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
# compiler's memory is measured. No binary, no benchmark.
mkdir -p "$OUT"
if ! go build -o "$OUT/explorer" ./cmd/explorer 2>"$OUT/go-build.log"; then
	echo "run.sh: the Go build failed:" >&2
	cat "$OUT/go-build.log" >&2
	exit 1
fi
GO_BIN=$OUT/explorer

# sampled CMD...: runs CMD while writing the 1-minute load average to
# $LOADFILE every second; returns CMD's status.
sampled() {
	(while :; do cut -d' ' -f1 /proc/loadavg; sleep 1; done) >"$LOADFILE" &
	local sampler=$! rc=0
	"$@" || rc=$?
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	return $rc
}

echo "threads=$THREADS epochs=$EPOCHS seed=$SEED rounds=$ROUNDS data=$DATA python=$PYTHON ($("$PYTHON" -c 'import torch; print("torch", torch.__version__)'))"
echo "BLAS: ${blas:-unknown}"
echo "machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), nproc $NPROC"

status=0
for r in $(seq 1 "$ROUNDS"); do
	for cfg in $CONFIGS; do
		targs=$(torch_args "$cfg")
		gargs=$(go_args "$cfg")
		d=$OUT/round$r/torch/$cfg
		mkdir -p "$d"
		echo "== round $r PyTorch $cfg (load average $(cut -d' ' -f1-3 /proc/loadavg))"
		LOADFILE=$d/load
		# shellcheck disable=SC2086
		sampled "$PYTHON" "$here/peak_rss.py" "$d/rss.json" -- \
			"$PYTHON" "$here/torch_train.py" --data "$DATA" $targs \
			--epochs "$EPOCHS" --batch 256 --lr 1e-3 --dim 32 --hidden 256,128 \
			--seed "$SEED" --threads "$THREADS" --out "$d" >"$d/log" 2>&1 || { echo "PyTorch $cfg failed, see $d/log" >&2; status=1; }
		tail -n 1 "$d/log"

		d=$OUT/round$r/go/$cfg
		mkdir -p "$d"
		echo "== round $r ours $cfg (load average $(cut -d' ' -f1-3 /proc/loadavg))"
		LOADFILE=$d/load
		# shellcheck disable=SC2086
		sampled "$PYTHON" "$here/peak_rss.py" "$d/rss.json" -- \
			"$GO_BIN" train --dataset fashion $gargs \
			--epochs "$EPOCHS" --batch 256 --lr 1e-3 --dim 32 --hidden 256,128 \
			--seed "$SEED" --threads "$THREADS" --out "$d" >"$d/log" 2>&1 || { echo "ours $cfg failed, see $d/log" >&2; status=1; }
		tail -n 1 "$d/log"
	done
done

echo
# shellcheck disable=SC2086
THREADS=$THREADS "$PYTHON" "$here/compare.py" "$OUT" $CONFIGS
exit $status
