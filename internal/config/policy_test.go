package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/schedule"
)

// policyCheck is one test's expected policy under a set of rules.
type policyCheck struct {
	ti   protocol.TestInfo
	want schedule.Policy
}

var (
	normal    = schedule.Policy{}
	exclusive = schedule.Policy{Kind: schedule.Exclusive}
	isolated  = schedule.Policy{Kind: schedule.Isolated}
)

func group(name string, limit int) schedule.Policy {
	return schedule.Policy{Kind: schedule.Group, Group: name, Limit: limit}
}

// ti is a test with the given nodeid and markers.
func ti(id string, markers ...string) protocol.TestInfo {
	return protocol.TestInfo{ID: id, Markers: markers}
}

// xg is a test in xdist_group name (its markers include xdist_group, as the
// worker reports them).
func xg(id, name string, markers ...string) protocol.TestInfo {
	return protocol.TestInfo{ID: id, Markers: append([]string{"xdist_group"}, markers...), Group: name}
}

// writeFiles writes name -> content into a fresh directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadPolicyRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		files  map[string]string
		checks []policyCheck
	}{
		{
			name: "defaults without files",
			checks: []policyCheck{
				{ti("t.py::test_plain"), normal},
				{ti("t.py::test_other_marker", "slow", "parametrize"), normal},
				{ti("t.py::test_serial", "serial"), exclusive},
				{ti("t.py::test_unsafe", "parallel_unsafe"), exclusive},
				{ti("t.py::test_isolated", "isolated"), isolated},
				{xg("t.py::test_grouped", "g1"), group("g1", 1)},
				{xg("t.py::test_grouped_default_name", "default"), group("default", 1)},
				// The marker alone, without a group name from the worker, is
				// no group.
				{ti("t.py::test_xdist_marker_only", "xdist_group"), normal},
			},
		},
		{
			name: "defaults with files that say nothing about herd",
			files: map[string]string{
				"pyproject.toml": "[project]\nname = \"x\"\n\n[tool.pytest.ini_options]\naddopts = \"-q\"\n",
			},
			checks: []policyCheck{
				{ti("t.py::a", "serial"), exclusive},
				{ti("t.py::b", "isolated"), isolated},
				{xg("t.py::c", "g"), group("g", 1)},
				{ti("t.py::d"), normal},
			},
		},
		{
			name: "markers mapping",
			files: map[string]string{
				"pyproject.toml": `
[tool.herd.markers]
slow = "exclusive"
flaky = "isolated"
db = "group:database"
net = "group"
serial = "none"
parallel_unsafe = "normal"
`,
			},
			checks: []policyCheck{
				{ti("t.py::slow", "slow"), exclusive},
				{ti("t.py::flaky", "flaky"), isolated},
				{ti("t.py::db", "db"), group("database", 1)},
				// "group" without a name groups by the marker's name.
				{ti("t.py::net", "net"), group("net", 1)},
				// "none" (and its synonym "normal") disable a default.
				{ti("t.py::serial", "serial"), normal},
				{ti("t.py::unsafe", "parallel_unsafe"), normal},
				// Defaults not mentioned stay.
				{ti("t.py::iso", "isolated"), isolated},
				{xg("t.py::xg", "g1"), group("g1", 1)},
				{ti("t.py::plain", "other"), normal},
			},
		},
		{
			name: "a marker mapped to none that was never mapped",
			files: map[string]string{
				"pyproject.toml": "[tool.herd.markers]\nnever = \"none\"\n",
			},
			checks: []policyCheck{
				{ti("t.py::a", "never"), normal},
				{ti("t.py::b", "serial"), exclusive},
			},
		},
		{
			name: "nodeid globs",
			files: map[string]string{
				"pyproject.toml": `
[tool.herd.nodeids]
"tests/test_db*.py" = "group:db"
"*::test_slow_*" = "exclusive"
"tests/test_?.py" = "isolated"
"deep/*.py" = "isolated"
"other/test_x.py::TestK::*" = "group:k"
`,
			},
			checks: []policyCheck{
				// A pattern without "::" names files: every test of a
				// matching file matches, whatever its name.
				{ti("tests/test_db.py::test_one"), group("db", 1)},
				{ti("tests/test_dbmodels.py::TestModel::test_two"), group("db", 1)},
				{ti("tests/test_db.py::test_param[a-b]"), group("db", 1)},
				{ti("tests/test_db.py::test_param[a::b]"), group("db", 1)},
				// ... and only the path part is matched: a test named like
				// the pattern in another file does not match.
				{ti("tests/test_other.py::test_db.py"), normal},
				{ti("tests/test_other.py::test_db_thing"), normal},
				// Patterns are anchored.
				{ti("sub/tests/test_db.py::test_one"), normal},
				{ti("tests/test_db.pyc::test_one"), normal},
				// A pattern with "::" matches the whole nodeid.
				{ti("a/b.py::test_slow_one"), exclusive},
				{ti("a.py::TestK::test_slow_x[1]"), exclusive},
				{ti("test_slow_file.py::test_fast"), normal},
				{ti("a.py::test_slowly"), normal},
				// ? is one character.
				{ti("tests/test_a.py::test_x"), isolated},
				{ti("tests/test_ab.py::test_x"), normal},
				// * crosses "/".
				{ti("deep/a/b/test_c.py::test_x"), isolated},
				// Class patterns.
				{ti("other/test_x.py::TestK::test_a"), group("k", 1)},
				{ti("other/test_x.py::TestL::test_a"), normal},
				// Markers still count beside globs.
				{ti("tests/test_other.py::test_m", "serial"), exclusive},
			},
		},
		{
			name: "nodeid glob mapped to none adds nothing",
			files: map[string]string{
				"pyproject.toml": "[tool.herd.nodeids]\n\"tests/*\" = \"none\"\n",
			},
			checks: []policyCheck{
				{ti("tests/test_a.py::t"), normal},
				{ti("tests/test_a.py::s", "serial"), exclusive},
			},
		},
		{
			name: "group limits",
			files: map[string]string{
				"pyproject.toml": `
[tool.herd.markers]
db = "group:database"
net = "group"
cache = "group:cache"

[tool.herd.nodeids]
"tests/test_api*.py" = "group:api"

[tool.herd.groups]
database = 3
net = 2
api = 4
g1 = 5
`,
			},
			checks: []policyCheck{
				{ti("t.py::db", "db"), group("database", 3)},
				{ti("t.py::net", "net"), group("net", 2)},
				{ti("tests/test_api_v2.py::t"), group("api", 4)},
				// The limits apply to xdist groups too.
				{xg("t.py::x", "g1"), group("g1", 5)},
				// Groups without a limit get 1.
				{xg("t.py::y", "g2"), group("g2", 1)},
				{ti("t.py::cache", "cache"), group("cache", 1)},
			},
		},
		{
			name: "herd.toml at top level overrides pyproject",
			files: map[string]string{
				"pyproject.toml": `
[tool.herd.markers]
slow = "exclusive"
db = "group:database"
keep = "isolated"

[tool.herd.groups]
database = 2
`,
				"herd.toml": `
[markers]
slow = "isolated"
serial = "none"
fast = "exclusive"

[groups]
database = 4
`,
			},
			checks: []policyCheck{
				{ti("t.py::slow", "slow"), isolated},
				{ti("t.py::serial", "serial"), normal},
				{ti("t.py::fast", "fast"), exclusive},
				{ti("t.py::db", "db"), group("database", 4)},
				// What herd.toml does not mention stays as pyproject says.
				{ti("t.py::keep", "keep"), isolated},
				{ti("t.py::unsafe", "parallel_unsafe"), exclusive},
			},
		},
		{
			name: "herd.toml with a tool.herd table",
			files: map[string]string{
				"pyproject.toml": "[tool.herd.markers]\nslow = \"exclusive\"\n",
				"herd.toml":      "[tool.herd.markers]\nslow = \"none\"\nnet = \"group\"\n\n[tool.herd.groups]\nnet = 3\n",
			},
			checks: []policyCheck{
				{ti("t.py::slow", "slow"), normal},
				{ti("t.py::net", "net"), group("net", 3)},
			},
		},
		{
			name: "herd.toml alone",
			files: map[string]string{
				"herd.toml": "[nodeids]\n\"*::test_slow*\" = \"exclusive\"\n",
			},
			checks: []policyCheck{
				{ti("a.py::test_slow"), exclusive},
				{ti("a.py::test_fast", "isolated"), isolated},
			},
		},
		{
			name: "pyproject's top level is not herd's",
			files: map[string]string{
				"pyproject.toml": "[markers]\nslow = \"exclusive\"\n\n[nodeids]\n\"*\" = \"isolated\"\n",
			},
			checks: []policyCheck{
				{ti("a.py::test_slow", "slow"), normal},
				{ti("a.py::test_x"), normal},
			},
		},
		{
			name: "strongest wins",
			files: map[string]string{
				"pyproject.toml": `
[tool.herd.markers]
db = "group:db"
sandboxed = "isolated"
global_state = "exclusive"

[tool.herd.nodeids]
"tests/test_excl.py" = "exclusive"
"tests/test_grp.py" = "group:files"
"*::test_iso*" = "isolated"
`,
			},
			checks: []policyCheck{
				{ti("t.py::a", "db", "isolated"), isolated},
				{ti("t.py::b", "isolated", "db"), isolated},
				{ti("t.py::c", "serial", "isolated"), exclusive},
				{ti("t.py::d", "db", "serial"), exclusive},
				{ti("t.py::e", "sandboxed", "global_state"), exclusive},
				{xg("t.py::f", "g1", "isolated"), isolated},
				{xg("t.py::g", "g1", "parallel_unsafe"), exclusive},
				{xg("t.py::h", "g1", "sandboxed"), isolated},
				// Globs against markers, both ways.
				{ti("tests/test_excl.py::i", "db"), exclusive},
				{ti("tests/test_excl.py::j", "isolated"), exclusive},
				{ti("tests/test_grp.py::k", "sandboxed"), isolated},
				{ti("tests/test_grp.py::test_iso"), isolated},
				{ti("tests/test_grp.py::l"), group("files", 1)},
				{ti("tests/test_other.py::test_iso_x", "serial"), exclusive},
			},
		},
		{
			name: "xdist_group none disables xdist groups",
			files: map[string]string{
				"pyproject.toml": "[tool.herd.markers]\nxdist_group = \"none\"\ndb = \"group\"\n",
			},
			checks: []policyCheck{
				{xg("t.py::a", "g1"), normal},
				{xg("t.py::b", "g1", "db"), group("db", 1)},
				{xg("t.py::c", "g1", "serial"), exclusive},
				{ti("t.py::d", "db"), group("db", 1)},
			},
		},
		{
			name: "xdist_group none in herd.toml",
			files: map[string]string{
				"pyproject.toml": "[tool.herd.groups]\ng1 = 2\n",
				"herd.toml":      "[markers]\nxdist_group = \"none\"\n",
			},
			checks: []policyCheck{
				{xg("t.py::a", "g1"), normal},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, tc.files)
			r, err := config.LoadPolicyRules(dir)
			if err != nil {
				t.Fatalf("LoadPolicyRules: %v", err)
			}
			for _, c := range tc.checks {
				if got := r.For(c.ti); got != c.want {
					t.Errorf("For(%s, markers %q, group %q) = %+v, want %+v", c.ti.ID, c.ti.Markers, c.ti.Group, got, c.want)
				}
			}
		})
	}
}

