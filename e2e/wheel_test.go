//go:build unix

package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"debug/macho"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/version"
)

// wheelBuildTimeout bounds scripts/wheels.sh: four cross-compilations of
// herd, which with a cold Go build cache on two busy cores take minutes.
const wheelBuildTimeout = 8 * time.Minute

// wantWheels are the platform tags of the wheels scripts/wheels.sh builds,
// with the Go target each binary must be built for.
var wantWheels = map[string]struct{ goos, goarch string }{
	"manylinux_2_17_x86_64.manylinux2014_x86_64":   {"linux", "amd64"},
	"manylinux_2_17_aarch64.manylinux2014_aarch64": {"linux", "arm64"},
	"musllinux_1_2_x86_64":                         {"linux", "amd64"},
	"macosx_10_12_x86_64":                          {"darwin", "amd64"},
	"macosx_11_0_arm64":                            {"darwin", "arm64"},
}

// TestWheels builds the wheels with scripts/wheels.sh, checks all five,
// installs the linux x86_64 one offline into a fresh virtualenv, and runs
// that virtualenv's herd and python -m herd on the demo suite with no other
// Python in sight.
func TestWheels(t *testing.T) {
	t.Parallel()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	// The install needs venv with ensurepip (Debian's python3-venv) and
	// pip (python3-pip); scripts/setup.sh installs both.
	if out, err := exec.Command(python, "-c", "import venv, ensurepip, pip").CombinedOutput(); err != nil {
		t.Skipf("%s cannot create a virtualenv with pip (install python3-venv and python3-pip): %v: %s",
			python, err, lastLine(string(out)))
	}
	dist := t.TempDir()
	start := time.Now()
	buildWheels(t, dist)
	t.Logf("scripts/wheels.sh built the wheels in %v", time.Since(start).Round(100*time.Millisecond))

	paths, err := filepath.Glob(filepath.Join(dist, "*.whl"))
	if err != nil {
		t.Fatal(err)
	}
	byTag := map[string]string{}
	for _, p := range paths {
		name := filepath.Base(p)
		prefix := "pytest_herd-" + version.Version + "-py3-none-"
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".whl") {
			t.Errorf("unexpected wheel %s (want %s{platform}.whl)", name, prefix)
			continue
		}
		byTag[strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".whl")] = p
	}
	for tag := range wantWheels {
		if byTag[tag] == "" {
			t.Errorf("no wheel for %s; built: %v", tag, paths)
		}
	}
	for tag, p := range byTag {
		st, _ := os.Stat(p)
		t.Logf("%s: %.1f MB", filepath.Base(p), float64(st.Size())/1e6)
		checkWheel(t, p, tag)
	}
	checkWheelsWithPython(t, paths)
	linux := byTag["manylinux_2_17_x86_64.manylinux2014_x86_64"]
	if linux == "" || t.Failed() {
		t.FailNow()
	}
	installWheel(t, linux)
}

