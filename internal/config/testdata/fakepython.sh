#!/bin/sh
# A stand-in for a Python interpreter in config tests. Tests symlink it as
# .../bin/python and say how it behaves in files next to the link:
# <name>.stdout is printed, or <name>.stderr is printed to stderr and the
# script fails. The script itself is never written while tests run, so exec
# cannot fail with "text file busy". Only shell builtins are used: tests run
# it with PATH pointing at a directory of fakes.
self="$0"
[ "$1" = -c ] || { echo "unexpected arguments: $*" >&2; exit 9; }
show() {
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s\n' "$line"
	done <"$1"
}
if [ -f "$self.stderr" ]; then
	show "$self.stderr" >&2
	exit 1
fi
show "$self.stdout"
