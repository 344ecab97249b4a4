package sqlstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

func ptr[T any](v T) *T { return &v }

func TestPlugins(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org, admin, _ := newOrg(t, s, "admin@example.com")
		org2, _, _ := newOrg(t, s, "other@example.com")
		_, _, err := s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("x"), Type: ptr(labelhub.PluginType("nope"))})
		wantCode(t, err, labelhub.ECodeInvalid)
		_, _, err = s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("x"), Type: ptr(labelhub.PluginExport), DefaultConfig: ptr("{bad")})
		wantCode(t, err, labelhub.ECodeInvalid)
		p, secret, err := s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("COCO"), Type: ptr(labelhub.PluginExport), DefaultConfig: ptr(`{"a":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.AuthenticatePlugin(ctx, p.ID, secret); err != nil || got.ID != p.ID || got.Type != labelhub.PluginExport || got.DefaultConfig != `{"a":1}` {
			t.Fatalf("authenticate = %+v, %v", got, err)
		}
		for _, bad := range []string{secret + "x", "", "lh_abc"} {
			_, err := s.AuthenticatePlugin(ctx, p.ID, bad)
			wantCode(t, err, labelhub.ECodeUnauthorized)
		}
		_, err = s.GetPlugin(ctx, org2.ID, p.ID)
		wantCode(t, err, labelhub.ECodeNotFound)
		_, err = s.RotatePluginSecret(ctx, org2.ID, p.ID)
		wantCode(t, err, labelhub.ECodeNotFound)
		secret2, err := s.RotatePluginSecret(ctx, org.ID, p.ID)
		if err != nil || secret2 == secret {
			t.Fatalf("rotate: %v", err)
		}
		_, err = s.AuthenticatePlugin(ctx, p.ID, secret)
		wantCode(t, err, labelhub.ECodeUnauthorized)
		if _, err := s.AuthenticatePlugin(ctx, p.ID, secret2); err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdatePlugin(ctx, org.ID, p.ID, labelhub.PluginInput{Type: ptr(labelhub.PluginFileExplorer)})
		wantCode(t, err, labelhub.ECodeInvalid)
		up, err := s.UpdatePlugin(ctx, org.ID, p.ID, labelhub.PluginInput{Description: ptr("exports COCO")})
		if err != nil || up.Description != "exports COCO" || up.Name != "COCO" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		list, err := s.ListPlugins(ctx, org2.ID, labelhub.PageRequest{})
		if err != nil || len(list.Items) != 0 {
			t.Fatalf("org2 sees %+v", list)
		}

		proj, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: ptr("P")})
		if err != nil {
			t.Fatal(err)
		}
		pr, err := s.SavePreset(ctx, org.ID, admin.ID, labelhub.Preset{ProjectID: proj.ID, PluginID: p.ID, Name: "fast", ConfigJSON: `{"q":1}`})
		if err != nil {
			t.Fatal(err)
		}
		pr2, err := s.SavePreset(ctx, org.ID, admin.ID, labelhub.Preset{ProjectID: proj.ID, PluginID: p.ID, Name: "fast", ConfigJSON: `{"q":2}`})
		if err != nil || pr2.ID != pr.ID {
			t.Fatalf("save again = %+v, %v", pr2, err)
		}
		_, err = s.SavePreset(ctx, org2.ID, admin.ID, labelhub.Preset{ProjectID: proj.ID, PluginID: p.ID, Name: "x"})
		wantCode(t, err, labelhub.ECodeNotFound)
		ps, err := s.ListPresets(ctx, org.ID, proj.ID, p.ID, labelhub.PageRequest{})
		if err != nil || len(ps.Items) != 1 || ps.Items[0].ConfigJSON != `{"q":2}` {
			t.Fatalf("presets = %+v, %v", ps, err)
		}

		// A run's life.
		t0 := time.Now().UTC()
		run := labelhub.Run{ID: labelhub.NewID(), OrgID: org.ID, PluginID: p.ID, ProjectID: proj.ID, ConfigJSON: `{}`, RunBy: admin.ID,
			Params: json.RawMessage(`{"folder":"a/"}`), CreatedAt: t0, Deadline: t0.Add(time.Minute)}
		token := sqlstore.NewRunToken()
		if err := s.CreateRun(ctx, run, token); err != nil {
			t.Fatal(err)
		}
		bad := run
		bad.ID, bad.OrgID = labelhub.NewID(), org2.ID
		wantCode(t, s.CreateRun(ctx, bad, sqlstore.NewRunToken()), labelhub.ECodeNotFound)
		if got, err := s.RunByToken(ctx, token); err != nil || got.ID != run.ID {
			t.Fatalf("by token = %+v, %v", got, err)
		}
		q, err := s.QueuedRuns(ctx, []string{p.ID}, 10)
		if err != nil || len(q) != 1 || q[0].ID != run.ID || string(q[0].Params) != `{"folder":"a/"}` {
			t.Fatalf("queued = %+v, %v", q, err)
		}
		inst := labelhub.PluginInstance{ID: labelhub.NewID(), PluginID: p.ID, ReplicaID: "r1", Host: "box", Concurrency: 2, ConnectedAt: t0, LastSeen: t0}
		if err := s.RegisterInstance(ctx, inst); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.ClaimRun(ctx, run.ID, inst.ID, t0.Add(time.Hour))
		if err != nil || !ok || got.State != labelhub.RunRunning || got.Attempts != 1 || got.StartedAt == nil {
			t.Fatalf("claim = %+v, %v, %v", got, ok, err)
		}
		if _, ok, _ := s.ClaimRun(ctx, run.ID, "other", t0); ok {
			t.Fatal("claimed twice")
		}
		if err := s.SetRunProgress(ctx, run.ID, inst.ID, labelhub.RunProgress{Done: 3, Total: 9, Message: "m"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendRunLogs(ctx, run.ID, []labelhub.RunLog{{Seq: 1, Time: t0, Level: "info", Message: "one", Attrs: json.RawMessage(`{"k":"v"}`)}, {Seq: 2, Time: t0, Level: "warn", Message: "two"}}); err != nil {
			t.Fatal(err)
		}
		logs, err := s.ListRunLogs(ctx, org.ID, run.ID, 1, 10)
		if err != nil || len(logs) != 1 || logs[0].Message != "two" {
			t.Fatalf("logs = %+v, %v", logs, err)
		}
		_, err = s.ListRunLogs(ctx, org2.ID, run.ID, 0, 10)
		wantCode(t, err, labelhub.ECodeNotFound)
		if n, _ := s.LastRunLogSeq(ctx, run.ID); n != 2 {
			t.Fatalf("last seq %d", n)
		}
		// The instance goes away: recovery puts the run back in the queue.
		if err := s.DeleteInstance(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.RecoverRuns(ctx, t0.Add(-time.Hour), 2, t0.Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("recover = %d, %v", n, err)
		}
		got, _ = s.GetRun(ctx, org.ID, run.ID)
		if got.State != labelhub.RunQueued || got.InstanceID != "" {
			t.Fatalf("after recovery %+v", got)
		}
		if _, ok, _ := s.ClaimRun(ctx, run.ID, "inst2", t0.Add(time.Hour)); !ok {
			t.Fatal("second claim failed")
		}
		// The second attempt's instance goes too: the run fails, naming why.
		if n, err := s.RecoverRuns(ctx, t0.Add(-time.Hour), 2, t0.Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("recover = %d, %v", n, err)
		}
		got, _ = s.GetRun(ctx, org.ID, run.ID)
		if got.State != labelhub.RunFailed || got.Error == "" || got.FinishedAt == nil || got.Attempts != 2 {
			t.Fatalf("after second loss %+v", got)
		}
		if _, err := s.RunByToken(ctx, token); labelhub.ErrorCode(err) != labelhub.ECodeUnauthorized {
			t.Fatalf("token outlives its run: %v", err)
		}
		if ok, _ := s.FinishRun(ctx, run.ID, "", labelhub.RunSucceeded, nil, ""); ok {
			t.Fatal("a final run was finished again")
		}

		// Cancel: a queued run ends at once; a running one is marked.
		mk := func(deadline time.Time) labelhub.Run {
			r := run
			r.ID, r.Deadline = labelhub.NewID(), deadline
			if err := s.CreateRun(ctx, r, sqlstore.NewRunToken()); err != nil {
				t.Fatal(err)
			}
			return r
		}
		r1 := mk(t0.Add(time.Minute))
		c, err := s.RequestCancel(ctx, org.ID, r1.ID)
		if err != nil || c.State != labelhub.RunCancelled {
			t.Fatalf("cancel queued = %+v, %v", c, err)
		}
		r2 := mk(t0.Add(time.Minute))
		s.ClaimRun(ctx, r2.ID, "i", t0.Add(time.Hour))
		c, err = s.RequestCancel(ctx, org.ID, r2.ID)
		if err != nil || c.State != labelhub.RunRunning || !c.CancelRequested {
			t.Fatalf("cancel running = %+v, %v", c, err)
		}
		if ids, _ := s.CancelRequested(ctx, []string{r1.ID, r2.ID}); len(ids) != 1 || ids[0] != r2.ID {
			t.Fatalf("cancel requested = %v", ids)
		}
		_, err = s.RequestCancel(ctx, org2.ID, r2.ID)
		wantCode(t, err, labelhub.ECodeNotFound)
		// Deadlines.
		r3 := mk(t0.Add(-time.Second))
		exp, err := s.ExpireRuns(ctx, time.Now())
		if err != nil || len(exp) != 1 || exp[0].ID != r3.ID || exp[0].State != labelhub.RunTimedOut {
			t.Fatalf("expired = %+v, %v", exp, err)
		}
		runs, err := s.ListRuns(ctx, org.ID, proj.ID, labelhub.PageRequest{})
		if err != nil || len(runs.Items) != 4 {
			t.Fatalf("runs = %d, %v", len(runs.Items), err)
		}
		if err := s.DeletePlugin(ctx, org.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeletePlugin(ctx, org.ID, p.ID), labelhub.ECodeNotFound)
	})
}
