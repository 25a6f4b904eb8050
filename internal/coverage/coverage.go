// Package coverage runs pytest-cov's part that a controller has under
// pytest-xdist: erasing the data of earlier runs before the workers start,
// and combining the workers' data into pytest-cov's reports at the end.
package coverage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// On reports whether pytest-cov's --cov is in the pytest arguments and not
// turned off by --no-cov.
func On(args []string) bool {
	on := false
	for _, a := range args {
		switch {
		case a == "--no-cov":
			return false
		case a == "--cov" || strings.HasPrefix(a, "--cov="):
			on = true
		}
	}
	return on
}

// Erase removes the coverage data files of earlier runs, as
// pytest-cov does before a run (unless --cov-append), so the workers' files
// are combined alone. Workers never erase: a replacement worker would erase
// the files of those that finished.
func Erase(dir string, args []string) {
	for _, a := range args {
		if a == "--cov-append" {
			return
		}
	}
	os.Remove(filepath.Join(dir, ".coverage"))
	old, _ := filepath.Glob(filepath.Join(dir, ".coverage.*"))
	for _, f := range old {
		os.Remove(f)
	}
}

// covTimeout bounds combining and reporting coverage: coverage.py combines
// a few data files per second at worst; ten minutes covers huge suites
// writing HTML reports.
const covTimeout = 10 * time.Minute

// Finish combines the workers' coverage data and produces
// pytest-cov's reports with the suite's interpreter; the terminal text goes
// into r.Coverage. script is the embedded herd_cov.py (pyworker.CovName),
// dir the suite's directory. Worker processes that crashed or were killed
// lost their data; the report names them.
func Finish(ctx context.Context, python, script, dir string, r *result.Run, stderr io.Writer) {
	lost := lostWorkers(r)
	arg, err := json.Marshal(map[string]any{"options": json.RawMessage(r.Info.Cov), "lost": lost})
	if err != nil {
		fmt.Fprintf(stderr, "herd: coverage: %v\n", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, covTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, string(arg))
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(stderr, "herd: could not combine coverage: %v\n%s", err, errOut.String())
		return
	}
	var res struct {
		Report string `json:"report"`
		Failed bool   `json:"failed"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		fmt.Fprintf(stderr, "herd: could not read the coverage report: %v\n", err)
		return
	}
	r.Coverage = strings.TrimRight(res.Report, "\n")
	r.CoverageFailed = res.Failed
}

// lostWorkers names the worker processes whose coverage data was lost: those
// that died (crashed, or were killed) running one of r's tests, each once,
// with the test it died running.
func lostWorkers(r *result.Run) []string {
	var lost []string
	seen := map[string]bool{}
	note := func(t *result.Test, worker string, process int, c *result.Crash) {
		if c == nil || worker == "" {
			return
		}
		name := worker
		if process > 1 {
			name = fmt.Sprintf("%s #%d", worker, process)
		}
		if !seen[name] {
			seen[name] = true
			lost = append(lost, fmt.Sprintf("%s (died running %s)", name, t.NodeID))
		}
	}
	for _, t := range r.Tests {
		for _, a := range t.Attempts {
			note(t, a.Worker, a.Process, a.Crash)
		}
		note(t, t.Worker, t.Process, t.Crash)
	}
	return lost
}