// TestDefaultPolicyRules checks that the defaults need no file at all and
// equal what LoadPolicyRules gives for an empty directory.
func TestDefaultPolicyRules(t *testing.T) {
	t.Parallel()
	r := config.DefaultPolicyRules()
	checks := []policyCheck{
		{ti("t.py::a", "serial"), exclusive},
		{ti("t.py::b", "parallel_unsafe"), exclusive},
		{ti("t.py::c", "isolated"), isolated},
		{xg("t.py::d", "g"), group("g", 1)},
		{ti("t.py::e", "slow"), normal},
	}
	for _, c := range checks {
		if got := r.For(c.ti); got != c.want {
			t.Errorf("For(%s, %q) = %+v, want %+v", c.ti.ID, c.ti.Markers, got, c.want)
		}
	}
}

// TestPolicyNodeidsHerdTomlWins checks that herd.toml's setting for a nodeid
// pattern replaces pyproject.toml's setting for the same pattern, as its
// settings for markers and groups do ("herd.toml, whose settings win").
func TestPolicyNodeidsHerdTomlWins(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"pyproject.toml": `
[tool.herd.nodeids]
"tests/test_legacy.py" = "exclusive"
"*::test_slow_*" = "exclusive"
`,
		"herd.toml": `
[nodeids]
"tests/test_legacy.py" = "none"
"*::test_slow_*" = "isolated"
`,
	})
	r, err := config.LoadPolicyRules(dir)
	if err != nil {
		t.Fatalf("LoadPolicyRules: %v", err)
	}
	for _, c := range []policyCheck{
		{ti("tests/test_legacy.py::test_a"), normal},
		{ti("tests/test_other.py::test_slow_b"), isolated},
		// A marker still counts.
		{ti("tests/test_legacy.py::test_c", "serial"), exclusive},
	} {
		if got := r.For(c.ti); got != c.want {
			t.Errorf("For(%s, %q) = %+v, want %+v (herd.toml's setting for the same pattern should replace pyproject.toml's)",
				c.ti.ID, c.ti.Markers, got, c.want)
		}
	}
}

func TestLoadPolicyRulesErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files map[string]string
		file  string   // the file the message must name
		also  []string // more substrings the message must have
	}{
		{
			name:  "invalid TOML in pyproject",
			files: map[string]string{"pyproject.toml": "[tool.herd.markers\nslow = \"exclusive\"\n"},
			file:  "pyproject.toml",
			also:  []string{"TOML"},
		},
		{
			name: "invalid TOML in herd.toml",
			files: map[string]string{
				"pyproject.toml": "[tool.herd.markers]\nslow = \"exclusive\"\n",
				"herd.toml":      "[markers]\nslow = exclusive\n",
			},
			file: "herd.toml",
			also: []string{"TOML"},
		},
		{
			name:  "invalid TOML over several lines",
			files: map[string]string{"herd.toml": "[markers]\nslow = \"exclusive\nfast = \"isolated\"\n\n\n[[[\n"},
			file:  "herd.toml",
		},
		{
			name:  "a marker policy that is not a string",
			files: map[string]string{"herd.toml": "[markers]\nslow = 3\n"},
			file:  "herd.toml",
		},
		{
			name:  "unknown marker policy",
			files: map[string]string{"pyproject.toml": "[tool.herd.markers]\nslow = \"bogus\"\n"},
			file:  "pyproject.toml",
			also:  []string{"slow", "bogus"},
		},
		{
			name:  "unknown marker policy in herd.toml",
			files: map[string]string{"herd.toml": "[markers]\nslow = \"bogus\"\n"},
			file:  "herd.toml",
			also:  []string{"slow", "bogus"},
		},
		{
			name:  "unknown nodeid policy",
			files: map[string]string{"herd.toml": "[nodeids]\n\"tests/*\" = \"serial\"\n"},
			file:  "herd.toml",
			also:  []string{"tests/*", "serial"},
		},
		{
			name:  "group with an empty name",
			files: map[string]string{"herd.toml": "[markers]\ndb = \"group:\"\n"},
			file:  "herd.toml",
			also:  []string{"db"},
		},
		{
			name:  "group without a name in nodeids",
			files: map[string]string{"pyproject.toml": "[tool.herd.nodeids]\n\"tests/test_db*.py\" = \"group\"\n"},
			file:  "pyproject.toml",
			also:  []string{"tests/test_db*.py", "group:NAME"},
		},
		{
			name:  "group limit 0",
			files: map[string]string{"pyproject.toml": "[tool.herd.groups]\ndb = 0\n"},
			file:  "pyproject.toml",
			also:  []string{"db"},
		},
		{
			name:  "negative group limit",
			files: map[string]string{"herd.toml": "[groups]\ndb = -2\n"},
			file:  "herd.toml",
			also:  []string{"db"},
		},
		{
			name:  "group limit not a number",
			files: map[string]string{"herd.toml": "[groups]\ndb = \"two\"\n"},
			file:  "herd.toml",
			also:  []string{"db"},
		},
		{
			name:  "group limit not whole",
			files: map[string]string{"herd.toml": "[groups]\ndb = 1.5\n"},
			file:  "herd.toml",
			also:  []string{"db"},
		},
		{
			name:  "xdist_group mapped to something other than none",
			files: map[string]string{"pyproject.toml": "[tool.herd.markers]\nxdist_group = \"exclusive\"\n"},
			file:  "pyproject.toml",
			also:  []string{"xdist_group"},
		},
		{
			name: "a good pyproject and a bad herd.toml",
			files: map[string]string{
				"pyproject.toml": "[tool.herd.markers]\ndb = \"group\"\n[tool.herd.groups]\ndb = 2\n",
				"herd.toml":      "[tool.herd.markers]\nslow = \"sometimes\"\n",
			},
			file: "herd.toml",
			also: []string{"slow", "sometimes"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, tc.files)
			r, err := config.LoadPolicyRules(dir)
			if err == nil {
				t.Fatalf("LoadPolicyRules = %+v, want an error", r)
			}
			var ue *config.UsageError
			if !errors.As(err, &ue) {
				t.Errorf("error %T (%v) is not a *UsageError", err, err)
			}
			if !errors.Is(err, config.ErrUsage) {
				t.Errorf("errors.Is(%v, ErrUsage) = false", err)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("message is not one line: %q", msg)
			}
			if !strings.Contains(msg, tc.file) {
				t.Errorf("message %q does not name %s", msg, tc.file)
			}
			other := "herd.toml"
			if tc.file == "herd.toml" {
				other = "pyproject.toml"
			}
			if strings.Contains(msg, other) {
				t.Errorf("message %q names %s, but the fault is in %s", msg, other, tc.file)
			}
			for _, s := range tc.also {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not mention %q", msg, s)
				}
			}
		})
	}
}
