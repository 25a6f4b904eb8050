package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/herd-run/herd/internal/config"
)

func TestSeedEnv(t *testing.T) {
	for _, tc := range []struct {
		argv     []string
		herdSeed string // "" when herd must seed nothing
		runSeed  string // "" when drawn
	}{
		{nil, "", ""},
		{[]string{"--hypothesis-seed=3"}, "", ""},
		{[]string{"--seed", "1234"}, "1234", "1234"},
		{[]string{"--seed=0"}, "0", "0"},
	} {
		cfg, err := config.Parse(tc.argv, nil)
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for _, kv := range seedEnv(cfg) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		if v, ok := env["HERD_SEED"]; !ok || v != tc.herdSeed {
			t.Errorf("%q: HERD_SEED=%q (set: %v), want %q, set so that the environment's cannot leak through", tc.argv, v, ok, tc.herdSeed)
		}
		run := env["HERD_RUN_SEED"]
		if _, err := strconv.ParseUint(run, 10, 32); err != nil {
			t.Errorf("%q: HERD_RUN_SEED=%q, want a 32-bit seed", tc.argv, run)
		}
		if tc.runSeed != "" && run != tc.runSeed {
			t.Errorf("%q: HERD_RUN_SEED=%q, want %q", tc.argv, run, tc.runSeed)
		}
	}
}
