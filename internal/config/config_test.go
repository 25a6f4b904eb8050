package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/config"
)

func TestParse(t *testing.T) {
	t.Parallel()
	type want struct {
		workers     int
		maxFail     int
		maxFailFlag string
		timeout     time.Duration
		args        []string
		verbosity   int
		passthrough bool
		junit       string
		reportJSON  string
		durations   int
		python      string
		help        bool
		version     int
		note        string // substring of one of the notes
	}
	type testCase struct {
		name    string
		argv    []string
		env     map[string]string
		want    want
		wantErr string // substring of the usage error; "" means success
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		getenv := func(k string) string { return tc.env[k] }
		c, err := config.Parse(tc.argv, getenv)
		if tc.wantErr != "" {
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want a usage error", tc.argv, c)
			}
			if !errors.Is(err, config.ErrUsage) {
				t.Errorf("errors.Is(%v, ErrUsage) = false", err)
			}
			var ue *config.UsageError
			if !errors.As(err, &ue) {
				t.Errorf("error %T is not a *UsageError", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.argv, err)
		}
		w := tc.want
		if w.durations == 0 {
			w.durations = -1 // the zero want means "not given"
		}
		if c.Workers != w.workers {
			t.Errorf("Workers = %d, want %d", c.Workers, w.workers)
		}
		if c.MaxFail != w.maxFail {
			t.Errorf("MaxFail = %d, want %d", c.MaxFail, w.maxFail)
		}
		if w.maxFail > 0 && c.MaxFailFlag != w.maxFailFlag {
			t.Errorf("MaxFailFlag = %q, want %q", c.MaxFailFlag, w.maxFailFlag)
		}
		if c.Timeout != w.timeout {
			t.Errorf("Timeout = %v, want %v", c.Timeout, w.timeout)
		}
		if len(c.PytestArgs) != 0 || len(w.args) != 0 {
			if !reflect.DeepEqual(c.PytestArgs, w.args) {
				t.Errorf("PytestArgs = %q, want %q", c.PytestArgs, w.args)
			}
		}
		if c.Verbosity != w.verbosity {
			t.Errorf("Verbosity = %d, want %d", c.Verbosity, w.verbosity)
		}
		if c.Passthrough != w.passthrough {
			t.Errorf("Passthrough = %v, want %v", c.Passthrough, w.passthrough)
		}
		if c.JUnitXML != w.junit {
			t.Errorf("JUnitXML = %q, want %q", c.JUnitXML, w.junit)
		}
		if c.ReportJSON != w.reportJSON {
			t.Errorf("ReportJSON = %q, want %q", c.ReportJSON, w.reportJSON)
		}
		if c.Durations != w.durations {
			t.Errorf("Durations = %d, want %d", c.Durations, w.durations)
		}
		if c.Python != w.python {
			t.Errorf("Python = %q, want %q", c.Python, w.python)
		}
		if c.Help != w.help || c.Version != w.version {
			t.Errorf("Help, Version = %v, %v; want %v, %v", c.Help, c.Version, w.help, w.version)
		}
		if w.note == "" && len(c.Notes) > 0 {
			t.Errorf("Notes = %q, want none", c.Notes)
		}
		if w.note != "" && !strings.Contains(strings.Join(c.Notes, "\n"), w.note) {
			t.Errorf("Notes = %q, want one mentioning %q", c.Notes, w.note)
		}
	}
	for _, tc := range []testCase{
		{name: "nothing", argv: nil, want: want{}},
		{name: "-n 4", argv: []string{"-n", "4"}, want: want{workers: 4}},
		{name: "-n4", argv: []string{"-n4"}, want: want{workers: 4}},
		{name: "-n=4", argv: []string{"-n=4"}, want: want{workers: 4}},
		{name: "-nauto", argv: []string{"-nauto"}, want: want{workers: 0}},
		{name: "-n auto after -n 3", argv: []string{"-n", "3", "-n", "auto"}, want: want{workers: 0}},
		{name: "-n 0 means one worker", argv: []string{"-n", "0"}, want: want{workers: 1}},
		{name: "--numprocesses=3", argv: []string{"--numprocesses=3"}, want: want{workers: 3}},
		{name: "--numprocesses 5", argv: []string{"--numprocesses", "5"}, want: want{workers: 5}},
		{name: "-xvs", argv: []string{"-xvs"}, want: want{maxFail: 1, maxFailFlag: "-x", verbosity: 1, args: []string{"-vs"}}},
		{name: "-x alone", argv: []string{"-x"}, want: want{maxFail: 1, maxFailFlag: "-x"}},
		{name: "-xn2 in one cluster", argv: []string{"-xn2"}, want: want{maxFail: 1, maxFailFlag: "-x", workers: 2}},
		{name: "-vn 3 takes the next argument", argv: []string{"-vn", "3", "t.py"}, want: want{workers: 3, verbosity: 1, args: []string{"-v", "t.py"}}},
		{name: "-vv -q", argv: []string{"-vv", "-q"}, want: want{verbosity: 1, args: []string{"-vv", "-q"}}},
		{name: "--verbose --quiet --quiet", argv: []string{"--verbose", "--quiet", "--quiet"}, want: want{verbosity: -1, args: []string{"--verbose", "--quiet", "--quiet"}}},
		{name: "-rfE", argv: []string{"-rfE"}, want: want{args: []string{"-rfE"}}},
		{name: "-rn: n is -r's value", argv: []string{"-rn"}, want: want{args: []string{"-rn"}}},
		{name: "-vrxs: x is -r's value", argv: []string{"-vrxs"}, want: want{verbosity: 1, args: []string{"-vrxs"}}},
		{name: "-k with spaces", argv: []string{"-k", "a and b"}, want: want{args: []string{"-k", "a and b"}}},
		{name: "-k value looks like an option", argv: []string{"-k", "-x"}, want: want{args: []string{"-k", "-x"}}},
		{name: "-kfoo", argv: []string{"-kfoo"}, want: want{args: []string{"-kfoo"}}},
		{name: "-vk foo", argv: []string{"-vk", "foo"}, want: want{verbosity: 1, args: []string{"-vk", "foo"}}},
		{name: "-m slow", argv: []string{"-m", "slow"}, want: want{args: []string{"-m", "slow"}}},
		{name: "-m n: n is the value", argv: []string{"-m", "not slow"}, want: want{args: []string{"-m", "not slow"}}},
		{name: "-p no:cacheprovider", argv: []string{"-p", "no:cacheprovider"}, want: want{args: []string{"-p", "no:cacheprovider"}}},
		{name: "-o addopts=", argv: []string{"-o", "addopts="}, want: want{args: []string{"-o", "addopts="}}},
		{name: "-W error", argv: []string{"-W", "error::DeprecationWarning"}, want: want{args: []string{"-W", "error::DeprecationWarning"}}},
		{name: "-c file", argv: []string{"-c", "ci.ini"}, want: want{args: []string{"-c", "ci.ini"}}},
		{name: "--tb=short", argv: []string{"--tb=short"}, want: want{args: []string{"--tb=short"}}},
		{name: "--tb short", argv: []string{"--tb", "short"}, want: want{args: []string{"--tb", "short"}}},
		{name: "--maxfail=3", argv: []string{"--maxfail=3"}, want: want{maxFail: 3, maxFailFlag: "--maxfail=3"}},
		{name: "--maxfail 2", argv: []string{"--maxfail", "2"}, want: want{maxFail: 2, maxFailFlag: "--maxfail=2"}},
		{name: "-x then --maxfail=3: last wins", argv: []string{"-x", "--maxfail=3"}, want: want{maxFail: 3, maxFailFlag: "--maxfail=3"}},
		{name: "--exitfirst", argv: []string{"--exitfirst"}, want: want{maxFail: 1, maxFailFlag: "--exitfirst"}},
		{name: "--timeout 2.5", argv: []string{"--timeout", "2.5"}, want: want{timeout: 2500 * time.Millisecond}},
		{name: "--timeout=0", argv: []string{"--timeout=0"}, want: want{timeout: 0}},
		{name: "--junitxml out.xml", argv: []string{"--junitxml", "out.xml"}, want: want{junit: "out.xml"}},
		{name: "--junit-xml=x", argv: []string{"--junit-xml=x"}, want: want{junit: "x"}},
		{name: "--report-json r.json", argv: []string{"--report-json", "r.json"}, want: want{reportJSON: "r.json"}},
		{name: "--durations 5", argv: []string{"--durations", "5"}, want: want{durations: 5}},
		{name: "--python", argv: []string{"--python", "/opt/py/bin/python"}, want: want{python: "/opt/py/bin/python"}},
		{name: "HERD_PYTHON", argv: nil, env: map[string]string{"HERD_PYTHON": "/env/python"}, want: want{python: "/env/python"}},
		{name: "--python beats HERD_PYTHON", argv: []string{"--python=/cli/python"}, env: map[string]string{"HERD_PYTHON": "/env/python"}, want: want{python: "/cli/python"}},
		{name: "--help", argv: []string{"--help"}, want: want{help: true}},
		{name: "-h", argv: []string{"-h"}, want: want{help: true}},
		{name: "--version", argv: []string{"--version"}, want: want{version: 1}},
		{name: "-V", argv: []string{"-V"}, want: want{version: 1}},
		{name: "-VV", argv: []string{"-VV"}, want: want{version: 2}},
		{name: "-x1 goes to pytest, which refuses it", argv: []string{"-x1"}, want: want{args: []string{"-x1"}}},
		{name: "-vx1 goes to pytest whole", argv: []string{"-vx1"}, want: want{verbosity: 1, args: []string{"-vx1"}}},
		{name: "-x=1 goes to pytest", argv: []string{"-x=1"}, want: want{args: []string{"-x=1"}}},
		{name: "--dist loadscope", argv: []string{"--dist", "loadscope"}, want: want{note: "--dist loadscope is accepted"}},
		{name: "--dist=load", argv: []string{"--dist=load"}, want: want{note: "--dist load"}},
		{name: "--max-worker-restart 2", argv: []string{"--max-worker-restart", "2"}, want: want{note: "--max-worker-restart is accepted and ignored"}},
		{name: "--co", argv: []string{"--co"}, want: want{passthrough: true, args: []string{"--co"}}},
		{name: "--collect-only -q", argv: []string{"--collect-only", "-q"}, want: want{passthrough: true, verbosity: -1, args: []string{"--collect-only", "-q"}}},
		{name: "--fixtures", argv: []string{"--fixtures"}, want: want{passthrough: true, args: []string{"--fixtures"}}},
		{name: "--pdb", argv: []string{"--pdb"}, want: want{passthrough: true, args: []string{"--pdb"}}},
		{
			name: "-- passes the rest verbatim",
			argv: []string{"-n", "2", "--", "-x", "-n", "5", "--timeout", "1"},
			want: want{workers: 2, args: []string{"--", "-x", "-n", "5", "--timeout", "1"}},
		},
		{
			name: "paths and nodeids keep their order among options",
			argv: []string{"tests/b_test.py", "-n", "2", "tests/a_test.py::TestX::test_y[1-2]", "-v", "tests/dir", "tests/c.py::test[a=b]", "-"},
			want: want{workers: 2, verbosity: 1, args: []string{"tests/b_test.py", "tests/a_test.py::TestX::test_y[1-2]", "-v", "tests/dir", "tests/c.py::test[a=b]", "-"}},
		},
		{
			name: "unknown long options pass through",
			argv: []string{"--lf", "--ff", "--basetemp=/tmp/x", "--deselect", "t.py::a", "-p", "xdist"},
			want: want{args: []string{"--lf", "--ff", "--basetemp=/tmp/x", "--deselect", "t.py::a", "-p", "xdist"}},
		},
		{
			name: "everything together",
			argv: []string{"-xvs", "-n4", "--timeout=3", "-k", "not slow", "--junitxml=j.xml", "--tb=line", "tests/"},
			want: want{workers: 4, maxFail: 1, maxFailFlag: "-x", verbosity: 1, timeout: 3 * time.Second, junit: "j.xml",
				args: []string{"-vs", "-k", "not slow", "--tb=line", "tests/"}},
		},

		{name: "-n abc", argv: []string{"-n", "abc"}, wantErr: `"abc"`},
		{name: "-n -1", argv: []string{"-n", "-1"}, wantErr: "-n expects"},
		{name: "-n at the end", argv: []string{"-n"}, wantErr: "-n expects"},
		{name: "--numprocesses=x", argv: []string{"--numprocesses=x"}, wantErr: `"x"`},
		{name: "--timeout -1", argv: []string{"--timeout", "-1"}, wantErr: "--timeout"},
		{name: "--timeout abc", argv: []string{"--timeout=abc"}, wantErr: `"abc"`},
		{name: "--timeout at the end", argv: []string{"--timeout"}, wantErr: "--timeout expects a value"},
		{name: "--maxfail -2", argv: []string{"--maxfail=-2"}, wantErr: "--maxfail"},
		{name: "--durations x", argv: []string{"--durations", "x"}, wantErr: "--durations"},
		{name: "--dist bogus", argv: []string{"--dist", "bogus"}, wantErr: `"bogus"`},
		{name: "--python=", argv: []string{"--python="}, wantErr: "--python"},
		{name: "--junitxml at the end", argv: []string{"--junitxml"}, wantErr: "--junitxml expects a value"},
		{name: "--max-worker-restart x", argv: []string{"--max-worker-restart", "x"}, wantErr: "--max-worker-restart"},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// Parse must not keep or modify the caller's slice.
func TestParseLeavesArgvAlone(t *testing.T) {
	t.Parallel()
	argv := []string{"-xvs", "-n", "2", "a.py", "--", "-x"}
	orig := append([]string(nil), argv...)
	c, err := config.Parse(argv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(argv, orig) {
		t.Fatalf("argv changed to %q", argv)
	}
	c.PytestArgs[0] = "changed"
	if !reflect.DeepEqual(argv, orig) {
		t.Fatalf("PytestArgs aliases argv: %q", argv)
	}
}

func TestParseShutdownTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env     string
		want    time.Duration
		wantErr string
	}{
		{env: "", want: 0},
		{env: "5", want: 5 * time.Second},
		{env: "0.25", want: 250 * time.Millisecond},
		{env: "0", wantErr: `HERD_SHUTDOWN_TIMEOUT expects seconds (a number > 0 and at most 86400), got "0"`},
		{env: "-3", wantErr: `got "-3"`},
		{env: "abc", wantErr: `got "abc"`},
		{env: "NaN", wantErr: `got "NaN"`},
		{env: "1e300", wantErr: `got "1e300"`},
	} {
		c, err := config.Parse(nil, func(k string) string {
			if k == "HERD_SHUTDOWN_TIMEOUT" {
				return tc.env
			}
			return ""
		})
		switch {
		case tc.wantErr != "":
			if err == nil || !errors.Is(err, config.ErrUsage) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("HERD_SHUTDOWN_TIMEOUT=%q: error %v, want a usage error with %q", tc.env, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("HERD_SHUTDOWN_TIMEOUT=%q: %v", tc.env, err)
		case c.ShutdownTimeout != tc.want:
			t.Errorf("HERD_SHUTDOWN_TIMEOUT=%q: ShutdownTimeout %v, want %v", tc.env, c.ShutdownTimeout, tc.want)
		}
	}
}

// Every option of herd's that takes a value says so when it is last, under
// the name it was given by (aliases included); given its value with "=",
// it takes it whole.
func TestOptionTable(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name  string
		value string // a valid value
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		_, err := config.Parse([]string{tc.name}, nil)
		want := "herd: " + tc.name + " expects a value"
		if err == nil || err.Error() != want || !errors.Is(err, config.ErrUsage) {
			t.Errorf("Parse(%q) error = %v, want usage error %q", tc.name, err, want)
		}
		argv := []string{tc.name + "=" + tc.value}
		if tc.name == "--durations-file" {
			argv = append(argv, "--shard", "1/2")
		}
		if tc.name == "--queue" || tc.name == "--queue-lease" {
			argv = append(argv, "--run-id", "r1")
		}
		if tc.name == "--queue-lease" {
			argv = append(argv, "--queue", "redis://localhost:6379")
		}
		if tc.name == "--run-id" {
			argv = append(argv, "--queue", "redis://localhost:6379")
		}
		c, err := config.Parse(argv, nil)
		if err != nil {
			t.Fatalf("Parse(%q): %v", argv, err)
		}
		if len(c.PytestArgs) != 0 {
			t.Errorf("Parse(%q) passed %q on to pytest", argv, c.PytestArgs)
		}
	}
	for _, tc := range []testCase{
		{"--numprocesses", "3"}, {"--python", "/usr/bin/python3"}, {"--timeout", "1.5"},
		{"--retries", "2"}, {"--reruns", "2"}, {"--seed", "7"}, {"--leaks", "fail"},
		{"--queue", "redis://localhost:6379"}, {"--run-id", "r1"}, {"--queue-lease", "30"},
		{"--shard", "1/2"}, {"--durations-file", "d.json"}, {"--maxfail", "2"},
		{"--junitxml", "j.xml"}, {"--junit-xml", "j.xml"}, {"--report-json", "r.json"},
		{"--report-html", "r.html"}, {"--events", "-"}, {"--durations", "5"},
		{"--durations-min", "0.1"}, {"--dist", "load"}, {"--max-worker-restart", "3"},
		{"--maxprocesses", "3"},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// CaptureOff finds -s in a cluster, --capture=no and --capture no, but not
// an s in a value (-k sth) or other capture modes.
func TestCaptureOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"-s"}, true},
		{[]string{"-vs"}, true},
		{[]string{"--capture=no"}, true},
		{[]string{"--capture", "no"}, true},
		{[]string{"--capture=sys"}, false},
		{[]string{"-ks"}, false},
		{[]string{"-v"}, false},
		{nil, false},
	} {
		c := &config.Config{PytestArgs: tc.args}
		if got := c.CaptureOff(); got != tc.want {
			t.Errorf("CaptureOff(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
