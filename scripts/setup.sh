#!/usr/bin/env bash
# Set up a fresh Debian machine to build and test herd. Idempotent: installs
# only what is missing. Runs as root, or through sudo otherwise.
#
#   - Debian's pytest, pytest-xdist and pytest-timeout for /usr/bin/python3
#     (herd's e2e tests run them; there is no PyPI here)
#   - Debian's pytest-cov, -asyncio, -mock, -django and -rerunfailures, which
#     the xdist compatibility tests run (e2e/compat_test.go)
#   - Debian's chromium, which the HTML report's browser tests run headless
#   - Debian's python3-venv and python3-pip, with which the wheels' test
#     (e2e/wheel_test.go) installs a built wheel into a fresh virtualenv,
#     offline
#   - Debian's redis-server, which the queue mode's tests (internal/queue,
#     e2e/queue_test.go) start on loopback themselves (on CI they fail
#     without it)
#   - checks Go (/usr/local/go/bin or PATH) and downloads the Go modules
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "setup: need root or sudo to run: $*" >&2
		exit 1
	fi
}

# apt_update runs apt-get update once per run of this script, and only when
# something is missing.
apt_updated=
apt_update() {
	if [ -z "$apt_updated" ]; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
		apt_updated=1
	fi
}

# not_installed prints those of its arguments that dpkg has not installed.
not_installed() {
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
			echo "$p"
		fi
	done
}

packages=(python3-pytest python3-pytest-xdist python3-pytest-timeout python3-venv python3-pip redis-server)
mapfile -t missing < <(not_installed "${packages[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "setup: missing ${missing[*]} and no apt-get; install them by hand" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	apt_update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# pytest plugins for the xdist compatibility tests (e2e/compat_test.go).
# Without them those tests are skipped, so a failed install only warns.
plugins=(python3-pytest-cov python3-pytest-asyncio python3-pytest-mock python3-pytest-django python3-pytest-rerunfailures python3-hypothesis)
mapfile -t missing < <(not_installed "${plugins[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
	if command -v apt-get >/dev/null 2>&1; then
		echo "setup: installing ${missing[*]}"
		if ! { apt_update &&
			as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; then
			echo "setup: WARNING: could not install ${missing[*]}; the xdist compatibility tests will be skipped" >&2
		fi
	else
		echo "setup: WARNING: missing ${missing[*]} and no apt-get; the xdist compatibility tests will be skipped" >&2
	fi
fi
# Headless chromium, for the HTML report's browser tests (e2e/html_test.go).
# Without it those tests are skipped, so a failed install only warns.
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
	if command -v apt-get >/dev/null 2>&1; then
		echo "setup: installing chromium"
		if ! { apt_update &&
			as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; then
			echo "setup: WARNING: could not install chromium; the HTML report's browser tests will be skipped" >&2
		fi
	else
		echo "setup: WARNING: no chromium and no apt-get; the HTML report's browser tests will be skipped" >&2
	fi
fi
if ! /usr/bin/python3 -c 'import pytest, xdist, pytest_timeout' 2>/dev/null; then
	echo "setup: /usr/bin/python3 cannot import pytest, xdist and pytest_timeout" >&2
	exit 1
fi

if [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
	echo "setup: Go not found (looked in /usr/local/go/bin and PATH)" >&2
	exit 1
fi
echo "setup: $(go version); $(/usr/bin/python3 -m pytest --version 2>&1)"
go mod download
