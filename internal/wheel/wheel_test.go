package wheel

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"io/fs"
	"strings"
	"testing"
)

func testWheel() *Wheel {
	return &Wheel{
		Meta: Metadata{
			Name:           "pytest-herd",
			Version:        "1.2.3rc1",
			Summary:        "Run a pytest suite in parallel",
			License:        "Other",
			RequiresPython: ">=3.7",
			Classifiers:    []string{"Framework :: Pytest", "Programming Language :: Python :: 3"},
			ProjectURLs:    [][2]string{{"Source", "https://example.org/herd"}},
			Description:    "# herd\n\nLong text.\n",
		},
		Python:    "py3",
		ABI:       "none",
		Platforms: []string{"manylinux_2_17_x86_64", "manylinux2014_x86_64"},
		Files: []File{
			{Path: "herd/__main__.py", Data: []byte("main\n")},
			{Path: "herd/__init__.py", Data: []byte("init\n")},
		},
		Scripts:   []File{{Path: "herd", Data: []byte("\x7fELF binary"), Mode: 0o755}},
		Generator: "herd-wheel 1.2.3rc1",
	}
}

func build(t *testing.T, w *Wheel) (*zip.Reader, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := w.Write(&buf); err != nil {
		t.Fatalf("Write: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	return zr, buf.Bytes()
}

func read(t *testing.T, zr *zip.Reader, name string) string {
	t.Helper()
	f, err := zr.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func TestNames(t *testing.T) {
	w := testWheel()
	if got, want := w.Filename(), "pytest_herd-1.2.3rc1-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"; got != want {
		t.Errorf("Filename = %s, want %s", got, want)
	}
	if got, want := w.DistInfo(), "pytest_herd-1.2.3rc1.dist-info"; got != want {
		t.Errorf("DistInfo = %s, want %s", got, want)
	}
	if got, want := w.DataDir(), "pytest_herd-1.2.3rc1.data"; got != want {
		t.Errorf("DataDir = %s, want %s", got, want)
	}
	for in, want := range map[string]string{"pytest-herd": "pytest_herd", "Foo.Bar--baz_": "foo_bar_baz_", "x": "x"} {
		if got := NormalizedName(in); got != want {
			t.Errorf("NormalizedName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEntries(t *testing.T) {
	zr, _ := build(t, testWheel())
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(Epoch) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, Epoch)
		}
		if f.Method != zip.Deflate {
			t.Errorf("%s: method %d, want deflate", f.Name, f.Method)
		}
		want := fs.FileMode(0o644)
		if f.Name == "pytest_herd-1.2.3rc1.data/scripts/herd" {
			want = 0o755
		}
		if got := f.Mode(); got != want {
			t.Errorf("%s: mode %v, want %v", f.Name, got, want)
		}
		if f.CreatorVersion>>8 != 3 { // Unix: the mode bits are read
			t.Errorf("%s: creator system %d, want 3 (Unix)", f.Name, f.CreatorVersion>>8)
		}
	}
	want := []string{
		"herd/__init__.py",
		"herd/__main__.py",
		"pytest_herd-1.2.3rc1.data/scripts/herd",
		"pytest_herd-1.2.3rc1.dist-info/METADATA",
		"pytest_herd-1.2.3rc1.dist-info/WHEEL",
		"pytest_herd-1.2.3rc1.dist-info/RECORD",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

func TestRecord(t *testing.T) {
	zr, _ := build(t, testWheel())
	record := read(t, zr, "pytest_herd-1.2.3rc1.dist-info/RECORD")
	// Computed by hand, as an installer would.
	sum := sha256.Sum256([]byte("init\n"))
	wantLine := "herd/__init__.py,sha256=" + strings.TrimRight(base64.URLEncoding.EncodeToString(sum[:]), "=") + ",5\n"
	if !strings.HasPrefix(record, wantLine) {
		t.Errorf("RECORD starts %q, want %q", record, wantLine)
	}
	if !strings.HasSuffix(record, "\npytest_herd-1.2.3rc1.dist-info/RECORD,,\n") {
		t.Errorf("RECORD does not end with its own row:\n%s", record)
	}
	if n := strings.Count(record, "\n"); n != 6 {
		t.Errorf("RECORD has %d rows, want 6:\n%s", n, record)
	}
	if err := Verify(zr, "pytest_herd-1.2.3rc1.dist-info"); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestVerifyCatchesTampering(t *testing.T) {
	_, data := build(t, testWheel())
	// Rewrite the wheel with __main__.py changed but RECORD kept.
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		w, err := zw.CreateHeader(&f.FileHeader)
		if err != nil {
			t.Fatal(err)
		}
		content := read(t, zr, f.Name)
		if f.Name == "herd/__main__.py" {
			content = "evil\n"
		}
		io.WriteString(w, content)
	}
	zw.Close()
	tampered, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	err = Verify(tampered, "pytest_herd-1.2.3rc1.dist-info")
	if err == nil || !strings.Contains(err.Error(), "herd/__main__.py: hash") {
		t.Errorf("Verify = %v, want a hash mismatch of herd/__main__.py", err)
	}
}

func TestMetadataAndWheelFile(t *testing.T) {
	zr, _ := build(t, testWheel())
	meta := read(t, zr, "pytest_herd-1.2.3rc1.dist-info/METADATA")
	for _, line := range []string{
		"Metadata-Version: 2.1\n", "Name: pytest-herd\n", "Version: 1.2.3rc1\n",
		"Summary: Run a pytest suite in parallel\n", "License: Other\n",
		"Requires-Python: >=3.7\n", "Classifier: Framework :: Pytest\n",
		"Project-URL: Source, https://example.org/herd\n",
		"Description-Content-Type: text/markdown\n\n# herd\n\nLong text.\n",
	} {
		if !strings.Contains(meta, line) {
			t.Errorf("METADATA lacks %q:\n%s", line, meta)
		}
	}
	whl := read(t, zr, "pytest_herd-1.2.3rc1.dist-info/WHEEL")
	want := "Wheel-Version: 1.0\nGenerator: herd-wheel 1.2.3rc1\nRoot-Is-Purelib: true\n" +
		"Tag: py3-none-manylinux_2_17_x86_64\nTag: py3-none-manylinux2014_x86_64\n"
	if whl != want {
		t.Errorf("WHEEL:\n%s\nwant:\n%s", whl, want)
	}
}

func TestEntryPoints(t *testing.T) {
	w := testWheel()
	zr, _ := build(t, w)
	if _, err := zr.Open(w.DistInfo() + "/entry_points.txt"); err == nil {
		t.Errorf("entry_points.txt written with no entry points")
	}
	w.EntryPoints = map[string]map[string]string{"console_scripts": {"b": "m:b", "a": "m:a"}, "gui_scripts": {"g": "m:g"}}
	zr, _ = build(t, w)
	got := read(t, zr, w.DistInfo()+"/entry_points.txt")
	if want := "[console_scripts]\na = m:a\nb = m:b\n\n[gui_scripts]\ng = m:g\n"; got != want {
		t.Errorf("entry_points.txt:\n%s\nwant:\n%s", got, want)
	}
	if err := Verify(zr, w.DistInfo()); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestReproducible(t *testing.T) {
	_, a := build(t, testWheel())
	w := testWheel()
	// The order files are given in does not matter.
	w.Files[0], w.Files[1] = w.Files[1], w.Files[0]
	_, b := build(t, w)
	if !bytes.Equal(a, b) {
		t.Errorf("two builds of the same wheel differ")
	}
}

func TestRefusals(t *testing.T) {
	for name, change := range map[string]func(w *Wheel){
		"bad version":           func(w *Wheel) { w.Meta.Version = "v1.0" },
		"local version":         func(w *Wheel) { w.Meta.Version = "1.0+local" },
		"bad name":              func(w *Wheel) { w.Meta.Name = "-herd" },
		"no summary":            func(w *Wheel) { w.Meta.Summary = "" },
		"newline in summary":    func(w *Wheel) { w.Meta.Summary = "a\nb" },
		"no platform":           func(w *Wheel) { w.Platforms = nil },
		"bad platform":          func(w *Wheel) { w.Platforms = []string{"linux-x86_64"} },
		"absolute path":         func(w *Wheel) { w.Files[0].Path = "/etc/passwd" },
		"dot-dot path":          func(w *Wheel) { w.Files[0].Path = "../x" },
		"unclean path":          func(w *Wheel) { w.Files[0].Path = "herd//x.py" },
		"duplicate":             func(w *Wheel) { w.Files[1].Path = w.Files[0].Path },
		"file in dist-info":     func(w *Wheel) { w.Files[0].Path = w.DistInfo() + "/RECORD" },
		"entry point with =":    func(w *Wheel) { w.EntryPoints = map[string]map[string]string{"g": {"a=b": "m:f"}} },
		"comma in URL label":    func(w *Wheel) { w.Meta.ProjectURLs = [][2]string{{"a,b", "https://x"}} },
		"bad script path":       func(w *Wheel) { w.Scripts[0].Path = "../herd" },
		"newline in classifier": func(w *Wheel) { w.Meta.Classifiers = []string{"a\nb"} },
	} {
		w := testWheel()
		change(w)
		if err := w.Write(io.Discard); err == nil {
			t.Errorf("%s: Write succeeded, want a refusal", name)
		}
	}
}
