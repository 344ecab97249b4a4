package pluginhub_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkPythonRoundTrip times a run of a no-op plugin written with the
// model hub's Python SDK (testdata/python, the SDK's wire behaviour; a
// separate python3 process on Socket.IO over WebSocket) next to the same
// run of a no-op Go SDK plugin in this process, one run at a time:
//
//	go test ./pluginhub -run '^$' -bench PythonRoundTrip -benchtime 500x
func BenchmarkPythonRoundTrip(b *testing.B) {
	py := os.Getenv("LABELHUB_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if exec.Command(py, "-c", "import socketio, requests").Run() != nil {
		b.Skipf("SKIPPED LOUDLY: %s has no python-socketio (apt-get install python3-socketio python3-websocket python3-requests)", py)
	}
	ctx := context.Background()
	for _, db := range benchDBs {
		b.Run(db+"/go-sdk", func(b *testing.B) {
			e := newBenchEnv(b, db)
			e.startNoop(b, 1, 1)
			latencies(b, func() error { return e.runHub(ctx) })
		})
		for _, gen := range []string{"1.4", "1.1"} {
			b.Run(db+"/python-sdk-"+gen, func(b *testing.B) {
				e := newBenchEnv(b, db)
				cmd := exec.Command(py, "../testdata/python/noop_plugin.py")
				cmd.Env = append(os.Environ(), "PYTHONPATH=../testdata/python", "LABELHUB_TEST_ANGO_SDK="+gen, "LOGLEVEL=WARNING",
					"LABELHUB_SERVER="+e.srv.URL, "LABELHUB_PLUGIN_ID="+e.plugin.ID, "LABELHUB_PLUGIN_SECRET="+e.secret)
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
				deadline := time.Now().Add(20 * time.Second)
				for {
					in, _ := e.store.ListInstances(ctx, e.plugin.ID)
					if len(in) == 1 {
						break
					}
					if time.Now().After(deadline) {
						b.Fatal("the Python plugin did not come online")
					}
					time.Sleep(10 * time.Millisecond)
				}
				latencies(b, func() error { return e.runHub(ctx) })
			})
		}
	}
}
