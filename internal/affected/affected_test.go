package affected

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

// fakeFP cuts a Python file into parts by lines "def NAME": each part's
// hash is the hash of its lines, and the lines before the first def are
// the module part. It stands in for the Python fingerprinter, which has
// tests of its own.
type fakeFP struct{ calls int }

func fakeParts(data []byte) map[string]string {
	parts := map[string]string{}
	name := protocol.PartModule
	var cur []string
	flush := func() {
		sum := sha256.Sum256([]byte(strings.Join(cur, "\n")))
		parts[name] = hex.EncodeToString(sum[:8])
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "def ") {
			flush()
			name, cur = strings.TrimSuffix(strings.Fields(l)[1], "():"), nil
		}
		if strings.TrimSpace(l) != "" {
			cur = append(cur, l)
		}
	}
	flush()
	return parts
}

func (f *fakeFP) Current(_ context.Context, root string, paths []string) (map[string]protocol.Fingerprint, error) {
	f.calls++
	out := map[string]protocol.Fingerprint{}
	for _, p := range paths {
		data, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		out[p] = protocol.Fingerprint{Path: p, SHA: hashHex(data), Parts: fakeParts(data)}
	}
	return out, nil
}

func (f *fakeFP) Of(_ context.Context, _ string, contents map[string][]byte) (map[string]protocol.Fingerprint, error) {
	out := map[string]protocol.Fingerprint{}
	for p, data := range contents {
		out[p] = protocol.Fingerprint{Path: p, SHA: hashHex(data), Parts: fakeParts(data)}
	}
	return out, nil
}

// project is a rootdir with files, and what a run of its tests recorded.
type project struct {
	t    *testing.T
	root string
}

func newProject(t *testing.T, files map[string]string) *project {
	p := &project{t: t, root: t.TempDir()}
	for name, body := range files {
		p.write(name, body)
	}
	return p
}

