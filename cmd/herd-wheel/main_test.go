package main

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/herd-run/herd/internal/version"
	"github.com/herd-run/herd/internal/wheel"
)

func TestPlatforms(t *testing.T) {
	want := map[string]string{
		"manylinux_2_17_x86_64.manylinux2014_x86_64":   "linux/amd64",
		"manylinux_2_17_aarch64.manylinux2014_aarch64": "linux/arm64",
		"musllinux_1_2_x86_64":                         "linux/amd64",
		"macosx_10_12_x86_64":                          "darwin/amd64",
		"macosx_11_0_arm64":                            "darwin/arm64",
	}
	if len(Platforms) != len(want) {
		t.Errorf("%d platforms, want %d", len(Platforms), len(want))
	}
	for _, p := range Platforms {
		tags := strings.Join(p.Tags, ".")
		if got := p.GOOS + "/" + p.GOARCH; want[tags] != got {
			t.Errorf("%s: tags %s built for %s, want %s", p.Name, tags, got, want[tags])
		}
	}
	if _, err := selectPlatforms("macosx-arm64,nope"); err == nil {
		t.Errorf("selectPlatforms accepted an unknown name")
	}
	got, err := selectPlatforms("musllinux-x86_64")
	if err != nil || len(got) != 1 || got[0].Name != "musllinux-x86_64" {
		t.Errorf("selectPlatforms(musllinux-x86_64) = %v, %v", got, err)
	}
}

func TestWheel(t *testing.T) {
	w, err := Wheel(Platforms[0], []byte("\x7fELF"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Meta.Version != version.Version || w.Meta.Name != "pytest-herd" {
		t.Errorf("wheel of %s %s, want pytest-herd %s", w.Meta.Name, w.Meta.Version, version.Version)
	}
	if len(w.EntryPoints) != 0 {
		t.Errorf("entry points %v, want none (no pytest11 plugin, no console script)", w.EntryPoints)
	}
	if !strings.Contains(strings.Join(w.Meta.Classifiers, "\n"), "Framework :: Pytest") {
		t.Errorf("classifiers lack Framework :: Pytest: %v", w.Meta.Classifiers)
	}
	var buf bytes.Buffer
	if err := w.Write(&buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if err := wheel.Verify(zr, w.DistInfo()); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	for _, n := range []string{"herd/__init__.py", "herd/__main__.py", w.DataDir() + "/scripts/herd"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+n+" ") {
			t.Errorf("wheel lacks %s: %v", n, names)
		}
	}
}
