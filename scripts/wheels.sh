#!/usr/bin/env bash
# Build herd's Python wheels (distribution pytest-herd), one per platform,
# into OUTDIR:
#
#   bash scripts/wheels.sh dist/
#
# manylinux x86_64 and aarch64, musllinux x86_64, macOS x86_64 and arm64:
# herd cross-compiled with CGO off, packed by cmd/herd-wheel with the herd
# Python package (python -m herd). The version is herd's own
# (internal/version/version.go). Offline: the Go modules must be in the
# module cache already (scripts/setup.sh downloads them); nothing is
# fetched, and no Python build backend is used. PLATFORMS=name,... builds
# only some (names: cmd/herd-wheel's Platforms).
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: bash scripts/wheels.sh OUTDIR" >&2
	exit 2
fi
mkdir -p "$1"
out="$(cd "$1" && pwd)"
cd "$(dirname "$0")/.."

if [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
# No network: modules come from the cache, the toolchain is the local one.
export GOPROXY=off GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local
if command -v git >/dev/null 2>&1 && git rev-parse --git-dir >/dev/null 2>&1 &&
	[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	echo "wheels: WARNING: the work tree has uncommitted changes; the wheels hold them" >&2
fi
go run ./cmd/herd-wheel -o "$out" ${PLATFORMS:+-platforms "$PLATFORMS"}