func (p *project) write(name, body string) {
	path := filepath.Join(p.root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// record runs nothing: it records, as a worker would have, that each test
// in deps depended on those keys, with the files as they are now, and
// that it ended with outcomes[test] (passed when absent).
func (p *project) record(old *Store, deps map[string][]protocol.DepKey, outcomes map[string]result.Outcome) *Store {
	p.t.Helper()
	rec := NewRecorder()
	fp := &fakeFP{}
	run := &result.Run{Info: result.Info{Python: "3.11.2", Pytest: "7.2.1"}}
	ids := make([]string, 0, len(deps))
	for id := range deps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, k := range deps[id] {
			fps, _ := fp.Current(context.Background(), p.root, []string{k.Path})
			f, ok := fps[k.Path]
			if !ok {
				p.t.Fatalf("record: %s does not exist", k.Path)
			}
			if !strings.HasSuffix(k.Path, ".py") {
				f.Parts = nil
			}
			rec.Message(0, &protocol.Message{Type: protocol.TypeFingerprint, Fingerprint: &f})
		}
		rec.Message(0, &protocol.Message{Type: protocol.TypeDeps, ID: id, Keys: deps[id]})
		o := outcomes[id]
		if o == "" {
			o = result.Passed
		}
		run.Tests = append(run.Tests, &result.Test{NodeID: id, Outcome: o})
	}
	return rec.Fold(old, run, true, EnvFiles(p.root))
}

func (p *project) choose(s *Store, git Git, rev string, ids ...string) Selection {
	p.t.Helper()
	tests := make([]protocol.TestInfo, len(ids))
	for i, id := range ids {
		tests[i] = protocol.TestInfo{ID: id}
	}
	sel, err := Select(context.Background(), Input{Store: s, Root: p.root, Rev: rev, RevGiven: rev != "", Tests: tests,
		Git: git, FP: &fakeFP{}, Python: "3.11.2", Pytest: "7.2.1", Env: EnvFiles(p.root)})
	if err != nil {
		p.t.Fatalf("Select: %v", err)
	}
	return sel
}

func kept(sel Selection, ids ...string) []string {
	var out []string
	for i, k := range sel.Keep {
		if k {
			out = append(out, ids[i])
		}
	}
	return out
}

func key(path, part string) protocol.DepKey { return protocol.DepKey{Path: path, Part: part} }

const (
	testA = "tests/test_a.py::test_price"
	testB = "tests/test_a.py::test_tax"
	testC = "tests/test_c.py::test_render"
)

var baseFiles = map[string]string{
	"shop/price.py":     "RATE = 2\ndef price():\n    return 1\ndef tax():\n    return 2\n",
	"shop/page.txt":     "hello {name}\n",
	"tests/test_a.py":   "def test_price():\n    pass\ndef test_tax():\n    pass\n",
	"tests/test_c.py":   "def test_render():\n    pass\n",
	"tests/conftest.py": "",
	"pytest.ini":        "[pytest]\n",
}

var baseDeps = map[string][]protocol.DepKey{
	testA: {key("tests/test_a.py", "test_price"), key("shop/price.py", "price"), key("shop/price.py", protocol.PartModule)},
	testB: {key("tests/test_a.py", "test_tax"), key("shop/price.py", "tax"), key("shop/price.py", protocol.PartModule)},
	testC: {key("tests/test_c.py", "test_render"), key("shop/page.txt", "")},
}

// Each rule of --affected, on records made without git: only the records
// say what changed.
func TestSelectRules(t *testing.T) {
	ids := []string{testA, testB, testC}
	for _, tc := range []struct {
		name     string
		edit     func(p *project)
		outcomes map[string]result.Outcome
		extra    []string // tests collected now that have no record
		want     []string
		all      string // the reason every test runs, or ""
	}{
		{name: "nothing changed", edit: func(*project) {}, want: nil},
		{name: "a function body", edit: func(p *project) {
			p.write("shop/price.py", "RATE = 2\ndef price():\n    return 100\ndef tax():\n    return 2\n")
		}, want: []string{testA}},
		{name: "an edit elsewhere in the file", edit: func(p *project) {
			p.write("shop/price.py", "RATE = 2\ndef price():\n    return 1\ndef tax():\n    return 2\ndef unused():\n    return 3\n")
		}, want: nil},
		{name: "module-level code", edit: func(p *project) {
			p.write("shop/price.py", "RATE = 3\ndef price():\n    return 1\ndef tax():\n    return 2\n")
		}, want: []string{testA, testB}},
		{name: "a data file a test opened", edit: func(p *project) {
			p.write("shop/page.txt", "hi {name}\n")
		}, want: []string{testC}},
		{name: "the test file", edit: func(p *project) {
			p.write("tests/test_c.py", "def test_render():\n    pass\n# more\n")
		}, want: []string{testC}},
		{name: "failed last time", edit: func(*project) {}, outcomes: map[string]result.Outcome{testB: result.Failed, testC: result.Crashed},
			want: []string{testB, testC}},
		{name: "new test", edit: func(*project) {}, extra: []string{"tests/test_d.py::test_new"},
			want: []string{"tests/test_d.py::test_new"}},
		{name: "conftest", edit: func(p *project) { p.write("tests/conftest.py", "import os\n") },
			all: "tests/conftest.py changed"},
		{name: "a new requirements file", edit: func(p *project) { p.write("requirements.txt", "attrs\n") },
			all: "requirements.txt changed"},
		{name: "pytest.ini", edit: func(p *project) { p.write("pytest.ini", "[pytest]\naddopts = -q\n") },
			all: "pytest.ini changed"},
		{name: "a dependency deleted", edit: func(p *project) { os.Remove(filepath.Join(p.root, "shop/page.txt")) },
			all: "shop/page.txt, which tests depend on, was deleted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProject(t, baseFiles)
			s := p.record(nil, baseDeps, tc.outcomes)
			tc.edit(p)
			all := append(append([]string{}, ids...), tc.extra...)
			sel := p.choose(s, nil, "", all...)
			if tc.all != "" {
				if !sel.All || sel.Why != tc.all || len(kept(sel, all...)) != len(all) {
					t.Errorf("all %v why %q kept %v; want all tests, because %q", sel.All, sel.Why, kept(sel, all...), tc.all)
				}
				return
			}
			if sel.All {
				t.Fatalf("every test runs: %s", sel.Why)
			}
			if got := kept(sel, all...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("kept %v, want %v (reasons %v)", got, tc.want, sel.Reasons)
			}
		})
	}
}

