// Command herd-wheel builds herd's Python wheels, one per platform: it
// cross-compiles herd (CGO off, -trimpath, stripped) and packs each binary
// with the small herd Python package into a wheel of the distribution
// pytest-herd. scripts/wheels.sh runs it; see the README's Install section.
//
//	herd-wheel -o DIR [-platforms NAME,...] [-go GO]
//
// The wheel's version is herd's own (internal/version), so the wheel and
// the binary in it cannot disagree.
package main

import (
	"archive/zip"
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/herd-run/herd/internal/version"
	"github.com/herd-run/herd/internal/wheel"
)

// python is the herd Python package: herd/__init__.py and herd/__main__.py.
//
//go:embed python/herd/*.py
var python embed.FS

// Platform is one wheel: the Go target its binary is built for, and the
// wheel's platform tags. A static CGO-off Go binary needs nothing of the
// system but its kernel, so the oldest tags pip knows for the architecture
// fit.
type Platform struct {
	Name         string
	GOOS, GOARCH string
	Tags         []string
}

// Platforms are the wheels herd-wheel builds, by default all of them.
var Platforms = []Platform{
	{"manylinux-x86_64", "linux", "amd64", []string{"manylinux_2_17_x86_64", "manylinux2014_x86_64"}},
	{"manylinux-aarch64", "linux", "arm64", []string{"manylinux_2_17_aarch64", "manylinux2014_aarch64"}},
	{"musllinux-x86_64", "linux", "amd64", []string{"musllinux_1_2_x86_64"}},
	{"macosx-x86_64", "darwin", "amd64", []string{"macosx_10_12_x86_64"}},
	{"macosx-arm64", "darwin", "arm64", []string{"macosx_11_0_arm64"}},
}

// The distribution's metadata. "herd" is taken on PyPI.
const (
	distName = "pytest-herd"
	repoURL  = "https://github.com/herd-run/herd"
	summary  = "Run a pytest suite across supervised worker processes, like pytest -n auto: one static binary"
	// license: the repository has no license file yet, so no license is
	// granted; this says so rather than guess one. Change it (and its
	// classifier) when the project picks a license.
	license        = "Proprietary (no license has been granted yet)"
	requiresPython = ">=3.7"
)

var classifiers = []string{
	"Development Status :: 3 - Alpha",
	"Environment :: Console",
	"Framework :: Pytest",
	"Intended Audience :: Developers",
	"License :: Other/Proprietary License",
	"Operating System :: MacOS",
	"Operating System :: POSIX :: Linux",
	"Programming Language :: Go",
	"Programming Language :: Python :: 3",
	"Topic :: Software Development :: Testing",
}

