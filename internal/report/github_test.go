package report

import (
	"bytes"
	"testing"

	"github.com/herd-run/herd/internal/result"
)

func TestGitHubAnnotations(t *testing.T) {
	run := &result.Run{Tests: []*result.Test{
		{NodeID: "tests/test_a.py::test_ok", File: "tests/test_a.py", Line: 3, Outcome: result.Passed},
		{NodeID: "tests/test_a.py::test_bad[a,b]", File: "tests/test_a.py", Line: 7, Outcome: result.Failed, Message: "assert 1 == 2\n+ where 100%"},
		{NodeID: "tests/test_b.py::test_segv", File: "tests/test_b.py", Line: 1, Outcome: result.Crashed,
			Crash: &result.Crash{Death: result.Death{Reason: result.DeathCrash, Signal: "SIGSEGV"}}, Message: "worker gw0 crashed: killed by SIGSEGV"},
	}, CollectionErrors: []result.CollectionError{{Path: "tests/test_c.py", Message: "Traceback\nImportError: no module x"}}}
	var buf bytes.Buffer
	NewGitHubAnnotations(&buf).Handle(result.Event{Kind: result.RunFinished, Run: run})
	want := "::error file=tests/test_a.py,line=7,title=FAILED tests/test_a.py%3A%3Atest_bad[a%2Cb]::assert 1 == 2%0A+ where 100%25\n" +
		"::error file=tests/test_b.py,line=1,title=CRASHED tests/test_b.py%3A%3Atest_segv::worker gw0 crashed: killed by SIGSEGV\n" +
		"::error file=tests/test_c.py,title=ERROR collecting tests/test_c.py::ImportError: no module x\n"
	if buf.String() != want {
		t.Errorf("annotations:\n%s\nwant:\n%s", buf.String(), want)
	}
}
