#!/usr/bin/env bash
# Set up (scripts/setup.sh), then vet and test everything, the end-to-end
# tests in e2e/ included. HERD_PYTHON names the Python with pytest that the
# e2e tests use (default /usr/bin/python3). Extra arguments go to go test,
# e.g. scripts/test.sh -run TestBigSuite -v
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
if [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
export HERD_PYTHON="${HERD_PYTHON:-/usr/bin/python3}"

go vet ./...
# macOS gets the portable build (no subreaper, no Pdeathsig, no /proc
# scans): it must build and vet for both Mac architectures, and its
# fallback is tested here on Linux through the herd_portable build tag.
for arch in arm64 amd64; do
	GOOS=darwin GOARCH=$arch go build ./...
	GOOS=darwin GOARCH=$arch go vet ./...
done
go vet -tags herd_portable ./internal/reaper ./internal/worker
go test -count=1 -tags herd_portable ./internal/reaper ./internal/worker
# -count=1: the e2e tests build herd themselves, so go test's cache cannot
# see when herd's code changes. -timeout is per package (test binary).
go test -count=1 -timeout 20m "$@" ./...