const description = `# pytest-herd

herd runs a pytest suite across supervised worker processes. Run ` + "`herd`" + `
where you ran ` + "`pytest -n auto`" + `, with the same arguments, and get the
same results. Crashed and hung tests are reported as such, with their stacks,
and the run goes on.

herd is one static binary; this wheel installs it as the ` + "`herd`" + ` command,
and ` + "`python -m herd`" + ` runs it with that interpreter's pytest. It needs
pytest 7.0 or newer in the suite's interpreter and adds no pytest plugin:
plain ` + "`pytest`" + ` runs are unchanged.

` + "```sh" + `
pip install pytest-herd
herd -n auto tests/
` + "```" + `

Documentation: ` + repoURL + `#readme
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "herd-wheel:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("herd-wheel", flag.ContinueOnError)
	flags.SetOutput(stderr)
	out := flags.String("o", "", "write the wheels into this `directory` (created if missing)")
	only := flags.String("platforms", "", "build only these platforms (comma-separated `names`); default all")
	goTool := flags.String("go", "go", "the go `command` that builds herd")
	module := flags.String("C", ".", "the herd module's `directory`")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *out == "" || flags.NArg() > 0 {
		flags.Usage()
		return errors.New("usage: herd-wheel -o DIR [-platforms NAME,...]")
	}
	plats, err := selectPlatforms(*only)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "herd-wheel-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// One binary per Go target: manylinux and musllinux x86_64 share one.
	bins := map[string]string{}
	for _, p := range plats {
		target := p.GOOS + "-" + p.GOARCH
		if bins[target] != "" {
			continue
		}
		bin := filepath.Join(tmp, "herd-"+target)
		if err := buildHerd(*goTool, *module, p.GOOS, p.GOARCH, bin, stderr); err != nil {
			return err
		}
		bins[target] = bin
	}
	for _, p := range plats {
		data, err := os.ReadFile(bins[p.GOOS+"-"+p.GOARCH])
		if err != nil {
			return err
		}
		path, size, err := writeWheel(*out, p, data)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%d\n", path, size)
	}
	return nil
}

func selectPlatforms(names string) ([]Platform, error) {
	if names == "" {
		return Platforms, nil
	}
	var out []Platform
	for _, n := range strings.Split(names, ",") {
		found := false
		for _, p := range Platforms {
			if p.Name == n {
				out = append(out, p)
				found = true
			}
		}
		if !found {
			var all []string
			for _, p := range Platforms {
				all = append(all, p.Name)
			}
			return nil, fmt.Errorf("unknown platform %q (known: %s)", n, strings.Join(all, ", "))
		}
	}
	return out, nil
}

// buildHerd cross-compiles ./cmd/herd: static (CGO off), without local
// paths or symbols, so that the same sources give the same binary.
func buildHerd(goTool, module, goos, goarch, out string, stderr io.Writer) error {
	cmd := exec.Command(goTool, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, "./cmd/herd")
	cmd.Dir = module
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/herd for %s/%s: %w", goos, goarch, err)
	}
	return nil
}

// Wheel is the wheel of platform p around the herd binary bin.
func Wheel(p Platform, bin []byte) (*wheel.Wheel, error) {
	w := &wheel.Wheel{
		Meta: wheel.Metadata{
			Name:           distName,
			Version:        version.Version,
			Summary:        summary,
			License:        license,
			RequiresPython: requiresPython,
			Classifiers:    classifiers,
			ProjectURLs: [][2]string{
				{"Homepage", repoURL},
				{"Documentation", repoURL + "#readme"},
				{"Source", repoURL},
				{"Issues", repoURL + "/issues"},
			},
			Keywords:    []string{"pytest", "parallel", "xdist", "testing", "test-runner"},
			Description: description,
		},
		Python:    "py3",
		ABI:       "none",
		Platforms: p.Tags,
		// The binary itself, not a console-script wrapper: pip copies it
		// to the environment's bin/ as it is.
		Scripts:   []wheel.File{{Path: "herd", Data: bin, Mode: 0o755}},
		Generator: "herd-wheel " + version.Version,
		// No entry points at all: no pytest11 plugin (plain pytest runs
		// are unchanged) and no console script (the binary is the command).
	}
	err := fs.WalkDir(python, "python", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := python.ReadFile(path)
		if err != nil {
			return err
		}
		w.Files = append(w.Files, wheel.File{Path: strings.TrimPrefix(path, "python/"), Data: data})
		return nil
	})
	return w, err
}

// writeWheel writes platform p's wheel into dir, checks what it wrote, and
// returns its path and size.
func writeWheel(dir string, p Platform, bin []byte) (string, int, error) {
	w, err := Wheel(p, bin)
	if err != nil {
		return "", 0, err
	}
	var buf bytes.Buffer
	if err := w.Write(&buf); err != nil {
		return "", 0, err
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return "", 0, err
	}
	if err := wheel.Verify(zr, w.DistInfo()); err != nil {
		return "", 0, fmt.Errorf("%s: %w", w.Filename(), err)
	}
	path := filepath.Join(dir, w.Filename())
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", 0, err
	}
	return path, buf.Len(), nil
}
