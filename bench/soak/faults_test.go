package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/labelhub/labelhub/testservers"
)

// fault is one injected fault: when (since the load started), how long
// until what it broke was back, and what was done.
type fault struct {
	kind   string
	at     time.Duration
	lasted time.Duration
	detail string
}

// injectFaults runs one fault of each kind, in a random order, each at a
// random moment of its own third of the middle of the load (from 10% to
// 80% of it), so they do not overlap and all end before the load does.
func (ld *load) injectFaults(ctx context.Context, r *rand.Rand, start time.Time) []fault {
	e := ld.e
	d := e.cfg.duration
	kinds := []string{"replica", "plugin", "minio"}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	slot := d * 70 / 100 / time.Duration(len(kinds))
	var out []fault
	for k, kind := range kinds {
		room := slot - e.cfg.pause - 2*time.Second
		if room < time.Millisecond {
			room = time.Millisecond
		}
		at := d/10 + time.Duration(k)*slot + time.Duration(r.Int64N(int64(room)))
		select {
		case <-ctx.Done():
			return out
		case <-time.After(time.Until(start.Add(at))):
		}
		f := fault{kind: kind, at: time.Since(start)}
		began := time.Now()
		switch kind {
		case "replica":
			i := r.IntN(len(e.hubs))
			h := e.hubs[i]
			pid := h.pid()
			h.kill9()
			time.Sleep(time.Second)
			if err := h.start(); err != nil {
				f.detail = fmt.Sprintf("killed %s (pid %d) with SIGKILL; restart failed: %v", h.name, pid, err)
				break
			}
			err := waitReady(e.urls[i], h)
			f.detail = fmt.Sprintf("killed %s (pid %d) with SIGKILL, started it again on the same port and data folder 1 s later; ready after %s (%v)",
				h.name, pid, time.Since(began).Round(100*time.Millisecond), errOr(err, "ok"))
		case "plugin":
			p := e.exportProc
			pid := p.pid()
			p.kill9()
			time.Sleep(time.Second)
			err := p.start()
			f.detail = fmt.Sprintf("killed the %s (pid %d) with SIGKILL, its connection cut; started again 1 s later (%v)", p.name, pid, errOr(err, "ok"))
		case "minio":
			resume := testservers.PauseMinIO(e.t)
			time.Sleep(e.cfg.pause)
			resume()
			f.detail = fmt.Sprintf("MinIO stopped with SIGSTOP for %s (connections hang), then SIGCONT", e.cfg.pause)
		}
		f.lasted = time.Since(began)
		out = append(out, f)
	}
	return out
}

func errOr(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}
