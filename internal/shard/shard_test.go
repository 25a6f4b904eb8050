package shard

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/schedule"
)

// suite is a generated test suite.
type suite struct {
	name  string
	tests []protocol.TestInfo
	pols  []schedule.Policy
	durs  map[string]time.Duration
}

// genSuite makes modules modules of up to perModule tests; some tests are
// in groups (some spanning modules), and with durations most tests have a
// recorded duration, a few very long.
func genSuite(seed int64, modules, perModule int, groups, durations bool) suite {
	r := rand.New(rand.NewSource(seed))
	s := suite{name: fmt.Sprintf("seed%d/m%d/g%v/d%v", seed, modules, groups, durations), durs: map[string]time.Duration{}}
	for m := 0; m < modules; m++ {
		n := 1 + r.Intn(perModule)
		for k := 0; k < n; k++ {
			id := fmt.Sprintf("tests/test_m%02d.py::test_%d", m, k)
			if k%5 == 4 {
				id = fmt.Sprintf("tests/test_m%02d.py::TestC::test_p[%d-x]", m, k)
			}
			var pol schedule.Policy
			switch x := r.Intn(20); {
			case groups && x == 0:
				pol = schedule.Policy{Kind: schedule.Group, Group: fmt.Sprintf("db%d", r.Intn(3))}
			case groups && x == 1:
				pol = schedule.Policy{Kind: schedule.Group, Group: fmt.Sprintf("mod%d", m)}
			case x == 2:
				pol = schedule.Policy{Kind: schedule.Exclusive}
			case x == 3:
				pol = schedule.Policy{Kind: schedule.Isolated}
			}
			s.tests = append(s.tests, protocol.TestInfo{ID: id, File: fmt.Sprintf("tests/test_m%02d.py", m)})
			s.pols = append(s.pols, pol)
			if durations && r.Intn(10) != 0 {
				d := time.Duration(1+r.Intn(2000)) * time.Millisecond
				if r.Intn(50) == 0 {
					d = time.Duration(5+r.Intn(30)) * time.Second
				}
				s.durs[id] = d
			}
		}
	}
	return s
}

func suites() []suite {
	var out []suite
	for seed := int64(1); seed <= 4; seed++ {
		for _, g := range []bool{false, true} {
			for _, d := range []bool{false, true} {
				out = append(out,
					genSuite(seed, 3, 6, g, d),   // few modules: test units
					genSuite(seed, 40, 30, g, d), // many modules: module units
				)
			}
		}
	}
	out = append(out, suite{name: "empty"}, genSuite(9, 1, 2, false, false))
	return out
}

// weightOf is the weight Split gives a test: its duration, else the median
// of the known ones, else one second.
func weightOf(s suite) func(string) time.Duration {
	var known []time.Duration
	for _, t := range s.tests {
		if d := s.durs[t.ID]; d > 0 {
			known = append(known, d)
		}
	}
	med := time.Second
	if len(known) > 0 {
		for i := range known {
			for j := i + 1; j < len(known); j++ {
				if known[j] < known[i] {
					known[i], known[j] = known[j], known[i]
				}
			}
		}
		m := len(known) / 2
		med = known[m]
		if len(known)%2 == 0 {
			med = (known[m-1] + known[m]) / 2
		}
	}
	return func(id string) time.Duration {
		if d := s.durs[id]; d > 0 {
			return d
		}
		return med
	}
}

func TestSplitCoversEveryTestOnce(t *testing.T) {
	for _, s := range suites() {
		for n := 1; n <= 7; n++ {
			p := Split(s.tests, s.pols, s.durs, n)
			in := map[string]int{}
			for k := 1; k <= n; k++ {
				for i, keep := range p.Select(k) {
					if keep {
						in[s.tests[i].ID]++
					}
				}
			}
			for _, tc := range s.tests {
				if in[tc.ID] != 1 {
					t.Errorf("%s N=%d: %s is in %d parts, want 1", s.name, n, tc.ID, in[tc.ID])
				}
			}
			if len(in) != len(s.tests) {
				t.Errorf("%s N=%d: parts hold %d tests, the selection %d", s.name, n, len(in), len(s.tests))
			}
			total := 0
			for _, c := range p.Counts {
				total += c
			}
			if total != len(s.tests) {
				t.Errorf("%s N=%d: counts add up to %d, want %d", s.name, n, total, len(s.tests))
			}
		}
	}
}

