#!/usr/bin/env bash
# Runs our UMAP, umap-learn and uwot side by side on the same inputs (the
# 1,797 digits, 64 dimensions; Fashion-MNIST's first 10,000 training images
# reduced to 50 dimensions by PCA), interleaved (ours, umap-learn, uwot,
# then again), n_neighbors 15 and min_dist 0.1 everywhere. Every layout is
# scored by one evaluator (bench/tsne/score: trustworthiness at k=10 and
# leave-one-out 5-NN accuracy of the 2D layout; its KL column means nothing
# for UMAP and is left out), and a table prints the median times with the
# 1-minute load average sampled while each program ran.
#
# Usage: bench/umap/run.sh OUTDIR [DATASET...]
#   DATASET is digits and/or fmnist10k (default: both).
# Environment (all optional):
#   DIGITS_CSV    scikit-learn's digits.csv.gz (default: found with dpkg -L python3-sklearn)
#   FMNIST_DIR    directory of Fashion-MNIST's train-*-idx*-ubyte.gz (default: dpkg -L dataset-fashion-mnist)
#   PYTHON        a python3 that imports umap (Debian's umap-learn; default: python3,
#                 else Debian's own)
#   RSCRIPT       Rscript with uwot (Debian's r-cran-uwot; default: Rscript)
#   UWOT_THREADS  uwot's n_threads and n_sgd_threads (default: 2)
#   REPEAT        rounds, at least 3 (default: 3); the table scores the first round's layouts
#   EXPLORER      a built explorer binary (default: go build ./cmd/explorer)
set -euo pipefail
out=${1:?usage: bench/umap/run.sh OUTDIR [DATASET...]}
shift
datasets=${*:-digits fmnist10k}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [[ -z ${PYTHON:-} ]]; then
	# Debian's umap-learn is for Debian's python3, which another python3
	# first in PATH may hide.
	PYTHON=python3
	"$PYTHON" -c 'import umap' 2>/dev/null || PYTHON=/usr/bin/python3
fi
RSCRIPT=${RSCRIPT:-Rscript}
UWOT_THREADS=${UWOT_THREADS:-2}
REPEAT=${REPEAT:-3}
if ((REPEAT < 3)); then
	echo "REPEAT=$REPEAT: at least 3 rounds are needed for a median" >&2
	exit 2
fi
export OMP_WAIT_POLICY=PASSIVE
if [[ -z ${DIGITS_CSV:-} ]]; then
	DIGITS_CSV=$(dpkg -L python3-sklearn | grep '/digits.csv.gz$' | head -n1)
fi
if [[ -z ${FMNIST_DIR:-} ]]; then
	FMNIST_DIR=$(dirname "$(dpkg -L dataset-fashion-mnist | grep '/train-images-idx3-ubyte.gz$' | head -n1)")
fi
"$PYTHON" -c 'import umap' || { echo "umap-learn is missing (apt-get install umap-learn)" >&2; exit 1; }
"$RSCRIPT" -e 'suppressMessages(library(uwot))' || { echo "uwot is missing (apt-get install r-cran-uwot)" >&2; exit 1; }

cd "$root"
if [[ -n ${EXPLORER:-} ]]; then
	cp "$EXPLORER" "$out/explorer"
else
	go build -o "$out/explorer" ./cmd/explorer
fi
go build -o "$out/score" ./bench/tsne/score
go run ./bench/tsne/prep -digits "$DIGITS_CSV" -fmnist "$FMNIST_DIR" -n 10000 -out "$out"

# timed NAME REP CMD...: runs CMD with its output in $out/NAME.REP.log,
# sampling the 1-minute load average every second meanwhile, and appends
# NAME, the wall and CPU (user+system) seconds of the process, the UMAP
# call's own seconds as the program reports them, and the mean load.
timed() {
	local name=$1 rep=$2
	shift 2
	local loadf="$out/$name.$rep.load"
	: >"$loadf"
	(while :; do cut -d' ' -f1 /proc/loadavg >>"$loadf"; sleep 1; done) &
	local sampler=$!
	local t
	t=$( { TIMEFORMAT='%R %U %S'; time "$@" >"$out/$name.$rep.log" 2>&1; } 2>&1)
	kill "$sampler"
	wait "$sampler" 2>/dev/null || true
	local inner load
	inner=$(awk '/^umap_seconds/ {print $2} /^time:/ {sub("s","",$2); print $2}' "$out/$name.$rep.log" | tail -n1)
	load=$(awk '{s+=$1} END {if (NR) printf "%.2f", s/NR}' "$loadf")
	read -r wall user sys <<<"$t"
	printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$inner" "$load" >>"$out/times.tsv"
}

: >"$out/times.tsv"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$REPEAT"); do
	for ds in $datasets; do
		in="$out/$ds.tsv"
		layout() { if [[ $rep == 1 ]]; then echo "$out/$ds-$1.tsv"; else echo "$out/$ds-$1.rep.tsv"; fi; }
		timed "$ds-ours" "$rep" "$out/explorer" project --method umap --in "$in" --out "$(layout ours)" \
			--neighbors 15 --min-dist 0.1 --seed 1 --quality-sample 0
		timed "$ds-umap-learn" "$rep" "$PYTHON" "$here/umap_learn.py" "$in" "$(layout umap-learn)"
		timed "$ds-uwot" "$rep" "$RSCRIPT" "$here/uwot.R" "$in" "$(layout uwot)" "$UWOT_THREADS"
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
for ds in $datasets; do
	echo
	echo "## $ds (median of $REPEAT rounds)"
	"$out/score" -in "$out/$ds.tsv" -labels "$out/$ds-labels.tsv" \
		ours="$out/$ds-ours.tsv" umap-learn="$out/$ds-umap-learn.tsv" uwot="$out/$ds-uwot.tsv" >"$out/$ds-scores.tsv"
	printf 'layout\twall (s)\tCPU (s)\tUMAP call (s)\tload\ttrustworthiness (k=10)\t5-NN accuracy\n'
	tail -n +2 "$out/$ds-scores.tsv" | while IFS=$'\t' read -r name _ trust acc; do
		rows=$(grep "^$ds-$name	" "$out/times.tsv")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(cut -f2 <<<"$rows" | median)" "$(cut -f3 <<<"$rows" | median)" \
			"$(cut -f4 <<<"$rows" | median)" "$(cut -f5 <<<"$rows" | median)" "$trust" "$acc"
	done
done
