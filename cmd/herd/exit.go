package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/report"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/xdistctl"
)

// Exit codes, as pytest's.
const (
	exitOK          = 0
	exitTestsFailed = 1
	exitInterrupted = 2
	exitInternal    = 3
	exitUsage       = 4
	exitNoTests     = 5
)

// exitError ends herd with code after printing msg on stderr (nothing when
// msg is empty). It is how a command ends that the other kinds of error
// below do not say: a run's result, pytest's own exit code, an internal
// error a command words itself.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("exit code %d", e.code)
}

// exitWith ends herd with code and nothing printed; exitWith(exitOK) is nil.
func exitWith(code int) error {
	if code == exitOK {
		return nil
	}
	return &exitError{code: code}
}

// usageError is a usage error (exit code 4) that prints msg.
func usageError(msg string) error { return &config.UsageError{Msg: msg} }

// usageErrorf is a usage error that prints its formatted message.
func usageErrorf(format string, a ...any) error { return usageError(fmt.Sprintf(format, a...)) }

// internalError is an internal error (exit code 3) that prints msg.
func internalError(msg string) error { return &exitError{code: exitInternal, msg: msg} }

// internalErrorf is an internal error that prints its formatted message.
func internalErrorf(format string, a ...any) error {
	return internalError(fmt.Sprintf(format, a...))
}

// exitCodeOf is the one place herd's exit code is decided: it prints on
// stderr what err says and maps its kind to a code. nil is success; an
// error of no known kind is an internal error.
func exitCodeOf(err error, stderr io.Writer) int {
	var (
		usage  *config.UsageError
		noPy   *config.NoPythonError
		start  *run.StartupError
		ctlErr *xdistctl.Error
		exit   *exitError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ctlErr):
		// A hook of the suite's raised in the xdist controller: its
		// traceback, then herd's line; pytest says INTERNALERROR (3).
		if ctlErr.Output != "" {
			fmt.Fprint(stderr, strings.TrimRight(ctlErr.Output, "\n")+"\n")
		}
		if ctlErr.Trace != "" {
			fmt.Fprint(stderr, strings.TrimRight(ctlErr.Trace, "\n")+"\n")
		}
		fmt.Fprintf(stderr, "herd: %v\n", ctlErr)
		return exitInternal
	case errors.As(err, &exit):
		if exit.msg != "" {
			fmt.Fprintln(stderr, exit.msg)
		}
		return exit.code
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, usage.Msg)
		return exitUsage
	case errors.As(err, &noPy):
		fmt.Fprintln(stderr, noPy.Error())
		return exitUsage
	case errors.As(err, &start):
		// pytest could not start: its own output and exit code.
		fmt.Fprint(stderr, start.Output)
		if start.Code >= 1 && start.Code <= 5 {
			return start.Code
		}
		return exitInternal
	}
	fmt.Fprintf(stderr, "herd: internal error: %v\n", err)
	return exitInternal
}

// exitCode maps a finished run to pytest's exit code.
func exitCode(r *result.Run) int {
	switch report.RunStatus(r) {
	case report.StatusInterrupted:
		return exitInterrupted
	case report.StatusFailed:
		return exitTestsFailed
	case report.StatusNoTests:
		return exitNoTests
	}
	return exitOK
}
