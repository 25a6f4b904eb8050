// Package redistest starts throwaway redis-server processes for tests.
package redistest

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Start starts a redis-server of the test's own on a free loopback port,
// without persistence, killed when the test ends, and returns the port; with
// tls the port is its TLS port and the plain port is off. extra are more
// redis-server arguments. It does not wait for the server to answer.
// Without redis-server the test is skipped, except on CI ($CI set), where
// scripts/setup.sh installs it and its absence is a failure.
func Start(t testing.TB, tls bool, extra ...string) int {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed; scripts/setup.sh installs it (Debian: apt-get install -y redis-server)")
		}
		t.Skip("redis-server is not installed (Debian: apt-get install -y redis-server; scripts/setup.sh does it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	if tls {
		args[1] = "0"
		args = append(args, "--tls-port", strconv.Itoa(port))
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return port
}
