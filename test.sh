#!/usr/bin/env bash
# The project's test command: every package's tests.
# Extra arguments go to `go test` (e.g. ./test.sh -race, ./test.sh -run TestX).
set -euo pipefail
cd "$(dirname "$0")"
go test -count=1 -timeout 20m "$@" ./...
