package coverage

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/herd-run/herd/internal/result"
)

func TestOn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--cov"}, true},
		{[]string{"--cov=pkg", "-q"}, true},
		{[]string{"--cov=pkg", "--no-cov"}, false},
		{[]string{"--no-cov", "--cov"}, false},
		{[]string{"--cov-report=term"}, false},
	} {
		if got := On(tc.args); got != tc.want {
			t.Errorf("On(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// Erase removes .coverage and .coverage.* unless --cov-append.
func TestErase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		kept bool
	}{
		{"erased", []string{"--cov"}, false},
		{"appended", []string{"--cov", "--cov-append"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			files := []string{".coverage", ".coverage.host.1", "keep.txt"}
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			Erase(dir, tc.args)
			for _, f := range files {
				_, err := os.Stat(filepath.Join(dir, f))
				if want := tc.kept || f == "keep.txt"; (err == nil) != want {
					t.Errorf("%s exists: %v, want %v", f, err == nil, want)
				}
			}
		})
	}
}

// lostWorkers names each worker process that died once, numbered after its
// first process, from attempts and final results alike.
func TestLostWorkers(t *testing.T) {
	t.Parallel()
	crash := &result.Crash{}
	r := &result.Run{Tests: []*result.Test{
		{NodeID: "a::ok", Worker: "gw0", Process: 1},
		{NodeID: "a::boom", Worker: "gw1", Process: 1, Crash: crash},
		{NodeID: "a::retried", Worker: "gw0", Process: 3, Attempts: []result.Attempt{
			{Worker: "gw1", Process: 1, Crash: crash},
			{Worker: "gw0", Process: 2, Crash: crash},
		}},
		{NodeID: "a::nowhere", Crash: crash},
	}}
	want := []string{"gw1 (died running a::boom)", "gw0 #2 (died running a::retried)"}
	if got := lostWorkers(r); !reflect.DeepEqual(got, want) {
		t.Errorf("lostWorkers = %q, want %q", got, want)
	}
}
