package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestIsQueueReport(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--queue", "redis://h/0", "--run-id", "x"}, true},
		{[]string{"--run-id=x"}, true},
		{[]string{"-q", "--queue=redis://h/0"}, true},
		{[]string{"merge", "a.json"}, false},
		{[]string{"--", "--queue"}, false},
		{[]string{"tests/"}, false},
	} {
		if got := isQueueReport(tc.args); got != tc.want {
			t.Errorf("isQueueReport(%q) = %v", tc.args, got)
		}
	}
}

func TestReportQueueUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--run-id", "x"}, "--queue URL (or HERD_QUEUE) is needed"},
		{[]string{"--queue", "redis://h/0"}, "--run-id expects an id"},
		{[]string{"--queue", "h:1", "--run-id", "x"}, "--queue expects a Redis URL"},
		{[]string{"--queue", "redis://h/0", "--run-id", "x", "--wait", "soon"}, "--wait expects a duration"},
		{[]string{"--queue", "redis://h/0", "--run-id", "x", "stray"}, "unexpected argument stray"},
		{[]string{"--queue", "redis://h/0", "--run-id", "x", "--bogus"}, "unknown option --bogus"},
	} {
		var out, errOut bytes.Buffer
		code := exitCodeOf(reportQueueMain(tc.args, &out, &errOut, func(string) string { return "" }), &errOut)
		if code != exitUsage || !strings.HasPrefix(errOut.String(), "herd report: ") || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 4 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
	var out bytes.Buffer
	if code := exitCodeOf(reportQueueMain([]string{"--help"}, &out, &out, nil), &out); code != exitOK || !strings.Contains(out.String(), "--wait DURATION") {
		t.Errorf("--help: exit %d\n%s", code, out.String())
	}
}
