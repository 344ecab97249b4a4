package pluginhub_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

// Run it with:
//
//	go test ./pluginhub -run '^$' -bench . -benchtime 2000x
//
// Every figure is on loopback with a no-op plugin, once with SQLite in a
// temp folder (sub-benchmarks named sqlite/…) and once with PostgreSQL
// (postgres/…, a fresh schema on testservers.PostgresBase; -bench
// 'Run.*/sqlite' leaves it out); p50-ms and p99-ms are per-run round trips
// (start a run, wait for its end), runs/s is with 64 runs in flight, and
// cpu-us/run is the CPU time of the whole process (hub, database driver,
// plugins and callers) per run, which a busy machine disturbs less than
// the wall clock. The hub-api benchmarks then measure the floor
// (runFloor, floor_bench_test.go) as many times on the same database and
// report floor-p50-ms or floor-runs/s and the ratio (labelhub time /
// floor time), and log a "versus floor:" line with the load average.

type benchEnv struct {
	db, dsn string // "sqlite" (dsn a file) or "postgres"
	store   *sqlstore.Store
	hub     *pluginhub.Hub
	srv     *httptest.Server // the API, with the connect endpoint
	actor   labelhub.Actor
	key     string
	project labelhub.Project
	plugin  labelhub.Plugin
	secret  string
}

// benchDBs are the databases every run benchmark runs on.
var benchDBs = []string{"sqlite", "postgres"}

func newBenchEnv(b *testing.B, db string) *benchEnv {
	b.Helper()
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "hub.db")
	if db == "postgres" {
		dsn = testservers.Postgres(b)
	}
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	_, _, key, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "O", AdminEmail: "a@example.com"}, true)
	if err != nil {
		b.Fatal(err)
	}
	a, err := s.Authenticate(ctx, key)
	if err != nil {
		b.Fatal(err)
	}
	name := "P"
	proj, err := s.CreateProject(ctx, a.Org.ID, a.User.ID, labelhub.ProjectInput{Name: &name})
	if err != nil {
		b.Fatal(err)
	}
	typ := labelhub.PluginExport
	p, secret, err := s.CreatePlugin(ctx, a.Org.ID, a.User.ID, labelhub.PluginInput{Name: &name, Type: &typ})
	if err != nil {
		b.Fatal(err)
	}
	// The hub as labelhub serve runs it: the default poll interval (the
	// hub's polls for queued, cancelled and expired runs are part of what
	// a run costs the database; at 20 ms they were a third of its work).
	h := pluginhub.New(pluginhub.Config{Store: s, Logger: quiet(), NewToken: sqlstore.NewRunToken})
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: s, Logger: quiet(), Plugins: h, RunTokens: s}))
	b.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); h.Close() })
	return &benchEnv{db: db, dsn: dsn, store: s, hub: h, srv: srv, actor: a, key: key, project: proj, plugin: p, secret: secret}
}

