package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchProfile takes a CPU profile of a bench hub while a job runs, when
// LABELHUB_BENCH_PROFILE names a folder: the hub is started with
// --debug-addr (benchDebugEnv) and the profile, covering the job and
// LABELHUB_BENCH_PROFILE_SECONDS (default 10) in all, is written there as
// NAME.pprof, for `go tool pprof -top`. The returned func waits for it.
func benchProfile(t *testing.T, hub *benchHub, name string) (wait func()) {
	t.Helper()
	dir := os.Getenv("LABELHUB_BENCH_PROFILE")
	if dir == "" || hub.debugAddr == "" {
		return func() {}
	}
	secs := 10
	if s, err := strconv.Atoi(os.Getenv("LABELHUB_BENCH_PROFILE_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	done := make(chan error, 1)
	path := filepath.Join(dir, name+".pprof")
	go func() {
		done <- fetchProfile("http://"+hub.debugAddr+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), path)
	}()
	time.Sleep(100 * time.Millisecond) // the profile has started before the job does
	return func() {
		if err := <-done; err != nil {
			t.Errorf("CPU profile: %v", err)
			return
		}
		t.Logf("CPU profile of the hub: %s", path)
	}
}

func fetchProfile(url, path string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s: %s %s", url, res.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
