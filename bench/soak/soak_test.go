package soak

import (
	"context"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub/testservers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.Shutdown()
	os.Exit(code)
}

// config is one soak's size. The short form is the default of go test;
// LABELHUB_SOAK_FULL=true is the full form of docs/reliability.md, and
// each setting has its variable (see configFromEnv).
type config struct {
	db           string // sqlite or postgres
	clients      int
	duration     time.Duration
	faults       bool
	largeItems   int // items of one large import
	largeImports int // at most, one at a time
	smallItems   int
	answerTasks  int
	objects      int           // asset objects in the bucket
	pause        time.Duration // how long MinIO is unavailable
	drain        time.Duration // how long started imports and runs are followed after the load
	seed         uint64
}

func configFromEnv(t *testing.T) (config, []string) {
	t.Helper()
	c := config{clients: 40, duration: 12 * time.Second, faults: true, largeItems: 5000, largeImports: 2, smallItems: 20,
		answerTasks: 200, objects: 300, pause: 3 * time.Second, drain: time.Minute, seed: uint64(time.Now().UnixNano())}
	if full, _ := strconv.ParseBool(os.Getenv("LABELHUB_SOAK_FULL")); full {
		c.clients, c.duration, c.largeItems, c.answerTasks, c.pause, c.drain = 200, 60*time.Second, 100_000, 400, 10*time.Second, 3*time.Minute
	}
	num := func(name string, v *int) {
		if s := os.Getenv(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				t.Fatalf("%s=%q: want a positive number", name, s)
			}
			*v = n
		}
	}
	num("LABELHUB_SOAK_CLIENTS", &c.clients)
	num("LABELHUB_SOAK_LARGE_ITEMS", &c.largeItems)
	if s := os.Getenv("LABELHUB_SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 5*time.Second {
			t.Fatalf("LABELHUB_SOAK_DURATION=%q: want a duration of at least 5s", s)
		}
		c.duration = d
	}
	if s := os.Getenv("LABELHUB_SOAK_FAULTS"); s != "" {
		on, err := strconv.ParseBool(s)
		if err != nil {
			t.Fatalf("LABELHUB_SOAK_FAULTS=%q: want true or false", s)
		}
		c.faults = on
	}
	if s := os.Getenv("LABELHUB_SOAK_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("LABELHUB_SOAK_SEED=%q: want a number", s)
		}
		c.seed = n
	}
	// The short form runs on SQLite only, to stay within a minute.
	dbs := []string{"sqlite"}
	switch s := os.Getenv("LABELHUB_SOAK_DB"); s {
	case "":
	case "both":
		dbs = []string{"sqlite", "postgres"}
	case "sqlite", "postgres":
		dbs = []string{s}
	default:
		t.Fatalf("LABELHUB_SOAK_DB=%q: want sqlite, postgres or both", s)
	}
	return c, dbs
}

// TestSoak runs the soak on SQLite, or on PostgreSQL with two replicas
// (LABELHUB_SOAK_DB=postgres, or both) and fails when the database lost or
// duplicated an acknowledged write or a count is wrong. Timings are
// reported, never checked.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hub and runs it under load for a while")
	}
	if runtime.GOOS != "linux" {
		t.Skip("kills processes with SIGKILL, stops MinIO with SIGSTOP and reads /proc")
	}
	cfg, dbs := configFromEnv(t)
	bin := build(t)
	for _, db := range dbs {
		t.Run(db, func(t *testing.T) {
			c := cfg
			c.db = db
			runSoak(t, c, bin)
		})
	}
}

func runSoak(t *testing.T, cfg config, bin string) {
	e := newEnv(t, cfg, bin)
	st, led := newStats(), newLedger()
	ld := &load{e: e, st: st, led: led, hc: &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 512}}}
	procs := append(append([]*proc{}, e.hubs...), e.exportProc, e.explorerProc)
	memDone := make(chan struct{})
	go sampleMemory(memDone, procs...)
	loadBefore := loadAverage()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	st.start = start
	ld.end = start.Add(cfg.duration)
	ld.drain = ld.end.Add(cfg.drain)
	var faults []fault
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		if cfg.faults {
			faults = ld.injectFaults(ctx, rand.New(rand.NewPCG(cfg.seed, 0)), start)
		}
	}()
	var wg sync.WaitGroup
	for i := range cfg.clients {
		wg.Go(func() { ld.client(ctx, i, cfg.seed) })
	}
	wg.Wait()
	<-faultsDone
	elapsed := time.Since(start)
	for _, h := range procs {
		if !h.alive() {
			t.Errorf("%s is not running at the end of the load:\n%s", h.name, h.out.tail(30))
		}
	}

	db, err := e.openDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	projects := []string{e.small, e.bulk, e.answers}
	drained, pending, drainErr := drain(ctx, db, projects, cfg.drain)
	v, err := check(ctx, e, db, led, ld.countIssue)
	if err != nil {
		t.Fatalf("check the database: %v", err)
	}
	v.drained = drained
	if pending != "" {
		v.notes = append(v.notes, pending)
	}
	if drainErr != nil {
		v.lost = append(v.lost, "drain: "+drainErr.Error())
	}
	close(memDone)
	rep := report(e, st, faults, v, elapsed, cfg.seed, loadBefore, loadAverage())
	if path := os.Getenv("LABELHUB_SOAK_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			_, err = f.WriteString(rep + "\n")
			f.Close()
		}
		if err != nil {
			t.Errorf("write the report: %v", err)
		}
	}
	t.Log("\n" + strings.TrimSpace(rep))
	if !v.ok() {
		for _, h := range e.hubs {
			t.Logf("%s log (end):\n%s", h.name, h.out.tail(40))
		}
		t.Errorf("the soak lost %d, duplicated %d acknowledged writes and found %d wrong counts (see the report)", len(v.lost), len(v.duplicated), len(v.counts))
	}
}
