// Package wheel writes Python wheels (PEP 427, the binary distribution
// format) without Python: a zip holding the files, the .data directory's
// scripts, and the .dist-info directory's METADATA, WHEEL, entry points and
// RECORD (every file with its sha256 and size).
//
// What it writes is reproducible: the entries are in a fixed order, every
// one carries the same timestamp (Epoch), and the mode bits come from the
// File, not from any file system.
package wheel

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/version"
)

// Epoch is the timestamp of every entry: the zip format's earliest date
// (1980-01-01), plus a day so that no time zone takes it below that.
var Epoch = time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC)

// File is one file of the wheel.
type File struct {
	// Path is the file's path in the wheel (package files), or in the
	// scheme's directory (scripts: "herd" is installed as bin/herd).
	// Slash-separated, relative, without "." or ".." elements.
	Path string
	Data []byte
	// Mode is the file's permission bits: 0o755 for an executable, 0o644
	// otherwise (zero means 0o644).
	Mode fs.FileMode
}

// Metadata is the core metadata (METADATA, Metadata-Version 2.1).
type Metadata struct {
	Name           string // the distribution's name, e.g. "pytest-herd"
	Version        string // a canonical PEP 440 version
	Summary        string // one line
	License        string
	RequiresPython string // e.g. ">=3.7"
	Classifiers    []string
	// ProjectURLs are label, URL pairs ("Source", "https://...").
	ProjectURLs [][2]string
	Keywords    []string
	Author      string
	// Description is the long description (the body of METADATA), in
	// DescriptionContentType (default text/markdown).
	Description            string
	DescriptionContentType string
}

// Wheel is what goes into one wheel.
type Wheel struct {
	Meta Metadata
	// Python and ABI are the first two parts of the wheel's tags
	// ("py3", "none"); Platforms the third, one or more
	// ("manylinux_2_17_x86_64", "manylinux2014_x86_64"): the wheel
	// carries every combination.
	Python, ABI string
	Platforms   []string
	// Files are installed in the environment's site-packages (purelib).
	Files []File
	// Scripts are installed in the environment's scripts directory
	// (bin/) as they are: no wrapper is generated for them.
	Scripts []File
	// EntryPoints is entry_points.txt's groups (group -> name -> object
	// reference); nil or empty for no entry_points.txt.
	EntryPoints map[string]map[string]string
	// Generator names what wrote the wheel (WHEEL's Generator).
	Generator string
}

var (
	nameRE     = regexp.MustCompile(`^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$`)
	tagPartRE  = regexp.MustCompile(`^[a-z0-9_]+$`)
	normSepRE  = regexp.MustCompile(`[-_.]+`)
	headerSafe = regexp.MustCompile(`^[^\r\n]*$`)
)

// NormalizedName is the distribution's name as the wheel's file name and
// its .dist-info directory spell it: lower case, runs of "-", "_" and "."
// made one "_" ("pytest-herd" -> "pytest_herd").
func NormalizedName(name string) string {
	return normSepRE.ReplaceAllString(strings.ToLower(name), "_")
}

// Tags are the wheel's tags, one per platform ("py3-none-macosx_11_0_arm64").
func (w *Wheel) Tags() []string {
	var tags []string
	for _, p := range w.Platforms {
		tags = append(tags, w.Python+"-"+w.ABI+"-"+p)
	}
	return tags
}

// Filename is the wheel's file name:
// {name}-{version}-{python}-{abi}-{platform[.platform...]}.whl.
func (w *Wheel) Filename() string {
	return fmt.Sprintf("%s-%s-%s-%s-%s.whl", NormalizedName(w.Meta.Name), w.Meta.Version,
		w.Python, w.ABI, strings.Join(w.Platforms, "."))
}

// DistInfo is the wheel's .dist-info directory ("pytest_herd-0.1.0.dist-info").
func (w *Wheel) DistInfo() string {
	return NormalizedName(w.Meta.Name) + "-" + w.Meta.Version + ".dist-info"
}

// DataDir is the wheel's .data directory ("pytest_herd-0.1.0.data").
func (w *Wheel) DataDir() string {
	return NormalizedName(w.Meta.Name) + "-" + w.Meta.Version + ".data"
}

