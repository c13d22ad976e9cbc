#!/usr/bin/env bash
# Runs our t-SNE, Rtsne and scikit-learn's TSNE side by side on the same
# inputs, then scores every layout with one evaluator (exact KL at
# perplexity 30 over all pairs, trustworthiness at k=10, leave-one-out 5-NN
# accuracy of the 2D layout) and prints a table.
#
# Usage: bench/tsne/run.sh OUTDIR [DATASET...]
#   DATASET is digits and/or fmnist10k (default: both).
# Environment (all optional):
#   DIGITS_CSV     scikit-learn's digits.csv.gz (default: found with dpkg -L python3-sklearn)
#   FMNIST_DIR     directory of Fashion-MNIST's train-*-idx*-ubyte.gz (default: dpkg -L dataset-fashion-mnist)
#   PYTHON         a python3 that imports sklearn (default: python3)
#   RSCRIPT        Rscript (default: Rscript)
#   RTSNE_THREADS  Rtsne num_threads values to run, each its own row (default: "1 2";
#                  1 is Rtsne's default)
#   REPEAT         runs of each program, interleaved; the table shows the median
#                  times and scores the first run's layout (default: 3)
#   SKLEARN_JOBS   scikit-learn's n_jobs (default: 2)
#   EXPLORER       a built explorer binary (default: go build ./cmd/explorer)
set -euo pipefail
out=${1:?usage: bench/tsne/run.sh OUTDIR [DATASET...]}
shift
datasets=${*:-digits fmnist10k}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
PYTHON=${PYTHON:-python3}
RSCRIPT=${RSCRIPT:-Rscript}
RTSNE_THREADS=${RTSNE_THREADS:-1 2}
REPEAT=${REPEAT:-3}
SKLEARN_JOBS=${SKLEARN_JOBS:-2}
export OMP_WAIT_POLICY=PASSIVE
if [[ -z ${DIGITS_CSV:-} ]]; then
	DIGITS_CSV=$(dpkg -L python3-sklearn | grep '/digits.csv.gz$' | head -n1)
fi
if [[ -z ${FMNIST_DIR:-} ]]; then
	FMNIST_DIR=$(dirname "$(dpkg -L dataset-fashion-mnist | grep '/train-images-idx3-ubyte.gz$' | head -n1)")
fi

cd "$root"
if [[ -n ${EXPLORER:-} ]]; then
	cp "$EXPLORER" "$out/explorer"
else
	go build -o "$out/explorer" ./cmd/explorer
fi
go build -o "$out/score" ./bench/tsne/score
go run ./bench/tsne/prep -digits "$DIGITS_CSV" -fmnist "$FMNIST_DIR" -n 10000 -out "$out"

# timed NAME REP CMD...: runs CMD with its output in $out/NAME.REP.log and
# appends NAME, the wall and CPU (user+system, all threads) seconds of the
# process, and the t-SNE call's own seconds as the program reports them.
timed() {
	local name=$1 rep=$2
	shift 2
	local t
	t=$( { TIMEFORMAT='%R %U %S'; time "$@" >"$out/$name.$rep.log" 2>&1; } 2>&1)
	local inner
	inner=$(awk '/^tsne_seconds/ {print $2} /^time:/ {sub("s","",$2); print $2}' "$out/$name.$rep.log" | tail -n1)
	read -r wall user sys <<<"$t"
	printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$inner" >>"$out/times.tsv"
}

: >"$out/times.tsv"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$REPEAT"); do
	for ds in $datasets; do
		in="$out/$ds.tsv"
		layout() { if [[ $rep == 1 ]]; then echo "$out/$ds-$1.tsv"; else echo "$out/$ds-$1.rep.tsv"; fi; }
		timed "$ds-ours" "$rep" "$out/explorer" project --method tsne --in "$in" --out "$(layout ours)" \
			--perplexity 30 --iterations 1000 --theta 0.5 --seed 1 --quality-sample 0
		for th in $RTSNE_THREADS; do
			timed "$ds-rtsne-${th}t" "$rep" "$RSCRIPT" "$here/rtsne.R" "$in" "$(layout "rtsne-${th}t")" "$th"
		done
		timed "$ds-sklearn" "$rep" "$PYTHON" "$here/sklearn_tsne.py" "$in" "$(layout sklearn)" "$SKLEARN_JOBS"
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
for ds in $datasets; do
	echo
	echo "## $ds (median of $REPEAT runs)"
	args=(ours="$out/$ds-ours.tsv")
	for th in $RTSNE_THREADS; do args+=("rtsne-${th}t=$out/$ds-rtsne-${th}t.tsv"); done
	args+=(sklearn="$out/$ds-sklearn.tsv")
	"$out/score" -in "$out/$ds.tsv" -labels "$out/$ds-labels.tsv" -perplexity 30 "${args[@]}" >"$out/$ds-scores.tsv"
	printf 'layout\twall (s)\tCPU (s)\tt-SNE call (s)\tKL (exact)\ttrustworthiness (k=10)\t5-NN accuracy\n'
	tail -n +2 "$out/$ds-scores.tsv" | while IFS=$'\t' read -r name kl trust acc; do
		rows=$(grep "^$ds-$name	" "$out/times.tsv")
		wall=$(cut -f2 <<<"$rows" | median)
		cpu=$(cut -f3 <<<"$rows" | median)
		inner=$(cut -f4 <<<"$rows" | median)
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$wall" "$cpu" "$inner" "$kl" "$trust" "$acc"
	done
done
