package pluginhub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/testservers"
)

// Twenty CreateRun calls on two replicas race for a limit of five queued
// runs of a plugin (no instance is connected, so every run would be
// queued): five are stored, the others are refused with rate_limited
// naming the limit and leave no run; a cancelled run frees a place.
func TestMaxQueuedRuns(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "hub.db")
			if db == "postgres" {
				dsn = testservers.Postgres(t)
			}
			s1, s2 := openStore(t, dsn), openStore(t, dsn)
			e := newEnv(t, s1, pluginhub.Config{ReplicaID: "one", MaxQueuedRuns: 5}, labelhub.PluginExport)
			h2, _ := startHub(t, s2, pluginhub.Config{ReplicaID: "two", MaxQueuedRuns: 5})
			hubs := []*pluginhub.Hub{e.hub, h2}
			ctx := context.Background()
			in := labelhub.RunInput{ProjectID: e.project.ID, Params: json.RawMessage(`{}`)}
			var wg sync.WaitGroup
			errs := make([]error, 20)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = hubs[i%2].CreateRun(ctx, e.actor, e.plugin.ID, in)
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch labelhub.ErrorCode(err) {
				case "":
					ok++
				case labelhub.ECodeRateLimited:
				default:
					t.Fatalf("CreateRun: %v", err)
				}
			}
			runs, err := s1.ListRuns(ctx, e.actor.Org.ID, e.project.ID, labelhub.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if ok != 5 || len(runs.Items) != 5 {
				t.Fatalf("%d runs created, %d stored; want 5", ok, len(runs.Items))
			}
			_, err = e.hub.CreateRun(ctx, e.actor, e.plugin.ID, in)
			want := fmt.Sprintf("plugin %s has 5 runs queued, the limit (--plugin-max-queued-runs); wait for some to start or end, or connect more instances of the plugin", e.plugin.ID)
			if labelhub.ErrorCode(err) != labelhub.ECodeRateLimited || err.Error() != want {
				t.Fatalf("a sixth run: %v, want rate_limited %q", err, want)
			}
			if _, err := h2.Cancel(ctx, e.actor.Org.ID, runs.Items[0].ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.hub.CreateRun(ctx, e.actor, e.plugin.ID, in); err != nil {
				t.Fatalf("after a cancel: %v", err)
			}
			if _, err := h2.CreateRun(ctx, e.actor, e.plugin.ID, in); labelhub.ErrorCode(err) != labelhub.ECodeRateLimited {
				t.Fatalf("at the limit again: %v", err)
			}
			if runs, _ = s2.ListRuns(ctx, e.actor.Org.ID, e.project.ID, labelhub.PageRequest{}); len(runs.Items) != 6 {
				t.Fatalf("%d runs stored, want 6 (one cancelled)", len(runs.Items))
			}
		})
	}
}
