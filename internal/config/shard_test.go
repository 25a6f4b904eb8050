package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/herd-run/herd/internal/config"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		k, n int
		args []string
	}{
		{[]string{"--shard", "2/4", "-k", "x"}, 2, 4, []string{"-k", "x"}},
		{[]string{"--shard=1/1"}, 1, 1, nil},
		{[]string{"tests/", "--shard", "3/3"}, 3, 3, []string{"tests/"}},
		{[]string{"-x"}, 0, 0, nil},
	} {
		c, err := config.Parse(tc.argv, nil)
		if err != nil {
			t.Fatalf("%v: %v", tc.argv, err)
		}
		if c.ShardIndex != tc.k || c.ShardCount != tc.n || !reflect.DeepEqual(c.PytestArgs, tc.args) {
			t.Errorf("%v: shard %d/%d, pytest args %q; want %d/%d, %q", tc.argv, c.ShardIndex, c.ShardCount, c.PytestArgs, tc.k, tc.n, tc.args)
		}
	}
	for _, v := range []string{"0/3", "4/3", "3", "a/b", "1/0", "1/3/4", "", "-1/2", "1/-2"} {
		_, err := config.Parse([]string{"--shard", v}, nil)
		if !errors.Is(err, config.ErrUsage) || !strings.Contains(err.Error(), "--shard expects K/N") || strings.Contains(err.Error(), "\n") {
			t.Errorf("--shard %q: err %v, want a one-line usage error", v, err)
		}
	}
	if _, err := config.Parse([]string{"--shard"}, nil); !errors.Is(err, config.ErrUsage) {
		t.Errorf("--shard without a value: err %v", err)
	}
}

func TestParseDurationsFile(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		file    string
		wantErr string
	}{
		{[]string{"--shard", "1/2", "--durations-file", "ci/durations.json"}, "ci/durations.json", ""},
		{[]string{"--durations-file=d.json", "--shard=2/2", "-k", "x"}, "d.json", ""},
		{[]string{"--shard", "1/2"}, "", ""},
		{[]string{"--durations-file", "d.json"}, "", "--durations-file goes with --shard"},
		{[]string{"--shard", "1/2", "--durations-file="}, "", "--durations-file expects a path"},
		{[]string{"--shard", "1/2", "--durations-file"}, "", "--durations-file expects a value"},
	} {
		c, err := config.Parse(tc.argv, nil)
		if tc.wantErr != "" {
			if !errors.Is(err, config.ErrUsage) || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%q: err %v, want a one-line usage error saying %q", tc.argv, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.argv, err)
		}
		if c.DurationsFile != tc.file {
			t.Errorf("%q: durations file %q, want %q", tc.argv, c.DurationsFile, tc.file)
		}
		for _, a := range c.PytestArgs {
			if strings.HasPrefix(a, "--durations-file") {
				t.Errorf("%q: --durations-file went to pytest: %q", tc.argv, c.PytestArgs)
			}
		}
	}
}
