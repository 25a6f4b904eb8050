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

// doctorMain runs `herd doctor` (args without "doctor") and returns its exit
// code.
func doctorMain(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
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
			return exitOK
		case a == "--json":
			asJSON = true
		case a == "--python":
			if i+1 >= len(args) || args[i+1] == "" {
				fmt.Fprintln(stderr, "herd doctor: --python expects a path")
				return exitUsage
			}
			i++
			python = args[i]
		case strings.HasPrefix(a, "--python="):
			python = strings.TrimPrefix(a, "--python=")
			if python == "" {
				fmt.Fprintln(stderr, "herd doctor: --python expects a path")
				return exitUsage
			}
		case strings.HasPrefix(a, "-") && a != "-":
			fmt.Fprintf(stderr, "herd doctor: unknown option %s (%s)\n", a, doctorUsage)
			return exitUsage
		default:
			paths = append(paths, a)
		}
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	abs, err := doctor.CheckPaths(paths)
	if err != nil {
		fmt.Fprintf(stderr, "herd doctor: %v\n", err)
		return exitUsage
	}
	fromEnv := false
	if python == "" && getenv != nil {
		python = getenv("HERD_PYTHON")
		fromEnv = python != ""
	}
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "herd doctor: internal error: %v\n", err)
		return exitInternal
	}
	ctx, cancel := context.WithTimeout(context.Background(), doctorTimeout)
	defer cancel()
	py, err := config.FindPython(ctx, python, cwd, selfPath(), getenv)
	if err != nil {
		var noPy *config.NoPythonError
		if errors.As(err, &noPy) {
			fmt.Fprintln(stderr, pythonError(noPy, fromEnv))
			return exitUsage
		}
		fmt.Fprintf(stderr, "herd doctor: internal error: %v\n", err)
		return exitInternal
	}
	rootdir := doctor.Rootdir(abs[0])
	rep, err := doctor.Analyze(ctx, doctor.Options{
		Python:  py.Path,
		Script:  pyworker.DoctorScript(),
		Rootdir: rootdir,
		Paths:   abs,
	})
	if err != nil {
		fmt.Fprintf(stderr, "herd doctor: internal error: %v\n", err)
		return exitInternal
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
		fmt.Fprintf(stderr, "herd doctor: %v\n", err)
		return exitInternal
	}
	if rep.Found() {
		return exitTestsFailed
	}
	return exitOK
}