// startNoop starts n in-process SDK plugins of conc runs each that answer
// at once, and waits until they are online.
func (e *benchEnv) startNoop(b *testing.B, n, conc int) {
	b.Helper()
	noop := plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) { return true, nil })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = plugin.Run(ctx, plugin.Config{Host: e.srv.URL, ID: e.plugin.ID, Secret: e.secret, Concurrency: conc, Logger: quiet(),
				MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}, noop)
		}()
	}
	b.Cleanup(func() { cancel(); wg.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, _ := e.store.ListInstances(context.Background(), e.plugin.ID)
		if len(in) >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d instances did not come online", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runHub starts a run through the hub's Go API and waits for its end.
func (e *benchEnv) runHub(ctx context.Context) error {
	r, err := e.hub.CreateRun(ctx, e.actor, e.plugin.ID, labelhub.RunInput{ProjectID: e.project.ID})
	if err != nil {
		return err
	}
	r, err = e.hub.Wait(ctx, e.actor.Org.ID, r.ID)
	if err == nil && r.State != labelhub.RunSucceeded {
		err = fmt.Errorf("run %s %s: %s", r.ID, r.State, r.Error)
	}
	return err
}

// runHTTP does the same through POST /api/v1/plugins/{id}/runs?wait=true.
func (e *benchEnv) runHTTP(ctx context.Context, hc *http.Client) error {
	body := `{"projectId":"` + e.project.ID + `"}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/api/v1/plugins/"+e.plugin.ID+"/runs?wait=true", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf [4096]byte
	n, _ := resp.Body.Read(buf[:])
	for {
		if _, err := resp.Body.Read(buf[:]); err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(buf[:n]), `"state":"succeeded"`) {
		return fmt.Errorf("POST runs: %d %s", resp.StatusCode, buf[:n])
	}
	return nil
}

// latencies runs op b.N times in a row and reports p50 and p99, which it
// returns in milliseconds.
func latencies(b *testing.B, op func() error) (p50, p99 float64) {
	b.Helper()
	b.ResetTimer()
	d, cpu, err := timeEach(b.N, op)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/run")
	p50, p99 = quantileMS(d, 0.50), quantileMS(d, 0.99)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	return p50, p99
}

// timeEach runs op n times in a row and returns each time, sorted, and the
// process's CPU time.
func timeEach(n int, op func() error) ([]time.Duration, time.Duration, error) {
	d := make([]time.Duration, 0, n)
	cpu := processCPU()
	for range n {
		t := time.Now()
		if err := op(); err != nil {
			return nil, 0, err
		}
		d = append(d, time.Since(t))
	}
	cpu = processCPU() - cpu
	slices.Sort(d)
	return d, cpu, nil
}

func quantileMS(d []time.Duration, q float64) float64 {
	return float64(d[int(q*float64(len(d)-1))]) / float64(time.Millisecond)
}

// throughput runs op b.N times with inFlight at once and reports runs/s,
// which it returns.
func throughput(b *testing.B, inFlight int, op func() error) float64 {
	b.Helper()
	b.ResetTimer()
	el, cpu, err := timeAll(b.N, inFlight, op)
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/run")
	if err != nil {
		b.Fatal(err)
	}
	rate := float64(b.N) / el.Seconds()
	b.ReportMetric(rate, "runs/s")
	return rate
}

// timeAll runs op n times with inFlight at once and returns the time it
// took and the process's CPU time.
func timeAll(n, inFlight int, op func() error) (time.Duration, time.Duration, error) {
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start, cpu := time.Now(), processCPU()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := op(); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el, cpu := time.Since(start), processCPU()-cpu
	err, _ := failed.Load().(error)
	return el, cpu, err
}

// versusFloorLatency measures the floor's round trip b.N times and
// reports it next to labelhub's p50.
func versusFloorLatency(b *testing.B, e *benchEnv, what string, p50 float64) {
	b.Helper()
	f := newRunFloor(b, e)
	ctx := context.Background()
	d, _, err := timeEach(b.N, func() error { return f.run(ctx) })
	if err != nil {
		b.Fatal(err)
	}
	fp50 := quantileMS(d, 0.50)
	b.ReportMetric(fp50, "floor-p50-ms")
	b.ReportMetric(p50/fp50, "ratio")
	if b.N > 1 { // not the probe run
		b.Logf("versus floor: %s %s round trip p50: labelhub %.3f ms, floor %.3f ms, ratio %.2f (labelhub time / floor time), %d runs; load %.2f",
			e.db, what, p50, fp50, p50/fp50, b.N, loadAvg())
	}
}

// versusFloorThroughput measures the floor's b.N runs with inFlight at
// once and reports them next to labelhub's rate.
func versusFloorThroughput(b *testing.B, e *benchEnv, what string, inFlight int, rate float64) {
	b.Helper()
	f := newRunFloor(b, e)
	ctx := context.Background()
	el, _, err := timeAll(b.N, inFlight, func() error { return f.run(ctx) })
	if err != nil {
		b.Fatal(err)
	}
	frate := float64(b.N) / el.Seconds()
	b.ReportMetric(frate, "floor-runs/s")
	b.ReportMetric(frate/rate, "ratio")
	if b.N > 1 {
		b.Logf("versus floor: %s %s %d in flight: labelhub %.0f runs/s, floor %.0f runs/s, ratio %.2f (labelhub time / floor time), %d runs; load %.2f",
			e.db, what, inFlight, rate, frate, frate/rate, b.N, loadAvg())
	}
}

func BenchmarkRunRoundTrip(b *testing.B) {
	ctx := context.Background()
	for _, db := range benchDBs {
		b.Run(db+"/hub-api", func(b *testing.B) {
			e := newBenchEnv(b, db)
			e.startNoop(b, 1, 1)
			p50, _ := latencies(b, func() error { return e.runHub(ctx) })
			versusFloorLatency(b, e, "hub-api", p50)
		})
		b.Run(db+"/http-wait", func(b *testing.B) {
			e := newBenchEnv(b, db)
			e.startNoop(b, 1, 1)
			hc := e.srv.Client()
			latencies(b, func() error { return e.runHTTP(ctx, hc) })
		})
	}
}

func BenchmarkRunThroughput(b *testing.B) {
	ctx := context.Background()
	const inFlight = 64
	for _, db := range benchDBs {
		for _, instances := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/hub-api/instances=%d", db, instances), func(b *testing.B) {
				e := newBenchEnv(b, db)
				e.startNoop(b, instances, inFlight/instances)
				rate := throughput(b, inFlight, func() error { return e.runHub(ctx) })
				versusFloorThroughput(b, e, fmt.Sprintf("hub-api instances=%d", instances), inFlight, rate)
			})
			b.Run(fmt.Sprintf("%s/http-wait/instances=%d", db, instances), func(b *testing.B) {
				e := newBenchEnv(b, db)
				e.startNoop(b, instances, inFlight/instances)
				hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}}
				throughput(b, inFlight, func() error { return e.runHTTP(ctx, hc) })
			})
		}
	}
}

// BenchmarkWebSocketEcho is the floor the plugin round trip is quoted
// against: one coder/websocket text message to a loopback echo server and
// back, with a small JSON payload like a run.assign.
func BenchmarkWebSocketEcho(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(echoWebSocket))
	defer srv.Close()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	msg := []byte(`{"v":1,"type":"run.assign","id":"06h079x0axh1rtywskasvwpxrc","run":{"projectId":"06h079x06cqvanse9acpkhe86c","configJSON":"","params":{}}}`)
	latencies(b, func() error {
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			return err
		}
		_, _, err := c.Read(ctx)
		return err
	})
}

// echoWebSocket accepts a WebSocket and sends every message back: the far
// end of the round-trip floors.
func echoWebSocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), typ, msg); err != nil {
			return
		}
	}
}