// check refuses a wheel that would be malformed.
func (w *Wheel) check() error {
	m := w.Meta
	if !nameRE.MatchString(m.Name) {
		return fmt.Errorf("wheel: bad distribution name %q", m.Name)
	}
	if !version.Canonical(m.Version) {
		return fmt.Errorf("wheel: version %q is not a canonical PEP 440 version", m.Version)
	}
	if m.Summary == "" {
		return errors.New("wheel: no summary")
	}
	for _, s := range append([]string{m.Summary, m.License, m.RequiresPython, m.Author, m.DescriptionContentType},
		append(m.Classifiers, m.Keywords...)...) {
		if !headerSafe.MatchString(s) {
			return fmt.Errorf("wheel: metadata value %q has a line break", s)
		}
	}
	for _, u := range m.ProjectURLs {
		if !headerSafe.MatchString(u[0]+u[1]) || strings.Contains(u[0], ",") {
			return fmt.Errorf("wheel: bad project URL %q, %q", u[0], u[1])
		}
	}
	if len(w.Platforms) == 0 {
		return errors.New("wheel: no platform tag")
	}
	for _, p := range append([]string{w.Python, w.ABI}, w.Platforms...) {
		if !tagPartRE.MatchString(p) {
			return fmt.Errorf("wheel: bad tag %q", p)
		}
	}
	seen := map[string]bool{}
	for _, f := range w.entries() {
		if err := checkPath(f.Path); err != nil {
			return err
		}
		if seen[f.Path] {
			return fmt.Errorf("wheel: %s twice", f.Path)
		}
		seen[f.Path] = true
	}
	top := NormalizedName(m.Name) + "-" + m.Version + "."
	for _, f := range w.Files {
		if strings.HasPrefix(f.Path, top) {
			return fmt.Errorf("wheel: %s: in the wheel's own directories", f.Path)
		}
	}
	for group, eps := range w.EntryPoints {
		if !headerSafe.MatchString(group) || strings.ContainsAny(group, "[]") {
			return fmt.Errorf("wheel: bad entry point group %q", group)
		}
		for name, ref := range eps {
			if !headerSafe.MatchString(name+ref) || strings.Contains(name, "=") {
				return fmt.Errorf("wheel: bad entry point %q = %q", name, ref)
			}
		}
	}
	return nil
}

func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || path.Clean(p) != p ||
		p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("wheel: bad path %q", p)
	}
	return nil
}

