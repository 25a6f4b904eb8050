// Command herd runs a pytest suite across supervised worker processes. It is
// used where `pytest -n auto` was, with the same arguments.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/pyworker"
	herdversion "github.com/herd-run/herd/internal/version"
)

// version is herd's version, from internal/version (which the wheels are
// named by too).
const version = herdversion.Version

// memoryLimit is the controller's soft memory limit: above the live heap of
// a 100,000-test run (about 80 MB), with room for its garbage, and below
// the 150 MB the controller is meant to stay under at that size.
const memoryLimit = 120 << 20

func main() {
	if os.Getenv("GOMAXPROCS") == "" {
		// The controller is one event loop fed by a reader per worker;
		// on one thread its goroutines hand messages over without waking
		// other threads, and the cores stay with the workers (measured:
		// a fifth less controller CPU on 5,000 trivial tests).
		runtime.GOMAXPROCS(1)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit, not a cap: below it the collector runs as usual;
		// near it, it runs more often rather than let garbage double the
		// heap. A run of 100,000 tests holds about 80 MB live.
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(mainCode(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// mainCode runs herd and maps its outcome to an exit code, through
// exitCodeOf: the only place exit codes are decided.
func mainCode(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return exitCodeOf(route(args, stdout, stderr, getenv), stderr)
}

// route runs the command args name: a subcommand, or a run of the suite.
func route(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	switch {
	case len(args) > 0 && args[0] == "doctor":
		return doctorMain(args[1:], stdout, stderr, getenv)
	case len(args) > 0 && args[0] == "watch":
		return watchMain(args[1:], stdout, stderr, getenv)
	case len(args) > 1 && args[0] == "report" && isQueueReport(args[1:]):
		return reportQueueMain(args[1:], stdout, stderr, getenv)
	case len(args) > 1 && args[0] == "report" && args[1] == "merge":
		return reportMergeMain(args[2:], stdout)
	case len(args) > 1 && args[0] == "durations" && args[1] == "merge":
		return durationsMergeMain(args[2:], stdout, stderr)
	case len(args) > 0 && (args[0] == "report" || args[0] == "durations"):
		return subcommandHelp(args, stdout)
	}
	cfg, err := config.Parse(args, getenv)
	switch {
	case err != nil:
		return err
	case cfg.Help:
		fmt.Fprint(stdout, helpText)
		return nil
	case cfg.Version > 0:
		return versionMain(cfg, stdout, stderr, getenv)
	}
	return runMain(cfg, stdout, stderr, getenv)
}

// subcommandHelp answers "herd report" and "herd durations" without a
// subcommand: their own help, or a usage error (a bare "herd report" is
// not a test path: run "herd ./report" for a directory of that name).
func subcommandHelp(args []string, stdout io.Writer) error {
	if len(args) > 1 && (args[1] == "-h" || args[1] == "--help") {
		if args[0] == "report" {
			fmt.Fprint(stdout, reportMergeHelp+"\n"+reportQueueHelp)
		} else {
			fmt.Fprint(stdout, durationsMergeHelp)
		}
		return nil
	}
	if args[0] == "report" {
		return usageError("herd report: expects merge FILES... or --queue URL --run-id ID (herd report --help says more)")
	}
	return usageError("herd durations: expects merge FILES... (herd durations --help says more)")
}

// versionMain prints herd's version, then has the suite's pytest print its
// own (-V; -VV lists its plugins too), with the rest of the command line.
func versionMain(cfg *config.Config, stdout, stderr io.Writer, getenv func(string) string) error {
	fmt.Fprintf(stdout, "herd %s\n", version)
	ctx := context.Background()
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("get working directory: %w", err)
	}
	py, err := findPython(ctx, cfg.Python, cfg.PythonFromEnv, cwd, getenv)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "herd-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	boot, err := pyworker.Install(dir)
	if err != nil {
		return err
	}
	args := append([]string{}, cfg.PytestArgs...)
	for range cfg.Version {
		args = append(args, "-V")
	}
	return delegate(ctx, py.Path, boot, args, stdout, stderr)
}

// selfPath is the path of herd's own executable, symlinks resolved (pipx
// and uv link their bin/herd to the one in the tool's virtualenv), or empty
// when it cannot be known. FindPython looks for a virtualenv around it.
func selfPath() string {
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// findPython finds the suite's interpreter (config.FindPython, given
// python from --python or HERD_PYTHON). The error that no interpreter
// would do names HERD_PYTHON when the refused one came from it (fromEnv).
func findPython(ctx context.Context, python string, fromEnv bool, cwd string, getenv func(string) string) (*config.Interpreter, error) {
	py, err := config.FindPython(ctx, python, cwd, selfPath(), getenv)
	var noPy *config.NoPythonError
	if errors.As(err, &noPy) && fromEnv && noPy.Given != "" {
		noPy.Given = "HERD_PYTHON"
	}
	return py, err
}
