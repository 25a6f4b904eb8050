package affected

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/protocol"
)

// gitTimeout bounds one git command: listing the changes of even a large
// repository takes a second or two; a git that hangs (a lock, a prompt)
// must not hang the run.
const gitTimeout = 60 * time.Second

// ExecGit is Git through the git command.
type ExecGit struct{}

func (ExecGit) git(ctx context.Context, root string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", root, "-c", "core.quotepath=off"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, &GitError{Args: args, Msg: msg}
	}
	return out, nil
}

// GitError is a git command that failed; Msg is the first line it wrote.
type GitError struct {
	Args []string
	Msg  string
}

func (e *GitError) Error() string {
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), e.Msg)
}

// Changed lists what differs between rev and the working tree under root:
// the changed files and the untracked ones that are not ignored.
func (g ExecGit) Changed(ctx context.Context, root, rev string) ([]string, error) {
	if _, err := g.git(ctx, root, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return nil, &GitError{Args: []string{"rev-parse", rev}, Msg: fmt.Sprintf("%q is not a commit of the repository at %s", rev, root)}
	}
	diff, err := g.git(ctx, root, "diff", "--name-only", "--no-renames", "--relative", "-z", rev, "--")
	if err != nil {
		return nil, err
	}
	untracked, err := g.git(ctx, root, "ls-files", "--others", "--exclude-standard", "-z")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, b := range [][]byte{diff, untracked} {
		for _, f := range strings.Split(string(b), "\x00") {
			if f != "" && !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// Show returns path's content at rev.
func (g ExecGit) Show(ctx context.Context, root, rev, path string) ([]byte, error) {
	if _, err := g.git(ctx, root, "cat-file", "-e", rev+":./"+path); err != nil {
		return nil, fs.ErrNotExist
	}
	return g.git(ctx, root, "show", rev+":./"+path)
}

// fpTimeout bounds the fingerprinter: parsing even thousands of changed
// files takes seconds.
const fpTimeout = 5 * time.Minute

// PythonFP is the Fingerprinter that runs herd's fingerprint script
// (pyworker.FPName) with the suite's interpreter, so the parts are cut
// exactly as the workers' recorder cuts them.
type PythonFP struct {
	Python, Script string
}

type fpRequest struct {
	Root  string   `json:"root"`
	Files []fpFile `json:"files"`
}

type fpFile struct {
	Path    string `json:"p"`
	Content string `json:"content_b64,omitempty"`
}

type fpAnswer struct {
	Files map[string]struct {
		SHA     string            `json:"sha"`
		Parts   map[string]string `json:"parts"`
		Missing bool              `json:"missing"`
	} `json:"files"`
}

// Current fingerprints the files at paths under root.
func (p PythonFP) Current(ctx context.Context, root string, paths []string) (map[string]protocol.Fingerprint, error) {
	req := fpRequest{Root: root}
	for _, f := range paths {
		req.Files = append(req.Files, fpFile{Path: f})
	}
	return p.run(ctx, req)
}

// Of fingerprints the given contents.
func (p PythonFP) Of(ctx context.Context, root string, contents map[string][]byte) (map[string]protocol.Fingerprint, error) {
	req := fpRequest{Root: root}
	for f, data := range contents {
		req.Files = append(req.Files, fpFile{Path: f, Content: base64.StdEncoding.EncodeToString(data)})
	}
	return p.run(ctx, req)
}

func (p PythonFP) run(ctx context.Context, req fpRequest) (map[string]protocol.Fingerprint, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("fingerprint files: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, fpTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Python, p.Script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		var ee *exec.ExitError
		if msg == "" || !errors.As(err, &ee) {
			msg = err.Error()
		}
		return nil, fmt.Errorf("fingerprint files: %s", msg)
	}
	var ans fpAnswer
	if err := json.Unmarshal(out, &ans); err != nil {
		return nil, fmt.Errorf("fingerprint files: bad answer: %w", err)
	}
	fps := make(map[string]protocol.Fingerprint, len(ans.Files))
	for f, a := range ans.Files {
		if a.Missing {
			continue
		}
		fps[f] = protocol.Fingerprint{Path: f, SHA: a.SHA, Parts: a.Parts}
	}
	return fps, nil
}
