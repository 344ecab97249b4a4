package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// cleanEnv and freeAddr: testservers.CleanEnv and FreeAddr, used by most
// tests of this package.
func cleanEnv() []string { return testservers.CleanEnv() }

func freeAddr(t *testing.T) string { return testservers.FreeAddr(t) }

// TestEndToEnd builds the binary, runs `labelhub serve` as a process and
// drives it with the client commands as processes.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a server")
	}
	if runtime.GOOS == "windows" {
		t.Skip("graceful shutdown is tested with SIGTERM")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "labelhub")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/labelhub")
	build.Dir = filepath.Join("..", "..") // the module root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	data := filepath.Join(tmp, "data")
	addr := freeAddr(t)
	server := "http://" + addr
	var serverOut, serverErr lockedBuffer
	srv := exec.Command(bin, "serve", "--addr", addr, "--data", data)
	srv.Env = cleanEnv()
	srv.Stdout, srv.Stderr = &serverOut, &serverErr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = srv.Process.Kill()
			<-exited
		}
	})

	// Wait until the hub is ready.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(server + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("serve exited early: %v\nstderr:\n%s", err, serverErr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub was not ready in 30s\nstderr:\n%s", serverErr.String())
		}
	}

	keyFile := filepath.Join(data, "initial-admin-key")
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", keyFile, fi.Mode().Perm())
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(b))
	if !strings.HasPrefix(key, "lh_") {
		t.Fatalf("initial key = %q", key)
	}
	if logs := serverErr.String() + serverOut.String(); strings.Contains(logs, key) {
		t.Fatal("the server's output contains the admin key")
	} else if !strings.Contains(logs, keyFile) {
		t.Fatalf("the server's output does not name the key file:\n%s", logs)
	}

	// runCLI runs the binary as a client process.
	runCLI := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Env = cleanEnv()
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("labelhub %v: %v", args, err)
		}
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}
	conn := []string{"--server", server, "--api-key-file", keyFile}

	out, stderr, code := runCLI(append([]string{"project", "create", "E2E", "--description", "end to end"}, conn...)...)
	if code != 0 || !strings.Contains(out, "E2E") {
		t.Fatalf("project create: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = runCLI(append([]string{"project", "list", "-o", "json"}, conn...)...)
	if code != 0 {
		t.Fatalf("project list: exit %d\n%s", code, stderr)
	}
	var projects []labelhub.Project
	if err := json.Unmarshal([]byte(out), &projects); err != nil {
		t.Fatalf("project list -o json: %v\n%s", err, out)
	}
	if len(projects) != 1 || projects[0].Name != "E2E" || projects[0].Description != "end to end" || projects[0].ID == "" {
		t.Fatalf("projects = %+v", projects)
	}

	// A failing command: exit status 1, the message and each detail on stderr.
	_, stderr, code = runCLI(append([]string{"project", "create", ""}, conn...)...)
	if code != 1 || !strings.Contains(stderr, "invalid project\n  name: is required") {
		t.Fatalf("invalid create: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCLI("project", "list", "--server", server)
	if code != 1 || !strings.Contains(stderr, "LABELHUB_API_KEY") {
		t.Fatalf("without a key: exit %d, stderr %q", code, stderr)
	}
	// The environment works like the flags.
	envCmd := exec.Command(bin, "me", "-o", "json")
	envCmd.Env = append(cleanEnv(), "LABELHUB_SERVER="+server, "LABELHUB_API_KEY="+key)
	if out, err := envCmd.Output(); err != nil || !strings.Contains(string(out), `"serverAdmin": true`) {
		t.Fatalf("me with the environment: %v\n%s", err, out)
	}

	// SIGTERM shuts down gracefully: exit status 0 within 10 s.
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\nstderr:\n%s", err, serverErr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not exit within 10s of SIGTERM\nstderr:\n%s", serverErr.String())
	}
	if !strings.Contains(serverErr.String(), "shutting down") {
		t.Fatalf("no shutdown message:\n%s", serverErr.String())
	}
}