func TestSplitKeepsGroupsAndModulesTogether(t *testing.T) {
	byModule, byTest := 0, 0
	defer func() {
		if byModule == 0 || byTest == 0 {
			t.Errorf("%d splits by module, %d by test: the suites should exercise both", byModule, byTest)
		}
	}()
	for _, s := range suites() {
		for n := 1; n <= 7; n++ {
			p := Split(s.tests, s.pols, s.durs, n)
			if p.ByModule {
				byModule++
			} else {
				byTest++
			}
			groupPart := map[string]int{}
			for i, pol := range s.pols {
				if pol.Kind != schedule.Group {
					continue
				}
				if g, ok := groupPart[pol.Group]; ok && g != p.Part[i] {
					t.Errorf("%s N=%d: group %s is split across parts %d and %d", s.name, n, pol.Group, g, p.Part[i])
				}
				groupPart[pol.Group] = p.Part[i]
			}
			if !p.ByModule {
				continue
			}
			w := weightOf(s)
			modW := map[string]time.Duration{}
			var total time.Duration
			for _, tc := range s.tests {
				modW[Module(tc.ID)] += w(tc.ID)
				total += w(tc.ID)
			}
			modPart := map[string]int{}
			for i, tc := range s.tests {
				m := Module(tc.ID)
				if modW[m] > total/time.Duration(n) {
					continue // a heavy module is spread
				}
				if g, ok := modPart[m]; ok && g != p.Part[i] {
					t.Errorf("%s N=%d: module %s is split across parts %d and %d", s.name, n, m, g, p.Part[i])
				}
				modPart[m] = p.Part[i]
			}
		}
	}
}

func TestSplitBalance(t *testing.T) {
	for _, s := range suites() {
		w := weightOf(s)
		var total time.Duration
		for _, tc := range s.tests {
			total += w(tc.ID)
		}
		for n := 1; n <= 7; n++ {
			p := Split(s.tests, s.pols, s.durs, n)
			loads := make([]time.Duration, n)
			for i, tc := range s.tests {
				loads[p.Part[i]] += w(tc.ID)
			}
			if !reflect.DeepEqual(loads, p.Loads) {
				t.Errorf("%s N=%d: loads %v, recomputed %v", s.name, n, p.Loads, loads)
			}
			ideal := float64(total) / float64(n)
			for k, l := range loads {
				if diff := float64(l) - ideal; diff > float64(p.MaxUnit) || -diff > float64(p.MaxUnit) {
					t.Errorf("%s N=%d: part %d weighs %v, ideal %v, more than the heaviest unit (%v) away",
						s.name, n, k+1, l, time.Duration(ideal), p.MaxUnit)
				}
			}
		}
	}
}

func TestSplitIsDeterministic(t *testing.T) {
	for _, s := range suites() {
		for n := 1; n <= 7; n++ {
			a := Split(s.tests, s.pols, s.durs, n)
			b := Split(s.tests, s.pols, s.durs, n)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s N=%d: two splits of the same input differ", s.name, n)
			}
			want := map[string]int{}
			for i, tc := range s.tests {
				want[tc.ID] = a.Part[i]
			}
			for seed := int64(0); seed < 5; seed++ {
				perm := rand.New(rand.NewSource(seed)).Perm(len(s.tests))
				tests := make([]protocol.TestInfo, len(s.tests))
				pols := make([]schedule.Policy, len(s.tests))
				for i, j := range perm {
					tests[i], pols[i] = s.tests[j], s.pols[j]
				}
				c := Split(tests, pols, s.durs, n)
				for i, tc := range tests {
					if c.Part[i] != want[tc.ID] {
						t.Fatalf("%s N=%d perm %d: %s in part %d, in collection order %d", s.name, n, seed, tc.ID, c.Part[i], want[tc.ID])
					}
				}
				if c.Fingerprint != a.Fingerprint || !reflect.DeepEqual(c.Loads, a.Loads) {
					t.Errorf("%s N=%d perm %d: fingerprint %s loads %v, in collection order %s %v", s.name, n, seed, c.Fingerprint, c.Loads, a.Fingerprint, a.Loads)
				}
			}
		}
	}
}

