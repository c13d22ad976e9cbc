#!/usr/bin/env bash
# RSS under load: builds the explorer, trains 20 Fashion-MNIST runs of 50
# epochs (PCA) on a fresh server, restarts it on the same data folder, then
# views all 20 (each viewer gets the whole history) while 4 new t-SNE runs
# train, sampling the server's VmRSS every 100 ms. Exits non-zero when the
# server's VmHWM reaches 1 GB (10⁹ bytes) or a viewer misses an epoch. See
# docs/benchmarks.md, section "RSS under load". Linux only (/proc). About
# 15 minutes on 2 cores, most of it training the 20 runs.
#
#   bench/rss/run.sh [FLAG...]
#
# FLAGs go to the bench program (bench/rss/main.go), e.g. -finished 4
# -training 1 -epochs 5 for a quick try, -limit-mb, -slots, -load-timeout,
# -reuse DATA to measure again on a kept work folder's data without
# training the 20 runs anew.
# Environment:
#   REV   build the explorer from this commit (git archive) instead of the
#         working tree, e.g. REV=HEAD while files are being edited
#   KEEP  1 keeps the work folder (data, server logs) even when the check
#         passes; it is always kept when the check fails
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."

bin=$(mktemp -d "${TMPDIR:-/tmp}/explorer-rss-bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT

go build -o "$bin/rss" ./bench/rss
if [[ -n ${REV:-} ]]; then
	mkdir "$bin/src"
	git archive "$REV" | tar -x -C "$bin/src"
	(cd "$bin/src" && go build -o "$bin/explorer" ./cmd/explorer)
	echo "explorer built from commit $(git rev-parse --short "$REV"), $(go version | cut -d' ' -f3-)"
else
	go build -o "$bin/explorer" ./cmd/explorer
	echo "explorer built from the working tree at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench/rss' || echo ' with uncommitted changes'), $(go version | cut -d' ' -f3-)"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/explorer-rss.XXXXXX")
echo "nproc $(nproc); $(grep MemTotal /proc/meminfo); uptime:$(uptime)"
status=0
"$bin/rss" -explorer "$bin/explorer" -work "$work" "$@" || status=$?
echo "uptime:$(uptime)"
if [[ $status -ne 0 || -n ${KEEP:-} ]]; then
	echo "work folder kept: $work (data/, server-prepare.log, server-load.log)"
else
	rm -rf "$work"
fi
exit $status
