package run

import (
	"fmt"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// diagTimeout bounds the rerun of a crashed test that has no timeout of its
// own. The rerun only explains a crash; five minutes lets slow tests finish
// and still ends one that hangs when alone.
const diagTimeout = 5 * time.Minute

// diagnose records the rerun of crashed test i: rerun is its outcome, or nil
// when it could not run, with why saying what happened instead.
func (d *dispatcher) diagnose(i int, rerun *result.Test, why string) {
	t := d.tests[i]
	dg := &result.Diagnosis{}
	switch {
	case rerun == nil:
		dg.Summary = why
	case rerun.Outcome == result.Timeout:
		dg.Rerun = result.Timeout
		dg.Summary = "hangs when rerun alone in a fresh worker: " + rerun.Message
	case rerun.Outcome == result.Crashed:
		dg.Rerun = result.Crashed
		dg.CrashedAlone = true
		dg.Summary = "crashes alone too: rerun in a fresh worker with nothing beside it, it crashed again (" + rerun.Message + ")"
	default:
		dg.Rerun = rerun.Outcome
		dg.Cause = "parallel-unsafe"
		dg.Marker = "@pytest.mark.parallel_unsafe"
		dg.Summary = fmt.Sprintf("crashed only beside other tests: rerun alone in a fresh worker it %s. "+
			"Likely parallel-unsafe (it depends on what ran before it in its worker, or beside it); add %s", rerun.Outcome, dg.Marker)
	}
	t.res.Diagnosis = dg
}