func TestSplitMoreShardsThanTests(t *testing.T) {
	tests := []protocol.TestInfo{{ID: "a.py::t1"}, {ID: "a.py::t2"}, {ID: "b.py::t3"}}
	p := Split(tests, nil, nil, 5)
	empty := 0
	for _, c := range p.Counts {
		if c == 0 {
			empty++
		}
	}
	if empty != 2 {
		t.Errorf("counts %v, want 3 parts of one test and 2 empty", p.Counts)
	}
	for k := 1; k <= 5; k++ {
		n := 0
		for _, keep := range p.Select(k) {
			if keep {
				n++
			}
		}
		if n != p.Counts[k-1] {
			t.Errorf("part %d selects %d tests, counts say %d", k, n, p.Counts[k-1])
		}
	}
}

func TestSplitUsesDurations(t *testing.T) {
	// One long test and nine short ones: the long one is alone.
	var tests []protocol.TestInfo
	durs := map[string]time.Duration{}
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("t.py::test_%d", i)
		tests = append(tests, protocol.TestInfo{ID: id})
		durs[id] = time.Second
	}
	durs["t.py::test_3"] = 9 * time.Second
	p := Split(tests, nil, durs, 2)
	if p.Counts[p.Part[3]] != 1 {
		t.Errorf("the 9s test shares its part with %d others; parts %v", p.Counts[p.Part[3]]-1, p.Part)
	}
	if p.Loads[0] != 9*time.Second || p.Loads[1] != 9*time.Second {
		t.Errorf("loads %v, want 9s and 9s", p.Loads)
	}
	// Unknown tests weigh the median of the known ones.
	delete(durs, "t.py::test_0")
	p = Split(tests, nil, durs, 1)
	if p.Known != 9 || p.Loads[0] != 18*time.Second {
		t.Errorf("known %d, load %v; want 9 known and 8×1s + 9s + the median 1s = 18s", p.Known, p.Loads[0])
	}
}

func TestParseSpec(t *testing.T) {
	for _, ok := range []struct {
		in   string
		k, n int
	}{{"1/1", 1, 1}, {"2/4", 2, 4}, {"7/7", 7, 7}} {
		s, err := ParseSpec(ok.in)
		if err != nil || s.K != ok.k || s.N != ok.n {
			t.Errorf("ParseSpec(%q) = %v, %v", ok.in, s, err)
		}
	}
	for _, bad := range []string{"", "3", "0/3", "4/3", "1/0", "a/b", "1/3/4", "-1/3", "1.5/3"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}

func TestDurationsFiles(t *testing.T) {
	a, err := ParseDurations([]byte(`{"t.py::a": 1.5, "t.py::b": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseDurations([]byte(`[["t.py::b", 3.25], ["t.py::c", 0.5]]`))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteDurations(&out, MergeDurations(a, b)); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"t.py::a\": 1.5,\n  \"t.py::b\": 3.25,\n  \"t.py::c\": 0.5\n}\n"
	if out.String() != want {
		t.Errorf("merged:\n%s\nwant:\n%s", out.String(), want)
	}
	for _, bad := range []string{`{"a": "x"}`, `[1, 2]`, `nope`, `[["a"]]`} {
		if _, err := ParseDurations([]byte(bad)); err == nil || !strings.Contains(err.Error(), "durations") {
			t.Errorf("ParseDurations(%s) = %v, want an error", bad, err)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "d.json")
	os.WriteFile(good, []byte(`{"a.py::t1": 1.5, "a.py::t2": 0, "a.py::t3": -2, "a.py::t4": 0.25}`), 0o644)
	d, err := LoadFile(good)
	want := map[string]time.Duration{"a.py::t1": 1500 * time.Millisecond, "a.py::t4": 250 * time.Millisecond}
	if err != nil || !reflect.DeepEqual(d, want) {
		t.Errorf("LoadFile = %v, %v; want %v (durations that are not positive left out)", d, err, want)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want os.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"a.py::t1": "slow"}`), 0o644)
	if _, err := LoadFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a bad file: %v, want an error naming it", err)
	}
	// .test_durations: none is no error, and nil.
	if d, err := LoadPytestSplit(dir); d != nil || err != nil {
		t.Errorf("LoadPytestSplit without .test_durations = %v, %v; want nil, nil", d, err)
	}
	os.WriteFile(filepath.Join(dir, PytestSplitFile), []byte(`[["a.py::t1", 2]]`), 0o644)
	if d, err := LoadPytestSplit(dir); err != nil || d["a.py::t1"] != 2*time.Second {
		t.Errorf("LoadPytestSplit = %v, %v; want a.py::t1 2s", d, err)
	}
}
