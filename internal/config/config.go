// Package config turns herd's command line and environment into one validated
// Config. herd owns a few options; every other argument goes to pytest
// unchanged, in its order.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is a validated herd invocation.
type Config struct {
	// Workers is -n; 0 means auto (usable CPUs).
	Workers int
	// Python is --python or HERD_PYTHON; empty means discover.
	Python string
	// Timeout is --timeout; 0 means none from the command line.
	Timeout time.Duration
	// MaxFail is -x (1) or --maxfail N; 0 means no limit.
	MaxFail int
	// MaxFailFlag is how the user spelled the limit ("-x", "--exitfirst",
	// "--maxfail=3"), for the reason given to the tests it kept from
	// running.
	MaxFailFlag string
	// JUnitXML and ReportJSON are report paths; empty means none.
	JUnitXML   string
	ReportJSON string
	// ReportHTML is --report-html: the path of the HTML report; empty
	// means none.
	ReportHTML string
	// Events is --events: where the NDJSON event stream goes, "-" for
	// stdout; empty means none.
	Events string
	// Durations is --durations N: -1 when not given, 0 for all.
	Durations    int
	DurationsMin float64
	// DurationsMinSet says --durations-min was given.
	DurationsMinSet bool
	// Verbosity counts -v minus -q.
	Verbosity int
	// Retries is --retries N: run a failed test up to N more times.
	Retries int
	// FlakyFails is --flaky-fails: flaky tests fail the run.
	FlakyFails bool
	// Seed is --seed N: the seed every worker gives pytest-randomly and
	// hypothesis. Without it (SeedSet false) herd seeds neither.
	Seed    uint32
	SeedSet bool
	// NoDiagnose is --no-diagnose: do not rerun crashed tests alone.
	NoDiagnose bool
	// CollectEach is --collect-each: every worker collects the whole
	// suite, rather than each importing its share of the files.
	CollectEach bool
	// LeaksFail is --leaks fail: a leaked process or thread fails the test.
	LeaksFail bool
	// ShardIndex and ShardCount are --shard K/N: run only the K-th (1-based)
	// of N duration-balanced parts of the selected tests; 0 without it.
	ShardIndex, ShardCount int
	// DurationsFile is --durations-file PATH: the durations file --shard
	// weighs the tests by (written by herd durations merge); empty
	// without it.
	DurationsFile string
	// Queue is --queue URL (or $HERD_QUEUE): the Redis of a work queue
	// shared by several machines; empty without it. RunID is --run-id,
	// which names the run in it; QueueLease is --queue-lease, how long a
	// machine's leases outlive its last heartbeat (0: the default).
	Queue      string
	RunID      string
	QueueLease time.Duration
	// Version counts -V and --version (pytest's -VV says more); Help is
	// --help.
	Version int
	Help    bool
	// PythonFromEnv says Python came from HERD_PYTHON, not --python.
	PythonFromEnv bool
	// Notes are one-line remarks about accepted options that mean nothing to
	// herd (xdist's --dist, for instance).
	Notes []string
	// PytestArgs go to every worker's pytest unchanged.
	PytestArgs []string
	// Passthrough is set when pytest must run alone, undistributed:
	// --collect-only, --fixtures, --markers, --pdb and friends.
	Passthrough bool
	// Affected is --affected: run only the tests a change since
	// AffectedRev (empty: HEAD, plus what is not committed) can break.
	Affected    bool
	AffectedRev string
	// Verify is --verify (with --affected): run every test, and report
	// the tests whose outcome changed although --affected would have
	// left them out.
	Verify bool
	// RecordDeps is --record-deps (RecordOn), --no-record-deps
	// (RecordOff) or $HERD_RECORD_DEPS; RecordAuto without either.
	RecordDeps Record
	// ShutdownTimeout is $HERD_SHUTDOWN_TIMEOUT: how long a worker's
	// session end may take after its last test before herd dumps its
	// stacks and kills it; 0 means the default (run.ShutdownTimeout).
	ShutdownTimeout time.Duration
}

