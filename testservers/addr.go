package testservers

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreeAddr returns a loopback address ("127.0.0.1:PORT") with a port that
// was free a moment ago, for a server a test starts.
func FreeAddr(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// CleanEnv is the test's environment without LABELHUB_* settings, for a
// labelhub process a test starts with settings of its own.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LABELHUB_") {
			env = append(env, kv)
		}
	}
	return env
}
