// Package pyworker embeds the Python side of herd: a boot script and a pytest
// plugin that turn one pytest session into a herd worker. Install writes them
// into a directory the worker's interpreter runs them from.
package pyworker

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed herd_boot.py
var bootScript []byte

//go:embed herd_worker.py
var pluginSource []byte

//go:embed herd_cov.py
var covScript []byte

//go:embed herd_ctl.py
var ctlScript []byte

// CtlName is the file name of herd's xdist controller (run once per run,
// only when the suite needs it) in the install directory.
const CtlName = "herd_ctl.py"

// CovName is the file name of the coverage finisher in the install
// directory.
const CovName = "herd_cov.py"

// BootName is the file name of the boot script inside the install directory.
const BootName = "herd_boot.py"

// Install writes the boot script and the plugin into dir and returns the boot
// script's path.
func Install(dir string) (string, error) {
	files := map[string][]byte{BootName: bootScript, "herd_worker.py": pluginSource, CovName: covScript, CtlName: ctlScript}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return "", fmt.Errorf("install worker plugin: %w", err)
		}
	}
	return filepath.Join(dir, BootName), nil
}