// Record says whether workers record what each test depends on.
type Record int

const (
	// RecordAuto records under --affected (and herd watch) only.
	RecordAuto Record = iota
	// RecordOn records in every run.
	RecordOn
	// RecordOff records nothing (not even under --affected, which then
	// keeps the records it has).
	RecordOff
)

// maxShutdownTimeout bounds $HERD_SHUTDOWN_TIMEOUT: a day is longer than
// any session end worth waiting for, and far from time.Duration's limit.
const maxShutdownTimeout = 24 * time.Hour

// UsageError is a bad command line; main maps it to exit code 4.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usage(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// ErrUsage is matched by errors.Is for any *UsageError.
var ErrUsage = errors.New("usage error")

// Is makes errors.Is(err, ErrUsage) true for usage errors.
func (e *UsageError) Is(target error) bool { return target == ErrUsage }

// pytestValueShort are pytest's single-letter options that take a value; in
// a cluster such as -rfE the rest of the cluster is that value.
const pytestValueShort = "kmpocrW"

// passthroughFlags make pytest do something other than run tests; herd hands
// them to a single plain pytest process.
var passthroughFlags = map[string]bool{
	"--collect-only": true, "--co": true, "--collectonly": true,
	"--fixtures": true, "--funcargs": true, "--fixtures-per-test": true,
	"--markers": true, "--pdb": true, "--trace": true, "--setup-plan": true,
	"--setup-only": true, "--cache-show": true,
}

// Parse parses herd's arguments (without the program name). getenv reads the
// environment (HERD_PYTHON, HERD_SHUTDOWN_TIMEOUT, HERD_QUEUE).
func Parse(args []string, getenv func(string) string) (*Config, error) {
	c := &Config{Durations: -1, DurationsMin: 0.005}
	if err := c.fromEnv(getenv); err != nil {
		return nil, err
	}
	opts := options()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.PytestArgs = append(c.PytestArgs, args[i:]...)
			break
		}
		name := optionName(a)
		if name == "--affected" {
			var err error
			if i, err = c.setAffected(args, i); err != nil {
				return nil, err
			}
			continue
		}
		if opt, ok := opts[name]; ok {
			v := a
			if opt.value {
				var err error
				if v, i, err = optionValue(args, i, name); err != nil {
					return nil, err
				}
			}
			if err := opt.set(c, name, v); err != nil {
				return nil, err
			}
			continue
		}
		if passthroughFlags[name] {
			c.Passthrough = true
			c.PytestArgs = append(c.PytestArgs, a)
			continue
		}
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(a) > 1 {
			skip, err := c.short(a, args, i)
			if err != nil {
				return nil, err
			}
			i += skip
			continue
		}
		c.PytestArgs = append(c.PytestArgs, a)
	}
	if err := c.checkQueue(getenv); err != nil {
		return nil, err
	}
	if c.Affected && c.Queue != "" {
		return nil, usage("herd: --affected does not go with --queue: each machine would choose from its own records")
	}
	if c.Verify && !c.Affected {
		return nil, usage("herd: --verify goes with --affected: it checks what --affected would have left out")
	}
	if c.DurationsFile != "" && c.ShardCount == 0 {
		return nil, usage("herd: --durations-file goes with --shard K/N: it is the file the parts are weighed by")
	}
	return c, nil
}

// fromEnv sets what the environment gives: HERD_PYTHON and
// HERD_SHUTDOWN_TIMEOUT. A nil getenv gives nothing.
func (c *Config) fromEnv(getenv func(string) string) error {
	if getenv == nil {
		return nil
	}
	c.Python = getenv("HERD_PYTHON")
	if v := getenv("HERD_SHUTDOWN_TIMEOUT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || f > maxShutdownTimeout.Seconds() {
			return usage("herd: HERD_SHUTDOWN_TIMEOUT expects seconds (a number > 0 and at most %g), got %q", maxShutdownTimeout.Seconds(), v)
		}
		c.ShutdownTimeout = time.Duration(f * float64(time.Second))
	}
	c.PythonFromEnv = c.Python != ""
	switch v := getenv("HERD_RECORD_DEPS"); v {
	case "":
	case "1", "on", "true", "yes":
		c.RecordDeps = RecordOn
	case "0", "off", "false", "no":
		c.RecordDeps = RecordOff
	default:
		return usage("herd: HERD_RECORD_DEPS expects 1 or 0, got %q", v)
	}
	return nil
}

