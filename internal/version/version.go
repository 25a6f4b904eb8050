// Package version holds herd's version, the one place it is written: the
// binary reports it (herd --version, the header, the reports) and
// scripts/wheels.sh names the wheels with it (cmd/herd-wheel imports this
// package). To release a new version, change Version here and nothing else.
package version

import "regexp"

// Version is herd's version. It must be a canonical PEP 440 version
// (Canonical says so), since the wheels carry it as is.
const Version = "0.1.0"

// pep440 is PEP 440's canonical public version: N(.N)*[{a|b|rc}N][.postN][.devN].
var pep440 = regexp.MustCompile(`^([1-9][0-9]*!)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*((a|b|rc)(0|[1-9][0-9]*))?(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?$`)

// Canonical says whether v is a canonical PEP 440 public version.
func Canonical(v string) bool {
	return pep440.MatchString(v)
}
