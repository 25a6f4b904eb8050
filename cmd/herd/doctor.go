package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/doctor"
	"github.com/herd-run/herd/internal/history"
	"github.com/herd-run/herd/internal/pyworker"
)

const doctorUsage = "usage: herd doctor [--json] [--python PATH] [paths...]"

const doctorHelp = doctorUsage + `

Reads the suite's test sources (with Python's ast, run by the suite's own
interpreter; no test is imported or run) and lists the tests at risk when run
in parallel: process pools, multiprocessing, os.fork, processes started in a
new session, threads not joined, changes to os.environ, the current
directory, sys.path or signal handlers, fixed ports and fixed file paths.
For each it gives the line, the policy herd would apply (exclusive or
isolated) and the marker line to add. It also lists the tests earlier herd
runs found crashing only beside other tests.

options:
  --json          print one JSON document instead
  --python PATH   the suite's interpreter (default: HERD_PYTHON, else the
                  first of $VIRTUAL_ENV, ./.venv, python3, python that can
                  import pytest)
  -h, --help      print this help

Exit codes: 0 nothing found, 1 risks found, 3 internal error, 4 usage error.
`

// doctorTimeout bounds the analyzer: reading sources is quick, even for
// large suites.
const doctorTimeout = 10 * time.Minute

// doctorMain runs `herd doctor` (args without "doctor"); its error says how
// it ended (exitCodeOf).
func doctorMain(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var (
		asJSON bool
		python string
		paths  []string
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			paths = append(paths, args[i+1:]...)
			i = len(args)
		case a == "-h" || a == "--help":
			fmt.Fprint(stdout, doctorHelp)
			return nil
		case a == "--json":
			asJSON = true
		case a == "--python":
			if i+1 >= len(args) || args[i+1] == "" {
				return usageError("herd doctor: --python expects a path")
			}
			i++
			python = args[i]
		case strings.HasPrefix(a, "--python="):
			python = strings.TrimPrefix(a, "--python=")
			if python == "" {
				return usageError("herd doctor: --python expects a path")
			}
		case strings.HasPrefix(a, "-") && a != "-":
			return usageErrorf("herd doctor: unknown option %s (%s)", a, doctorUsage)
		default:
			paths = append(paths, a)
		}
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	abs, err := doctor.CheckPaths(paths)
	if err != nil {
		return usageErrorf("herd doctor: %v", err)
	}
	fromEnv := false
	if python == "" && getenv != nil {
		python = getenv("HERD_PYTHON")
		fromEnv = python != ""
	}
	cwd, err := os.Getwd()
	if err != nil {
		return internalErrorf("herd doctor: internal error: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), doctorTimeout)
	defer cancel()
	py, err := findPython(ctx, python, fromEnv, cwd, getenv)
	var noPy *config.NoPythonError
	if errors.As(err, &noPy) {
		return err
	} else if err != nil {
		return internalErrorf("herd doctor: internal error: %v", err)
	}
	rootdir := doctor.Rootdir(abs[0])
	rep, err := doctor.Analyze(ctx, doctor.Options{
		Python:  py.Path,
		Script:  pyworker.DoctorScript(),
		Rootdir: rootdir,
		Paths:   abs,
	})
	if err != nil {
		return internalErrorf("herd doctor: internal error: %v", err)
	}
	rep.AddDiagnoses(history.LoadDiagnoses(doctor.CacheDir(rootdir)), rootdir, abs)
	for _, n := range rep.Notes {
		fmt.Fprintln(stderr, "herd doctor: "+n)
	}
	if asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return internalErrorf("herd doctor: %v", err)
	}
	if rep.Found() {
		return exitWith(exitTestsFailed)
	}
	return nil
}