// setAffected sets --affected from args[i], and its revision from
// "--affected=REV" or from the next argument when that is neither an
// option, nor a node id, a .py file or an existing path; it returns the
// index of the last argument it used.
func (c *Config) setAffected(args []string, i int) (int, error) {
	c.Affected = true
	if _, rev, ok := strings.Cut(args[i], "="); ok {
		if rev == "" {
			return i, usage("herd: --affected= expects a git revision")
		}
		c.AffectedRev = rev
		return i, nil
	}
	if i+1 >= len(args) {
		return i, nil
	}
	next := args[i+1]
	if next == "" || strings.HasPrefix(next, "-") {
		return i, nil
	}
	if strings.Contains(next, "::") || strings.HasSuffix(next, ".py") {
		return i, nil // a node id or a test file
	}
	if _, err := os.Stat(next); err == nil {
		return i, nil
	}
	c.AffectedRev = next
	return i + 1, nil
}

// optionName is the name of option a: a long option without its "=value",
// anything else as written.
func optionName(a string) string {
	if strings.HasPrefix(a, "--") {
		if k := strings.IndexByte(a, '='); k >= 0 {
			return a[:k]
		}
	}
	return a
}

// optionValue returns the value of the option args[i] names, from
// "--opt=value" or the next argument, and the index of the last argument
// it used.
func optionValue(args []string, i int, name string) (string, int, error) {
	a := args[i]
	if k := strings.IndexByte(a, '='); k >= 0 && strings.HasPrefix(a, "--") {
		return a[k+1:], i, nil
	}
	if i+1 >= len(args) {
		return "", i, usage("herd: %s expects a value", name)
	}
	return args[i+1], i + 1, nil
}

// option is one of herd's options in the table options returns. With value
// set it takes a value, which set is given; without, set is given the
// argument as written.
type option struct {
	value bool
	set   func(c *Config, name, v string) error
}

// flag is an option without a value.
func flag(set func(c *Config, name, arg string) error) option {
	return option{set: set}
}

// valued is an option with a value.
func valued(set func(c *Config, name, v string) error) option {
	return option{value: true, set: set}
}

