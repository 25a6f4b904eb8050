// Package e2e holds herd's end-to-end tests: they build herd, run it on the
// example suites under testdata/suites and check that every test ends as it
// does under plain pytest, with the same exit code.
//
// The tests need a Python with pytest, pytest-xdist and pytest-timeout, named
// by $HERD_PYTHON (default /usr/bin/python3); without one, every test is
// skipped with the reason. Run them with
//
//	HERD_PYTHON=/usr/bin/python3 go test ./e2e/
//
// or with scripts/test.sh, which installs what they need first. The tests
// build ./cmd/herd once; set HERD_E2E_BIN to test a herd binary built
// elsewhere instead.
package e2e
