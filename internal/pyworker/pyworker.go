// Package pyworker embeds the Python side of herd: a boot script and a pytest
// plugin (the package herd_worker) that turn one pytest session into a herd
// worker. Install writes them into a directory the worker's interpreter runs
// them from.
package pyworker

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed herd_boot.py
var bootScript []byte

// plugin is the worker plugin, a Python package: its one top-level name
// on the worker's sys.path is herd_worker, so it cannot shadow a module of
// the suite's.
//
//go:embed herd_worker/*.py
var plugin embed.FS

// PluginDir is the plugin package's directory in the install directory.
const PluginDir = "herd_worker"

//go:embed herd_cov.py
var covScript []byte

//go:embed herd_ctl.py
var ctlScript []byte

//go:embed herd_fp.py
var fpScript []byte

// FPName is the file name of the fingerprinter in the install directory:
// run with the suite's interpreter, it reads {"root", "files"} as JSON on
// stdin and writes the files' fingerprints (protocol.Fingerprint's sha
// and parts, computed as the workers compute them) as JSON on stdout.
const FPName = "herd_fp.py"

// CtlName is the file name of herd's xdist controller (run once per run,
// only when the suite needs it) in the install directory.
const CtlName = "herd_ctl.py"

// CovName is the file name of the coverage finisher in the install
// directory.
const CovName = "herd_cov.py"

// BootName is the file name of the boot script inside the install directory.
const BootName = "herd_boot.py"

// Install writes the boot script, the plugin package and the other scripts
// into dir and returns the boot script's path.
func Install(dir string) (string, error) {
	files := map[string][]byte{BootName: bootScript, CovName: covScript, CtlName: ctlScript, FPName: fpScript}
	modules, err := fs.Glob(plugin, PluginDir+"/*.py")
	if err != nil {
		return "", fmt.Errorf("install worker plugin: %w", err)
	}
	for _, name := range modules {
		data, err := plugin.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("install worker plugin: %w", err)
		}
		files[name] = data
	}
	if err := os.MkdirAll(filepath.Join(dir, PluginDir), 0o755); err != nil {
		return "", fmt.Errorf("install worker plugin: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data, 0o644); err != nil {
			return "", fmt.Errorf("install worker plugin: %w", err)
		}
	}
	return filepath.Join(dir, BootName), nil
}