// options is the table of herd's options by name (single-letter ones, but
// -h, are parsed by short). It is built per Parse: no package state.
func options() map[string]option {
	t := map[string]option{
		"--help":         flag(func(c *Config, _, _ string) error { c.Help = true; return nil }),
		"--version":      flag(func(c *Config, _, _ string) error { c.Version++; return nil }),
		"--numprocesses": valued(func(c *Config, _, v string) error { return c.setWorkers(v) }),
		"--python": valued(func(c *Config, _, v string) error {
			if v == "" {
				return usage("herd: --python expects a path")
			}
			c.Python, c.PythonFromEnv = v, false
			return nil
		}),
		"--timeout": valued(func(c *Config, _, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return usage("herd: --timeout expects seconds (a number >= 0), got %q", v)
			}
			c.Timeout = time.Duration(f * float64(time.Second))
			return nil
		}),
		"--retries": valued(func(c *Config, name, v string) error {
			n, err := wholeNumber(name, v)
			if err != nil {
				return err
			}
			c.Retries = n
			return nil
		}),
		"--seed": valued(func(c *Config, _, v string) error {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return usage("herd: --seed expects a whole number from 0 to 4294967295, got %q", v)
			}
			c.Seed, c.SeedSet = uint32(n), true
			return nil
		}),
		"--verify":         flag(func(c *Config, _, _ string) error { c.Verify = true; return nil }),
		"--record-deps":    flag(func(c *Config, _, _ string) error { c.RecordDeps = RecordOn; return nil }),
		"--no-record-deps": flag(func(c *Config, _, _ string) error { c.RecordDeps = RecordOff; return nil }),
		"--flaky-fails":    flag(func(c *Config, _, _ string) error { c.FlakyFails = true; return nil }),
		"--no-diagnose":    flag(func(c *Config, _, _ string) error { c.NoDiagnose = true; return nil }),
		"--collect-each":   flag(func(c *Config, _, _ string) error { c.CollectEach = true; return nil }),
		"--leaks": valued(func(c *Config, _, v string) error {
			if v != "warn" && v != "fail" {
				return usage("herd: --leaks expects warn or fail, got %q", v)
			}
			c.LeaksFail = v == "fail"
			return nil
		}),
		"--queue": valued((*Config).setQueueOption),
		"--shard": valued(func(c *Config, _, v string) error {
			ks, ns, _ := strings.Cut(v, "/")
			k, err1 := strconv.Atoi(ks)
			n, err2 := strconv.Atoi(ns)
			if err1 != nil || err2 != nil || k < 1 || k > n {
				return usage("herd: --shard expects K/N with 1 <= K <= N (such as 2/4), got %q", v)
			}
			c.ShardIndex, c.ShardCount = k, n
			return nil
		}),
		"--durations-file": valued(func(c *Config, name, v string) error {
			return setPath(&c.DurationsFile, v, "herd: --durations-file expects a path")
		}),
		"--exitfirst": flag(func(c *Config, name, _ string) error {
			c.MaxFail, c.MaxFailFlag = 1, name
			return nil
		}),
		"--maxfail": valued(func(c *Config, name, v string) error {
			n, err := wholeNumber(name, v)
			if err != nil {
				return err
			}
			c.MaxFail, c.MaxFailFlag = n, "--maxfail="+strconv.Itoa(n)
			return nil
		}),
		"--junitxml":    valued(func(c *Config, _, v string) error { c.JUnitXML = v; return nil }),
		"--report-json": valued(func(c *Config, _, v string) error { c.ReportJSON = v; return nil }),
		"--report-html": valued(func(c *Config, _, v string) error {
			return setPath(&c.ReportHTML, v, "herd: --report-html expects a path")
		}),
		"--events": valued(func(c *Config, _, v string) error {
			return setPath(&c.Events, v, "herd: --events expects a path, or - for stdout")
		}),
		"--durations": valued(func(c *Config, name, v string) error {
			n, err := wholeNumber(name, v)
			if err != nil {
				return err
			}
			c.Durations = n
			return nil
		}),
		"--durations-min": valued(func(c *Config, _, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return usage("herd: --durations-min expects seconds, got %q", v)
			}
			c.DurationsMin, c.DurationsMinSet = f, true
			return nil
		}),
		"--dist": valued(func(c *Config, _, v string) error {
			switch v {
			case "load", "loadscope", "loadfile", "loadgroup", "worksteal", "no", "each":
				c.Notes = append(c.Notes, fmt.Sprintf("herd: --dist %s is accepted; herd schedules by duration and module affinity itself", v))
				return nil
			}
			return usage("herd: --dist expects one of load, loadscope, loadfile, loadgroup, worksteal, no; got %q", v)
		}),
		"--max-worker-restart": valued(func(c *Config, name, v string) error {
			if _, err := strconv.Atoi(v); err != nil {
				return usage("herd: %s expects a whole number, got %q", name, v)
			}
			c.Notes = append(c.Notes, fmt.Sprintf("herd: %s is accepted and ignored; herd replaces every crashed worker and never drops a test", name))
			return nil
		}),
		"--verbose": flag(func(c *Config, _, arg string) error {
			c.Verbosity++
			c.PytestArgs = append(c.PytestArgs, arg)
			return nil
		}),
		"--quiet": flag(func(c *Config, _, arg string) error {
			c.Verbosity--
			c.PytestArgs = append(c.PytestArgs, arg)
			return nil
		}),
	}
	// Other spellings of the same options.
	for alias, name := range map[string]string{
		"-h": "--help", "--reruns": "--retries", "--run-id": "--queue",
		"--queue-lease": "--queue", "--junit-xml": "--junitxml",
		"--maxprocesses": "--max-worker-restart",
	} {
		t[alias] = t[name]
	}
	return t
}

