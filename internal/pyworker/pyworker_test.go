package pyworker

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "record internal/protocol/testdata/transcript.jsonl anew from a real worker")

// transcriptPath is the recorded exchange both sides of the protocol are
// tested against (internal/protocol decodes it with the Go side's types).
var transcriptPath = filepath.Join("..", "protocol", "testdata", "transcript.jsonl")

// testPython returns an interpreter with pytest: $HERD_PYTHON, else
// /usr/bin/python3; the test is skipped without one.
func testPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HERD_PYTHON"), "/usr/bin/python3"} {
		if p == "" {
			continue
		}
		if exec.Command(p, "-c", "import pytest").Run() == nil {
			return p
		}
	}
	t.Skip("no Python interpreter with pytest found")
	return ""
}

func TestInstallWritesThePackage(t *testing.T) {
	dir := t.TempDir()
	boot, err := Install(dir)
	if err != nil {
		t.Fatal(err)
	}
	if boot != filepath.Join(dir, BootName) {
		t.Errorf("Install returned %s", boot)
	}
	for _, name := range []string{BootName, CtlName, CovName, FPName, "herd_worker/__init__.py", "herd_worker/fingerprint.py", "herd_worker/deps.py", "herd_worker/channel.py", "herd_worker/loop.py"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	// Nothing else lands beside the scripts: every top-level name on the
	// worker's sys.path is herd's own.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := e.Name(); len(name) < 5 || name[:5] != "herd_" {
			t.Errorf("installed %s, which may shadow a module of the suite's", name)
		}
	}
}

// TestTranscriptPython plays herd's controller against a real worker from
// the recorded transcript (testdata/transcript.py): every message the
// worker sends must have the keys recorded there, and it must obey the
// recorded commands. With -update it records the transcript anew.
func TestTranscriptPython(t *testing.T) {
	py := testPython(t)
	dir := t.TempDir()
	install := filepath.Join(dir, "install")
	suite := filepath.Join(dir, "suite")
	for _, d := range []string{install, suite} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Install(install); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(suite, os.DirFS(filepath.Join("testdata", "transcript_suite"))); err != nil {
		t.Fatal(err)
	}
	mode := "replay"
	if *update {
		mode = "record"
	}
	transcript, err := filepath.Abs(transcriptPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("testdata", "transcript.py"), mode, install, suite, transcript)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s against %s: %v\n%s", mode, transcriptPath, err, out.String())
	}
}
