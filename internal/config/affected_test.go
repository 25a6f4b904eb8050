package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/herd-run/herd/internal/config"
)

// --affected takes a revision as "--affected=REV", or as the next argument
// when that is neither an option nor a path that exists: "herd --affected
// tests" runs the affected tests under tests/, "herd --affected main" those
// a change since main can break.
func TestParseAffected(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, tc := range []struct {
		argv     []string
		env      map[string]string
		affected bool
		rev      string
		verify   bool
		record   config.Record
		args     []string
		wantErr  string
	}{
		{argv: nil},
		{argv: []string{"--affected"}, affected: true},
		{argv: []string{"--affected=main"}, affected: true, rev: "main"},
		{argv: []string{"--affected", "HEAD~3", "-q"}, affected: true, rev: "HEAD~3", args: []string{"-q"}},
		{argv: []string{"--affected", "tests"}, affected: true, args: []string{"tests"}},
		{argv: []string{"--affected", "tests/test_a.py::test_x"}, affected: true, args: []string{"tests/test_a.py::test_x"}},
		{argv: []string{"--affected", "-k", "x"}, affected: true, args: []string{"-k", "x"}},
		{argv: []string{"--affected", "--verify"}, affected: true, verify: true},
		{argv: []string{"--record-deps"}, record: config.RecordOn},
		{argv: []string{"--no-record-deps"}, record: config.RecordOff},
		{argv: nil, env: map[string]string{"HERD_RECORD_DEPS": "1"}, record: config.RecordOn},
		{argv: []string{"--record-deps"}, env: map[string]string{"HERD_RECORD_DEPS": "0"}, record: config.RecordOn},
		{argv: nil, env: map[string]string{"HERD_RECORD_DEPS": "maybe"}, wantErr: "herd: HERD_RECORD_DEPS expects 1 or 0, got \"maybe\""},
		{argv: []string{"--verify"}, wantErr: "herd: --verify goes with --affected: it checks what --affected would have left out"},
		{argv: []string{"--affected="}, wantErr: "herd: --affected= expects a git revision"},
	} {
		c, err := config.Parse(tc.argv, func(k string) string { return tc.env[k] })
		if tc.wantErr != "" {
			if err == nil || !errors.Is(err, config.ErrUsage) || err.Error() != tc.wantErr {
				t.Errorf("Parse(%q) error = %v, want usage error %q", tc.argv, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.argv, err)
			continue
		}
		if c.Affected != tc.affected || c.AffectedRev != tc.rev || c.Verify != tc.verify || c.RecordDeps != tc.record {
			t.Errorf("Parse(%q): affected %v rev %q verify %v record %v; want %v %q %v %v",
				tc.argv, c.Affected, c.AffectedRev, c.Verify, c.RecordDeps, tc.affected, tc.rev, tc.verify, tc.record)
		}
		if len(c.PytestArgs)+len(tc.args) > 0 && !reflect.DeepEqual(c.PytestArgs, tc.args) {
			t.Errorf("Parse(%q): pytest args %q, want %q", tc.argv, c.PytestArgs, tc.args)
		}
	}
}