// wholeNumber parses v, the value of option name, as a whole number >= 0.
func wholeNumber(name, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, usage("herd: %s expects a whole number >= 0, got %q", name, v)
	}
	return n, nil
}

// setPath sets *dst to the path v, or fails with msg when v is empty.
func setPath(dst *string, v, msg string) error {
	if v == "" {
		return usage("%s", msg)
	}
	*dst = v
	return nil
}

// short parses a cluster of single-letter options such as -xvs or -n4 or
// -rfE. herd takes -n and -x out; the rest stay for pytest. It returns how
// many following arguments it consumed.
func (c *Config) short(a string, args []string, i int) (int, error) {
	var keep strings.Builder
	consumed := 0
	letters := a[1:]
	for k := 0; k < len(letters); k++ {
		ch := letters[k]
		switch {
		case ch == 'n':
			v := letters[k+1:]
			if strings.HasPrefix(v, "=") {
				v = v[1:]
			}
			if v == "" {
				if i+1 >= len(args) {
					return 0, usage("herd: -n expects a number of workers or auto")
				}
				v = args[i+1]
				consumed = 1
			}
			if err := c.setWorkers(v); err != nil {
				return 0, err
			}
			k = len(letters)
		case (ch == 'x' || ch == 'h' || ch == 'V') && k+1 < len(letters) && !isLetter(letters[k+1]):
			// pytest reads "-x1" as -x with an argument it does not
			// take, and refuses it; its own error says so.
			keep.WriteString(letters[k:])
			k = len(letters)
		case ch == 'x':
			c.MaxFail, c.MaxFailFlag = 1, "-x"
		case ch == 'h':
			c.Help = true
		case ch == 'V':
			c.Version++
		case ch == 'v':
			c.Verbosity++
			keep.WriteByte(ch)
		case ch == 'q':
			c.Verbosity--
			keep.WriteByte(ch)
		case strings.IndexByte(pytestValueShort, ch) >= 0:
			keep.WriteString(letters[k:])
			if k == len(letters)-1 {
				// The value is the next argument.
				if i+1 < len(args) {
					if keep.Len() > 0 {
						c.PytestArgs = append(c.PytestArgs, "-"+keep.String(), args[i+1])
					}
					return 1, nil
				}
			}
			k = len(letters)
		default:
			keep.WriteByte(ch)
		}
	}
	if keep.Len() > 0 {
		c.PytestArgs = append(c.PytestArgs, "-"+keep.String())
	}
	return consumed, nil
}

func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

func (c *Config) setWorkers(v string) error {
	if v == "auto" || v == "logical" {
		c.Workers = 0
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return usage("herd: -n expects a number of workers or auto, got %q", v)
	}
	if n == 0 {
		// pytest -n 0 means no distribution: one worker does the same.
		n = 1
	}
	c.Workers = n
	return nil
}

// CaptureOff reports whether pytest's capture is off (-s, --capture=no) in
// the pytest arguments, so tests print straight to the worker's stdout.
func (c *Config) CaptureOff() bool {
	for i, a := range c.PytestArgs {
		if a == "--capture=no" || (a == "--capture" && i+1 < len(c.PytestArgs) && c.PytestArgs[i+1] == "no") {
			return true
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a[1:], 's') && !strings.ContainsAny(a[1:], pytestValueShort) {
			return true
		}
	}
	return false
}