func TestSelectWithoutRecords(t *testing.T) {
	p := newProject(t, baseFiles)
	sel := p.choose(nil, nil, "", testA, testB)
	if !sel.All || !strings.Contains(sel.Why, "no dependency records yet") || len(kept(sel, testA, testB)) != 2 {
		t.Errorf("without records: all %v why %q", sel.All, sel.Why)
	}
}

// A test that did not run keeps its record; one that ran again gets its
// new one; one that ran without telling its dependencies loses it and so
// runs next time.
func TestFoldKeepsAndReplaces(t *testing.T) {
	p := newProject(t, baseFiles)
	s := p.record(nil, baseDeps, nil)
	p.write("shop/page.txt", "changed\n")
	rec := NewRecorder()
	f := protocol.Fingerprint{Path: "shop/page.txt", SHA: fileSHA(filepath.Join(p.root, "shop/page.txt"))}
	rec.Message(1, &protocol.Message{Type: protocol.TypeFingerprint, Fingerprint: &f})
	rec.Message(1, &protocol.Message{Type: protocol.TypeDeps, ID: testC, Keys: []protocol.DepKey{key("shop/page.txt", "")}})
	run := &result.Run{Info: result.Info{Python: "3.11.2", Pytest: "7.2.1"}, Tests: []*result.Test{
		{NodeID: testC, Outcome: result.Failed},
		{NodeID: testB, Outcome: result.Crashed},
		{NodeID: testA, Outcome: result.NotRun},
	}}
	s2 := rec.Fold(s, run, true, EnvFiles(p.root))
	if err := s2.Save(p.root); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p.root)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Tests[testB]; ok {
		t.Errorf("a crashed test without dependencies kept its record: %+v", got.Tests[testB])
	}
	if r := got.Tests[testC]; r.Outcome != "failed" || len(r.Deps) != 1 || got.Entries[r.Deps[0]].FileSHA != f.SHA {
		t.Errorf("test_render's record %+v, want failed with the new page.txt", r)
	}
	if r := got.Tests[testA]; r.Outcome != "passed" || len(r.Deps) != 3 {
		t.Errorf("a test that did not run lost its record: %+v", r)
	}
	// Nothing changed since: only the failed test runs, and the test
	// without a record.
	sel := p.choose(got, nil, "", testA, testB, testC)
	if k := kept(sel, testA, testB, testC); !reflect.DeepEqual(k, []string{testB, testC}) {
		t.Errorf("kept %v, want the unrecorded and the failed test", k)
	}
}

func TestLoadRefusesBadStore(t *testing.T) {
	dir := t.TempDir()
	if s, err := Load(dir); s != nil || err != nil {
		t.Fatalf("no store: %v %v", s, err)
	}
	path := filepath.Join(dir, StorePath)
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte(`{"version":1,"entries":[],"tests":{"t":{"o":"passed","d":[3]}}}`), 0o644)
	if _, err := Load(dir); err == nil {
		t.Error("a record naming a missing entry was accepted")
	}
	os.WriteFile(path, []byte(`{"version":99}`), 0o644)
	if s, err := Load(dir); s != nil || err != nil {
		t.Errorf("another version's store: %v %v, want none", s, err)
	}
}

