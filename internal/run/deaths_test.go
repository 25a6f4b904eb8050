package run_test

import (
	"sort"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
)

// TestDeathCauses checks the words of a WorkerDied event: a death herd
// caused itself says its cause (a timeout, Ctrl-C, a missed deadline),
// a crash has none and keeps "how" in Message.
func TestDeathCauses(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name string
		// setup returns the suite's behaviour and what to do once two
		// tests run.
		setup     func(suite []string) map[string]behave
		then      func(interrupts chan<- struct{}, c *clock)
		timeout   time.Duration
		wantCause func(suite []string) []string
		// wantReason is the reason of the death.
		wantReason result.DeathReason
	}
	for _, tc := range []testCase{
		{
			name:       "timeout",
			setup:      func(ids []string) map[string]behave { return map[string]behave{ids[1]: {hang: true}} },
			timeout:    150 * time.Millisecond,
			wantReason: result.DeathTimeout,
			wantCause: func(ids []string) []string {
				return []string{ids[1] + " timed out after 0.15s: worker killed (SIGKILL after stack dump and SIGTERM)"}
			},
		},
		{
			name:       "crash",
			setup:      func(ids []string) map[string]behave { return map[string]behave{ids[1]: {crash: "SIGSEGV"}} },
			wantCause:  func([]string) []string { return []string{""} },
			wantReason: result.DeathCrash,
		},
		{
			name: "interrupt",
			setup: func(ids []string) map[string]behave {
				gate := make(chan struct{})
				return map[string]behave{ids[0]: {gate: gate}, ids[2]: {gate: gate}}
			},
			then: func(interrupts chan<- struct{}, c *clock) {
				interrupts <- struct{}{}
				time.Sleep(50 * time.Millisecond)
				c.advance(run.InterruptGrace + time.Second)
			},
			// A worker herd killed after Ctrl-C did not die: its test
			// is interrupted, and no death is reported at all.
			wantCause: func(ids []string) []string {
				return nil
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			suite := suiteOf(2, 2)
			ids := make([]string, len(suite))
			for k, ti := range suite {
				ids[k] = ti.ID
			}
			f := &fakeStarter{t: t, suite: suite, behave: tc.setup(ids)}
			s := &sink{}
			c := &clock{}
			interrupts := make(chan struct{}, 1)
			if tc.then != nil {
				go func() {
					waitFor(t, "two running tests", func() bool { return s.count(result.TestStarted) >= 2 })
					tc.then(interrupts, c)
				}()
			}
			_, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s, Now: c.Now, Interrupts: interrupts,
				Timeout: tc.timeout, Diagnose: false})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range s.all() {
				if ev.Kind == result.WorkerDied {
					w := deathWords(ev)
					got = append(got, w.Why)
					if w.Message == "" || ev.Death.Reason != tc.wantReason {
						t.Errorf("WorkerDied with death %+v, want reason %q", ev.Death, tc.wantReason)
					}
					if w.Message == "" {
						t.Errorf("WorkerDied without Message (how it died)")
					}
				}
			}
			sort.Strings(got)
			want := tc.wantCause(ids)
			if len(got) != len(want) {
				t.Fatalf("causes %q, want %q", got, want)
			}
			for k := range want {
				if got[k] != want[k] {
					t.Errorf("cause %q, want %q", got[k], want[k])
				}
			}
		})
	}
}
