package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/herd-run/herd/internal/result"
)

// GitHubAnnotations prints GitHub Actions workflow commands
// (`::error file=...,line=...::...`) for the run's failures, crashes,
// timeouts and errors when the run finishes, so they show on the pull
// request's diff. It is a result.Sink.
type GitHubAnnotations struct {
	w io.Writer
}

// NewGitHubAnnotations returns a sink writing annotations to w.
func NewGitHubAnnotations(w io.Writer) *GitHubAnnotations { return &GitHubAnnotations{w: w} }

// Handle implements result.Sink.
func (g *GitHubAnnotations) Handle(ev result.Event) {
	if ev.Kind != result.RunFinished || ev.Run == nil {
		return
	}
	for _, t := range ev.Run.Tests {
		if !t.Outcome.IsFailure() {
			continue
		}
		word, _ := outcomeWord(t.Outcome)
		var props []string
		if t.File != "" {
			props = append(props, "file="+ghProperty(t.File))
			if t.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", t.Line))
			}
		}
		props = append(props, "title="+ghProperty(word+" "+t.NodeID))
		msg := failureMessage(t)
		if msg == "" {
			msg = word
		}
		if t.Diagnosis != nil && t.Diagnosis.Summary != "" {
			msg += "\n" + t.Diagnosis.Summary
		}
		fmt.Fprintf(g.w, "::error %s::%s\n", strings.Join(props, ","), ghData(msg))
	}
	for _, e := range ev.Run.CollectionErrors {
		fmt.Fprintf(g.w, "::error file=%s,title=%s::%s\n", ghProperty(e.Path), ghProperty("ERROR collecting "+e.Path), ghData(lastLine(e.Message)))
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// ghData escapes a workflow command's message, as the runner expects.
func ghData(s string) string {
	r := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	return r.Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	r := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	return r.Replace(s)
}