// buildWheels runs scripts/wheels.sh OUT, niced: it compiles while other
// tests, which time their workers, run.
func buildWheels(t *testing.T, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wheelBuildTimeout)
	defer cancel()
	args := []string{"bash", filepath.Join(repoRoot, "scripts", "wheels.sh"), out}
	if nice, err := exec.LookPath("nice"); err == nil {
		args = append([]string{nice, "-n", "10"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = repoRoot
	cmd.Env = baseEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out2, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash scripts/wheels.sh: %v\n%s", err, tail(string(out2)))
	}
}

// checkWheel checks one wheel with Go: its WHEEL tags match its file name,
// its metadata is complete and has no entry points, RECORD lists every file
// with the right hash and size, and its binary is an executable, static,
// stripped build for the tag's system and machine.
func checkWheel(t *testing.T, path, platform string) {
	t.Helper()
	name := filepath.Base(path)
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Errorf("%s: not a zip: %v", name, err)
		return
	}
	defer zr.Close()
	files := map[string][]byte{}
	modes := map[string]os.FileMode{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Errorf("%s: %s: %v", name, f.Name, err)
			return
		}
		b, err := io.ReadAll(rc) // fails on a bad CRC-32
		rc.Close()
		if err != nil {
			t.Errorf("%s: %s: %v", name, f.Name, err)
			return
		}
		files[f.Name] = b
		modes[f.Name] = f.Mode()
	}
	di := "pytest_herd-" + version.Version + ".dist-info/"
	bin := "pytest_herd-" + version.Version + ".data/scripts/herd"
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"herd/__init__.py", "herd/__main__.py", bin, di + "METADATA", di + "RECORD", di + "WHEEL"}
	sort.Strings(want)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("%s: files %v, want %v (no entry_points.txt: no pytest11 plugin, no console script)", name, names, want)
	}
	if m := modes[bin]; m.Perm() != 0o755 {
		t.Errorf("%s: %s has mode %v, want 0755", name, bin, m)
	}
	var tags []string
	for _, l := range strings.Split(string(files[di+"WHEEL"]), "\n") {
		if tag, ok := strings.CutPrefix(l, "Tag: "); ok {
			tags = append(tags, tag)
		}
	}
	var wantTags []string
	for _, p := range strings.Split(platform, ".") {
		wantTags = append(wantTags, "py3-none-"+p)
	}
	if strings.Join(tags, " ") != strings.Join(wantTags, " ") {
		t.Errorf("%s: WHEEL tags %v, want %v", name, tags, wantTags)
	}
	meta := string(files[di+"METADATA"])
	for _, re := range []string{
		`(?m)^Name: pytest-herd$`, `(?m)^Version: ` + regexp.QuoteMeta(version.Version) + `$`,
		`(?m)^Summary: \S`, `(?m)^License: \S`, `(?m)^Requires-Python: >=3\.\d+$`,
		`(?m)^Classifier: Framework :: Pytest$`, `(?m)^Project-URL: Source, https://`,
	} {
		if !regexp.MustCompile(re).MatchString(meta) {
			t.Errorf("%s: METADATA does not match %s:\n%s", name, re, meta)
		}
	}
	checkBinary(t, name, files[bin], wantWheels[platform].goos, wantWheels[platform].goarch)
}

// checkBinary checks that data is an executable for goos/goarch: an ELF
// without an interpreter (static) on Linux, a Mach-O on macOS.
func checkBinary(t *testing.T, name string, data []byte, goos, goarch string) {
	t.Helper()
	switch goos {
	case "linux":
		f, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: herd is not an ELF file: %v", name, err)
			return
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
		if f.Machine != want || f.Type != elf.ET_EXEC {
			t.Errorf("%s: herd is %v %v, want %v ET_EXEC", name, f.Machine, f.Type, want)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: herd has an ELF interpreter: not static (CGO on?)", name)
			}
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s: herd is not stripped", name)
		}
	case "darwin":
		f, err := macho.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: herd is not a Mach-O file: %v", name, err)
			return
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			t.Errorf("%s: herd is %v %v, want %v executable", name, f.Cpu, f.Type, want)
		}
		// Go links macOS's own libraries only, even with CGO off.
		libs, _ := f.ImportedLibraries()
		for _, l := range libs {
			if !strings.HasPrefix(l, "/usr/lib/") && !strings.HasPrefix(l, "/System/Library/") {
				t.Errorf("%s: herd links %s, not part of macOS", name, l)
			}
		}
	}
}

// wheelCheckPy checks the wheels with Python's own zipfile and csv, as an
// installer would: the zip is sound (testzip), RECORD lists every file once
// with its urlsafe-base64 sha256 and size, RECORD itself without, and the
// binary's external attributes make it executable.
const wheelCheckPy = `
import base64, csv, hashlib, io, json, sys, zipfile
problems = []
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        if bad:
            problems.append("%s: bad CRC in %s" % (path, bad))
        names = z.namelist()
        record = [n for n in names if n.endswith(".dist-info/RECORD")]
        if len(record) != 1:
            problems.append("%s: RECORD files: %s" % (path, record))
            continue
        rows = list(csv.reader(io.StringIO(z.read(record[0]).decode())))
        listed = set()
        for row in rows:
            name, digest, size = row
            listed.add(name)
            if name == record[0]:
                if digest or size:
                    problems.append("%s: RECORD's own row %r" % (path, row))
                continue
            data = z.read(name)
            want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if digest != want or size != str(len(data)):
                problems.append("%s: %s: RECORD says %s,%s; data is %s,%d" % (path, name, digest, size, want, len(data)))
        if listed != set(names) or len(rows) != len(names):
            problems.append("%s: RECORD lists %s, zip holds %s" % (path, sorted(listed), sorted(names)))
        for info in z.infolist():
            if info.filename.endswith(".data/scripts/herd") and (info.external_attr >> 16) & 0o111 != 0o111:
                problems.append("%s: %s is not executable: %o" % (path, info.filename, info.external_attr >> 16))
print(json.dumps(problems))
`

