package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/schedule"
)

// PolicyRules map markers and nodeid globs to scheduling policies. The
// defaults need no configuration: serial and parallel_unsafe mean exclusive,
// isolated means isolated, and xdist_group(name=...) means group NAME with
// limit 1. [tool.herd] in pyproject.toml, or a herd.toml, changes them.
type PolicyRules struct {
	markers map[string]rule
	globs   []globRule
	limits  map[string]int
	// xdistGroup is false when [tool.herd.markers] xdist_group = "none".
	xdistGroup bool
}

type rule struct {
	kind  schedule.Kind
	group string
}

type globRule struct {
	pattern string
	re      *regexp.Regexp
	file    bool // the pattern names files: it is matched against the path part
	rule    rule
}

// DefaultPolicyRules returns the rules that apply with no configuration.
func DefaultPolicyRules() *PolicyRules {
	return &PolicyRules{
		markers: map[string]rule{
			"serial":          {kind: schedule.Exclusive},
			"parallel_unsafe": {kind: schedule.Exclusive},
			"isolated":        {kind: schedule.Isolated},
		},
		limits:     map[string]int{},
		xdistGroup: true,
	}
}

// herdTable is the [tool.herd] table (or the top level of herd.toml).
type herdTable struct {
	Markers map[string]string         `toml:"markers"`
	Nodeids map[string]string         `toml:"nodeids"`
	Groups  map[string]toml.Primitive `toml:"groups"`
}

// LoadPolicyRules reads [tool.herd] from rootdir's pyproject.toml, then
// herd.toml (whose settings win), on top of the defaults. A file that is
// absent is no error; a file that does not parse, or names an unknown policy,
// is a *UsageError naming the file and the key.
func LoadPolicyRules(rootdir string) (*PolicyRules, error) {
	r := DefaultPolicyRules()
	for _, name := range []string{"pyproject.toml", "herd.toml"} {
		path := filepath.Join(rootdir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, usage("herd: cannot read %s: %v", path, err)
		}
		var doc struct {
			Tool struct {
				Herd herdTable `toml:"herd"`
			} `toml:"tool"`
			herdTable
		}
		md, err := toml.Decode(string(b), &doc)
		if err != nil {
			return nil, usage("herd: %s is not valid TOML: %s", path, oneLine(err.Error()))
		}
		tables := []herdTable{doc.Tool.Herd}
		if name == "herd.toml" {
			tables = append(tables, doc.herdTable)
		}
		for _, t := range tables {
			if err := r.apply(path, t, md); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (r *PolicyRules) apply(path string, t herdTable, md toml.MetaData) error {
	for _, name := range sortedKeys(t.Markers) {
		v := t.Markers[name]
		ru, none, err := parsePolicy(v)
		if err != nil {
			return usage("herd: %s: markers.%s: %v", path, name, err)
		}
		if name == "xdist_group" {
			if !none {
				return usage("herd: %s: markers.xdist_group can only be \"none\" (its group name comes from the marker)", path)
			}
			r.xdistGroup = false
			continue
		}
		if none {
			delete(r.markers, name)
			continue
		}
		if ru.kind == schedule.Group && ru.group == "" {
			ru.group = name
		}
		r.markers[name] = ru
	}
	for _, pattern := range sortedKeys(t.Nodeids) {
		ru, none, err := parsePolicy(t.Nodeids[pattern])
		if err != nil {
			return usage("herd: %s: nodeids.%q: %v", path, pattern, err)
		}
		// A later file's setting for the same pattern replaces the earlier.
		kept := r.globs[:0]
		for _, g := range r.globs {
			if g.pattern != pattern {
				kept = append(kept, g)
			}
		}
		r.globs = kept
		if none {
			continue
		}
		if ru.kind == schedule.Group && ru.group == "" {
			return usage("herd: %s: nodeids.%q: a group needs a name: \"group:NAME\"", path, pattern)
		}
		r.globs = append(r.globs, globRule{pattern: pattern, re: globRE(pattern), file: !strings.Contains(pattern, "::"), rule: ru})
	}
	for name, prim := range t.Groups {
		var n int
		if err := md.PrimitiveDecode(prim, &n); err != nil || n < 1 {
			return usage("herd: %s: groups.%s: the limit must be a whole number >= 1", path, name)
		}
		r.limits[name] = n
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parsePolicy reads "exclusive", "isolated", "group", "group:NAME" or
// "none".
func parsePolicy(v string) (rule, bool, error) {
	switch {
	case v == "exclusive":
		return rule{kind: schedule.Exclusive}, false, nil
	case v == "isolated":
		return rule{kind: schedule.Isolated}, false, nil
	case v == "none" || v == "normal":
		return rule{}, true, nil
	case v == "group":
		return rule{kind: schedule.Group}, false, nil
	case strings.HasPrefix(v, "group:") && len(v) > len("group:"):
		return rule{kind: schedule.Group, group: v[len("group:"):]}, false, nil
	}
	return rule{}, false, fmt.Errorf("unknown policy %q (want exclusive, isolated, group:NAME or none)", v)
}

// globRE turns a nodeid glob into a regexp: * matches any run of characters
// ("/" and "::" included), ? one character.
func globRE(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// For returns the policy of one collected test: the strongest of those its
// nodeid globs, its markers and its xdist_group give (exclusive, then
// isolated, then group).
func (r *PolicyRules) For(ti protocol.TestInfo) schedule.Policy {
	var best rule
	consider := func(ru rule) {
		if ru.kind > best.kind {
			best = ru
		}
	}
	file := ti.ID
	if i := strings.Index(file, "::"); i >= 0 {
		file = file[:i]
	}
	for _, g := range r.globs {
		subject := ti.ID
		if g.file {
			subject = file
		}
		if g.re.MatchString(subject) {
			consider(g.rule)
		}
	}
	for _, m := range ti.Markers {
		if ru, ok := r.markers[m]; ok {
			consider(ru)
		}
	}
	if ti.Group != "" && r.xdistGroup {
		consider(rule{kind: schedule.Group, group: ti.Group})
	}
	pol := schedule.Policy{Kind: best.kind, Group: best.group}
	if pol.Kind == schedule.Group {
		pol.Limit = r.limits[pol.Group]
		if pol.Limit < 1 {
			pol.Limit = 1
		}
	}
	return pol
}