func TestMisses(t *testing.T) {
	p := newProject(t, baseFiles)
	s := p.record(nil, baseDeps, map[string]result.Outcome{testB: result.Skipped})
	sel := Selection{Keep: []bool{true, false, false}}
	tests := []protocol.TestInfo{{ID: testA}, {ID: testB}, {ID: testC}}
	run := &result.Run{Tests: []*result.Test{
		{NodeID: testA, Outcome: result.Failed},
		{NodeID: testB, Outcome: result.Skipped},
		{NodeID: testC, Outcome: result.Failed},
	}}
	got := Misses(sel, tests, s, run)
	want := []result.Miss{{NodeID: testC, Was: result.Passed, Now: result.Failed}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("misses %+v, want %+v", got, want)
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// Against a revision, a change counts even when the records were made
// after it: --affected main runs what the branch changed.
func TestSelectSinceRevision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	p := newProject(t, baseFiles)
	git(t, p.root, "init", "-q")
	git(t, p.root, "add", "-A")
	git(t, p.root, "commit", "-qm", "base")
	git(t, p.root, "tag", "base")
	p.write("shop/price.py", "RATE = 2\ndef price():\n    return 1\ndef tax():\n    return 3\n")
	p.write("notes.md", "untracked\n")
	git(t, p.root, "commit", "-qam", "tax")
	s := p.record(nil, baseDeps, nil) // recorded after the change
	ids := []string{testA, testB, testC}

	if k := kept(p.choose(s, ExecGit{}, "", ids...), ids...); k != nil {
		t.Errorf("since HEAD: kept %v, want none", k)
	}
	sel := p.choose(s, ExecGit{}, "base", ids...)
	if k := kept(sel, ids...); !reflect.DeepEqual(k, []string{testB}) {
		t.Errorf("since base: kept %v, want test_tax (reasons %v)", k, sel.Reasons)
	}
	if !reflect.DeepEqual(sel.Changed, []string{"notes.md", "shop/price.py"}) {
		t.Errorf("changed %v", sel.Changed)
	}
	// Uncommitted: a data file.
	p.write("shop/page.txt", "new\n")
	if k := kept(p.choose(s, ExecGit{}, "", ids...), ids...); !reflect.DeepEqual(k, []string{testC}) {
		t.Errorf("uncommitted page.txt: kept %v, want test_render", k)
	}
	_, err := Select(context.Background(), Input{Store: s, Root: p.root, Rev: "nosuchrev", RevGiven: true,
		Tests: []protocol.TestInfo{{ID: testA}}, Git: ExecGit{}, FP: &fakeFP{}})
	if err == nil || !strings.Contains(err.Error(), `"nosuchrev" is not a commit`) {
		t.Errorf("unknown revision: %v", err)
	}
	// ExecGit.Show of a file that did not exist at the revision.
	if _, err := (ExecGit{}).Show(context.Background(), p.root, "base", "notes.md"); err != fs.ErrNotExist {
		t.Errorf("Show of a file new since base: %v", err)
	}
}

// The header names the files whose change chose a test, not those that
// changed only where no test looks.
func TestSelectChangedNamesWhatCounts(t *testing.T) {
	p := newProject(t, baseFiles)
	s := p.record(nil, baseDeps, nil)
	p.write("shop/price.py", "RATE = 2\ndef price():\n    return 1\ndef tax():\n    return 2\ndef unused():\n    return 3\n")
	if sel := p.choose(s, nil, "", testA, testB, testC); len(sel.Changed) != 0 {
		t.Errorf("an edit no test depends on: changed %v, want none", sel.Changed)
	}
	p.write("shop/page.txt", "new\n")
	if sel := p.choose(s, nil, "", testA, testB, testC); !reflect.DeepEqual(sel.Changed, []string{"shop/page.txt"}) {
		t.Errorf("changed %v, want shop/page.txt alone", sel.Changed)
	}
}