func checkWheelsWithPython(t *testing.T, paths []string) {
	t.Helper()
	out, err := exec.Command(python, append([]string{"-c", wheelCheckPy}, paths...)...).CombinedOutput()
	if err != nil {
		t.Errorf("python's check of the wheels: %v\n%s", err, tail(string(out)))
		return
	}
	var problems []string
	if err := json.Unmarshal(out, &problems); err != nil {
		t.Errorf("python's check of the wheels printed %q: %v", out, err)
	}
	for _, p := range problems {
		t.Errorf("wheel: %s", p)
	}
}

// installWheel installs the wheel into a fresh virtualenv (system site
// packages: its pytest is Debian's), offline, and runs herd from it.
func installWheel(t *testing.T, whl string) {
	tmp := t.TempDir()
	venv := filepath.Join(tmp, "venv")
	// No other Python on PATH, no HERD_PYTHON, no VIRTUAL_ENV.
	emptyBin := filepath.Join(tmp, "empty-bin")
	if err := os.Mkdir(emptyBin, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + emptyBin, "HOME=" + tmp, "COLUMNS=80", "PYTHONDONTWRITEBYTECODE=1", "LC_ALL=C.UTF-8"}
	start := time.Now()
	if r := run(t, tmp, env, python, "-m", "venv", "--system-site-packages", venv); r.Code != 0 {
		t.Fatalf("python -m venv: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	venvPy := filepath.Join(venv, "bin", "python")
	if r := run(t, tmp, env, venvPy, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", "-q", whl); r.Code != 0 {
		t.Fatalf("pip install --no-index: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	t.Logf("venv and pip install: %v", time.Since(start).Round(100*time.Millisecond))
	venvHerd := filepath.Join(venv, "bin", "herd")
	if st, err := os.Lstat(venvHerd); err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("%s is not an executable file (the binary itself): %v %v", venvHerd, st, err)
	}

	t.Run("version", func(t *testing.T) {
		r := run(t, tmp, env, venvHerd, "--version")
		if first, _, _ := strings.Cut(r.Stdout, "\n"); r.Code != 0 || first != "herd "+version.Version {
			t.Errorf("herd --version: exit %d, %q, want \"herd %s\" first\n%s", r.Code, r.Stdout, version.Version, r.Stderr)
		}
	})
	t.Run("no pytest plugin", func(t *testing.T) {
		// No entry points at all in the installed distribution, and plain
		// pytest's header names no herd plugin.
		r := run(t, tmp, env, venvPy, "-c",
			"import importlib.metadata as m; d = m.distribution('pytest-herd'); print(d.version, len(d.entry_points))")
		if strings.TrimSpace(r.Stdout) != version.Version+" 0" {
			t.Errorf("pytest-herd's version and entry points: %q, want %q\n%s", r.Stdout, version.Version+" 0", r.Stderr)
		}
		dir := copySuite(t, "demo")
		r = run(t, dir, env, venvPy, "-m", "pytest", "-p", "no:cacheprovider", "--co", "test_text.py")
		plugins := regexp.MustCompile(`(?m)^plugins: .*$`).FindString(r.Stdout)
		if r.Code != 0 || plugins == "" || strings.Contains(plugins, "herd") {
			t.Errorf("plain pytest in the venv: exit %d, plugins line %q, want one without herd:\n%s%s",
				r.Code, plugins, r.Stdout, r.Stderr)
		}
	})
	for _, tc := range []struct {
		name string
		cmd  []string
	}{
		{"venv herd", []string{venvHerd}},
		{"python -m herd", []string{venvPy, "-m", "herd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copySuite(t, "demo")
			reportPath := filepath.Join(t.TempDir(), "report.json")
			args := append(append([]string{}, tc.cmd[1:]...), "-n", "2", "--report-json", reportPath)
			r := run(t, dir, env, tc.cmd[0], args...)
			if r.Code != 1 {
				t.Fatalf("%s: exit %d, want 1 (the demo has one failing test)\nstdout:\n%s\nstderr:\n%s",
					tc.name, r.Code, tail(r.Stdout), tail(r.Stderr))
			}
			wantHeader := fmt.Sprintf("herd %s: 2 workers, python %s", version.Version, venvPy)
			if !strings.Contains(r.Stdout, "\n"+wantHeader+"\n") {
				t.Errorf("%s: no header line %q:\n%s", tc.name, wantHeader, tail(r.Stdout))
			}
			data, err := os.ReadFile(reportPath)
			if err != nil {
				t.Fatal(err)
			}
			var rep jsonReport
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			rep.Present = true
			checkReport(t, rep, 20)
			if rep.Summary["failed"] != 1 || rep.Summary["passed"] != 17 {
				t.Errorf("%s: summary %v, want 1 failed and 17 passed", tc.name, rep.Summary)
			}
		})
	}
	t.Run("python -m herd uses its interpreter", func(t *testing.T) {
		t.Parallel()
		// Another interpreter than the venv's, which imports the herd
		// package from the venv: herd, found in the venv's bin/, would
		// pick the venv's python by itself; python -m herd makes it use
		// the interpreter that ran it.
		site, err := filepath.Glob(filepath.Join(venv, "lib", "python3*", "site-packages"))
		if err != nil || len(site) != 1 {
			t.Fatalf("the venv's site-packages: %v %v", site, err)
		}
		dir := copySuite(t, "demo")
		r := run(t, dir, append(env, "PYTHONPATH="+site[0]), python, "-m", "herd", "-n", "2", "test_text.py")
		wantHeader := fmt.Sprintf("herd %s: 2 workers, python %s", version.Version, python)
		if r.Code != 0 || !strings.Contains(r.Stdout, "\n"+wantHeader+"\n") {
			t.Errorf("%s -m herd: exit %d, want 0 and the header line %q\nstdout:\n%s\nstderr:\n%s",
				python, r.Code, wantHeader, tail(r.Stdout), tail(r.Stderr))
		}
	})
	t.Run("python -m herd execs the binary", func(t *testing.T) {
		t.Parallel()
		// The python process becomes herd (same pid): herd's exit code
		// and signals are its own. Ctrl-C stops it with pytest's 2.
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"test_wait.py": "import time\n\ndef test_wait():\n    time.sleep(60)\n",
		})
		cmd := exec.Command(venvPy, "-m", "herd", "-n", "1", "-p", "no:cacheprovider")
		cmd.Dir, cmd.Env = dir, env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		defer syscall.Kill(-pid, syscall.SIGKILL)
		exe := ""
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe == venvHerd {
				break
			}
		}
		if exe != venvHerd {
			t.Fatalf("process %d runs %s, want %s", pid, exe, venvHerd)
		}
		// herd handles Ctrl-C from before it starts any process: wait for
		// its first child (the interpreter probe or a worker).
		// Any of its threads may have forked it.
		hasChild := func() bool {
			tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
			for _, f := range tasks {
				if b, _ := os.ReadFile(f); len(strings.TrimSpace(string(b))) > 0 {
					return true
				}
			}
			return false
		}
		for deadline := time.Now().Add(30 * time.Second); !hasChild(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("herd started no process within 30s")
			}
		}
		syscall.Kill(pid, syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("herd did not stop within 30s of SIGINT")
		}
		if code := cmd.ProcessState.ExitCode(); code != 2 {
			t.Errorf("python -m herd after SIGINT: exit %d, want 2 (herd's interrupted)", code)
		}
	})
}