// entries are the wheel's files in the order they are written, RECORD and
// the other .dist-info files excepted.
func (w *Wheel) entries() []File {
	files := append([]File(nil), w.Files...)
	sort.SliceStable(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	scripts := append([]File(nil), w.Scripts...)
	sort.SliceStable(scripts, func(i, j int) bool { return scripts[i].Path < scripts[j].Path })
	for _, s := range scripts {
		s.Path = w.DataDir() + "/scripts/" + s.Path
		files = append(files, s)
	}
	return files
}

// metadata is the METADATA file.
func (w *Wheel) metadata() []byte {
	m := w.Meta
	var b strings.Builder
	h := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	h("Metadata-Version", "2.1")
	h("Name", m.Name)
	h("Version", m.Version)
	h("Summary", m.Summary)
	h("Keywords", strings.Join(m.Keywords, ","))
	h("Author", m.Author)
	h("License", m.License)
	for _, u := range m.ProjectURLs {
		h("Project-URL", u[0]+", "+u[1])
	}
	for _, c := range m.Classifiers {
		h("Classifier", c)
	}
	h("Requires-Python", m.RequiresPython)
	if m.Description != "" {
		ct := m.DescriptionContentType
		if ct == "" {
			ct = "text/markdown"
		}
		h("Description-Content-Type", ct)
		b.WriteString("\n")
		b.WriteString(m.Description)
		if !strings.HasSuffix(m.Description, "\n") {
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}

// wheelFile is the WHEEL file.
func (w *Wheel) wheelFile() []byte {
	var b strings.Builder
	b.WriteString("Wheel-Version: 1.0\n")
	if w.Generator != "" {
		fmt.Fprintf(&b, "Generator: %s\n", w.Generator)
	}
	b.WriteString("Root-Is-Purelib: true\n")
	for _, t := range w.Tags() {
		fmt.Fprintf(&b, "Tag: %s\n", t)
	}
	return []byte(b.String())
}

// entryPoints is entry_points.txt, or nil when there are none.
func (w *Wheel) entryPoints() []byte {
	var groups []string
	for g, eps := range w.EntryPoints {
		if len(eps) > 0 {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	sort.Strings(groups)
	var b strings.Builder
	for i, g := range groups {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "[%s]\n", g)
		var names []string
		for n := range w.EntryPoints[g] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "%s = %s\n", n, w.EntryPoints[g][n])
		}
	}
	return []byte(b.String())
}

// Hash is RECORD's hash of data: "sha256=" and the digest in URL-safe
// base64 without padding.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// Write writes the wheel to out.
func (w *Wheel) Write(out io.Writer) error {
	if err := w.check(); err != nil {
		return err
	}
	files := w.entries()
	di := w.DistInfo()
	files = append(files,
		File{Path: di + "/METADATA", Data: w.metadata()},
		File{Path: di + "/WHEEL", Data: w.wheelFile()})
	if ep := w.entryPoints(); ep != nil {
		files = append(files, File{Path: di + "/entry_points.txt", Data: ep})
	}
	var record bytes.Buffer
	rw := csv.NewWriter(&record)
	for _, f := range files {
		rw.Write([]string{f.Path, Hash(f.Data), fmt.Sprint(len(f.Data))})
	}
	rw.Write([]string{di + "/RECORD", "", ""})
	rw.Flush()
	if err := rw.Error(); err != nil {
		return err
	}
	files = append(files, File{Path: di + "/RECORD", Data: record.Bytes()})

	zw := zip.NewWriter(out)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, f := range files {
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o644
		}
		fh := &zip.FileHeader{Name: f.Path, Method: zip.Deflate, Modified: Epoch}
		fh.SetMode(mode)
		fw, err := zw.CreateHeader(fh)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.Data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// Verify checks a wheel as an installer would: every entry's data matches
// its zip checksum, and the RECORD of the .dist-info directory named by
// distInfo lists every other entry exactly once with its sha256 and size,
// and itself without either.
func Verify(zr *zip.Reader, distInfo string) error {
	recordPath := distInfo + "/RECORD"
	data := map[string][]byte{}
	var order []string
	for _, f := range zr.File {
		if _, dup := data[f.Name]; dup {
			return fmt.Errorf("%s: twice in the zip", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		b, err := io.ReadAll(rc) // checks the CRC-32 at EOF
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		data[f.Name] = b
		order = append(order, f.Name)
	}
	record, ok := data[recordPath]
	if !ok {
		return fmt.Errorf("no %s", recordPath)
	}
	rows, err := csv.NewReader(bytes.NewReader(record)).ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", recordPath, err)
	}
	listed := map[string]bool{}
	for _, row := range rows {
		if len(row) != 3 {
			return fmt.Errorf("%s: row %q has %d fields, want 3", recordPath, row, len(row))
		}
		name, hash, size := row[0], row[1], row[2]
		if listed[name] {
			return fmt.Errorf("%s: %s listed twice", recordPath, name)
		}
		listed[name] = true
		b, ok := data[name]
		if !ok {
			return fmt.Errorf("%s: lists %s, which is not in the wheel", recordPath, name)
		}
		if name == recordPath {
			if hash != "" || size != "" {
				return fmt.Errorf("%s: its own row is %q, want no hash and no size", recordPath, row)
			}
			continue
		}
		if hash != Hash(b) {
			return fmt.Errorf("%s: %s: hash %s, the data's is %s", recordPath, name, hash, Hash(b))
		}
		if size != fmt.Sprint(len(b)) {
			return fmt.Errorf("%s: %s: size %s, the data's is %d", recordPath, name, size, len(b))
		}
	}
	for _, name := range order {
		if !listed[name] {
			return fmt.Errorf("%s: does not list %s", recordPath, name)
		}
	}
	return nil
}
