package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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

// RunBatch: many runs' changes in one transaction, statements prepared
// once; a failing change rolls back the whole batch.
func TestRunBatch(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org, admin, _ := newOrg(t, s, "admin@example.com")
		p, _, err := s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("E"), Type: ptr(labelhub.PluginExport), DefaultConfig: ptr(`{"d":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		proj, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: ptr("P")})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		mk := func() labelhub.Run {
			return labelhub.Run{ID: labelhub.NewID(), OrgID: org.ID, PluginID: p.ID, ProjectID: proj.ID, RunBy: admin.ID, CreatedAt: t0, Deadline: t0.Add(time.Hour)}
		}
		// Ten runs stored as running on an instance and finished, in one
		// batch; one more stored as queued.
		var ids []string
		queued := mk()
		at := t0.Add(time.Millisecond)
		err = s.RunBatch(ctx, 1, func(_ int, st labelhub.PluginStore) error {
			if got, err := st.GetPlugin(ctx, org.ID, p.ID); err != nil || got.DefaultConfig != `{"d":1}` {
				t.Errorf("GetPlugin in a batch = %+v, %v", got, err)
			}
			for i := range 10 {
				r := mk()
				r.State, r.InstanceID, r.Attempts, r.StartedAt = labelhub.RunRunning, "inst", 1, &t0
				if err := st.CreateRun(ctx, r, sqlstore.NewRunToken()); err != nil {
					return err
				}
				if err := st.AppendRunLogs(ctx, r.ID, []labelhub.RunLog{{Seq: 1, Time: t0, Level: "info", Message: "hi"}}); err != nil {
					return err
				}
				if i%2 == 0 {
					if ok, err := st.(interface {
						FinishRunAt(context.Context, string, string, labelhub.RunState, json.RawMessage, string, time.Time) (bool, error)
					}).FinishRunAt(ctx, r.ID, "inst", labelhub.RunSucceeded, json.RawMessage(`1`), "", at); err != nil || !ok {
						t.Errorf("finish in a batch = %v, %v", ok, err)
					}
				}
				ids = append(ids, r.ID)
			}
			return st.CreateRun(ctx, queued, sqlstore.NewRunToken())
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			got, err := s.GetRun(ctx, org.ID, id)
			if err != nil || got.InstanceID != "inst" || got.Attempts != 1 || got.StartedAt == nil || !got.StartedAt.Equal(t0) {
				t.Fatalf("run %d = %+v, %v", i, got, err)
			}
			if i%2 == 0 && (got.State != labelhub.RunSucceeded || string(got.Result) != "1" || !got.FinishedAt.Equal(at) || !got.UpdatedAt.Equal(at)) {
				t.Fatalf("finished run %d = %+v", i, got)
			}
			if i%2 == 1 && got.State != labelhub.RunRunning {
				t.Fatalf("running run %d = %+v", i, got)
			}
		}
		if got, _ := s.GetRun(ctx, org.ID, queued.ID); got.State != labelhub.RunQueued || got.InstanceID != "" || got.Attempts != 0 || got.StartedAt != nil {
			t.Fatalf("queued run = %+v", got)
		}
		// CreatePluginRun checks the plugin and the project in its insert
		// and takes the plugin's default config unless given one.
		for _, tc := range []struct {
			config *string
			want   string
		}{{nil, `{"d":1}`}, {ptr(`{"d":2}`), `{"d":2}`}, {ptr(""), ""}} {
			r := mk()
			got, err := s.CreatePluginRun(ctx, r, tc.config, sqlstore.NewRunToken(), 0)
			stored, _ := s.GetRun(ctx, org.ID, r.ID)
			if err != nil || got != tc.want || stored.ConfigJSON != tc.want || stored.State != labelhub.RunQueued {
				t.Fatalf("CreatePluginRun(%v) = %q, %v; stored %+v", tc.config, got, err, stored)
			}
		}
		other := mk()
		other.PluginID = labelhub.NewID()
		_, err = s.CreatePluginRun(ctx, other, nil, sqlstore.NewRunToken(), 0)
		if labelhub.ErrorCode(err) != labelhub.ECodeNotFound || !strings.Contains(err.Error(), "plugin") {
			t.Fatalf("unknown plugin: %v", err)
		}
		other = mk()
		other.ProjectID = labelhub.NewID()
		_, err = s.CreatePluginRun(ctx, other, nil, sqlstore.NewRunToken(), 0)
		if labelhub.ErrorCode(err) != labelhub.ECodeNotFound || !strings.Contains(err.Error(), "project") {
			t.Fatalf("unknown project: %v", err)
		}

		// A batch whose last change fails leaves nothing behind.
		lost := mk()
		err = s.RunBatch(ctx, 1, func(_ int, st labelhub.PluginStore) error {
			if err := st.CreateRun(ctx, lost, sqlstore.NewRunToken()); err != nil {
				return err
			}
			if _, err := st.FinishRun(ctx, ids[1], "inst", labelhub.RunFailed, nil, "boom"); err != nil {
				return err
			}
			bad := mk()
			bad.ProjectID = labelhub.NewID()
			return st.CreateRun(ctx, bad, sqlstore.NewRunToken())
		})
		wantCode(t, err, labelhub.ECodeNotFound)
		if _, err := s.GetRun(ctx, org.ID, lost.ID); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
			t.Fatalf("a run of a failed batch was stored: %v", err)
		}
		if got, _ := s.GetRun(ctx, org.ID, ids[1]); got.State != labelhub.RunRunning {
			t.Fatalf("a finish of a failed batch was stored: %+v", got)
		}
	})
}

// The writes of one batch, applied concurrently on PostgreSQL with their
// statements pipelined: each write's statements keep their order (a run
// is created, claimed, given a token, logged, read back and finished),
// reads see the writes of the batch before them, and one failing write
// rolls back every write of the batch.
func TestRunBatchOfManyWrites(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org, admin, _ := newOrg(t, s, "admin@example.com")
		p, _, err := s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("E"), Type: ptr(labelhub.PluginExport), DefaultConfig: ptr(`{"d":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		proj, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: ptr("P")})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		runs := make([]labelhub.Run, 40)
		for i := range runs {
			runs[i] = labelhub.Run{ID: labelhub.NewID(), OrgID: org.ID, PluginID: p.ID, ProjectID: proj.ID, RunBy: admin.ID, CreatedAt: t0, Deadline: t0.Add(time.Hour)}
		}
		type creator interface {
			CreatePluginRun(ctx context.Context, r labelhub.Run, config *string, token string, maxQueued int) (string, error)
		}
		configs := make([]string, len(runs))
		write := func(i int, st labelhub.PluginStore) error {
			r := runs[i]
			cfg, err := st.(creator).CreatePluginRun(ctx, r, nil, sqlstore.NewRunToken(), 100)
			if err != nil {
				return err
			}
			configs[i] = cfg
			claimed, ok, err := st.ClaimRun(ctx, r.ID, "inst", t0.Add(time.Hour))
			if err != nil || !ok || claimed.Attempts != 1 || claimed.InstanceID != "inst" {
				return fmt.Errorf("claim %d: %+v, %v, %v", i, claimed, ok, err)
			}
			if err := st.(interface {
				SetRunToken(context.Context, string, string) error
			}).SetRunToken(ctx, r.ID, sqlstore.NewRunToken()); err != nil {
				return err
			}
			if err := st.AppendRunLogs(ctx, r.ID, []labelhub.RunLog{{Seq: 1, Time: t0, Level: "info", Message: "hi"}}); err != nil {
				return err
			}
			if seq, err := st.LastRunLogSeq(ctx, r.ID); err != nil || seq != 1 {
				return fmt.Errorf("last log seq %d: %d, %v", i, seq, err)
			}
			ok, err = st.FinishRun(ctx, r.ID, "inst", labelhub.RunSucceeded, json.RawMessage(`true`), "")
			if err != nil || !ok {
				return fmt.Errorf("finish %d: %v, %v", i, ok, err)
			}
			return nil
		}
		if err := s.RunBatch(ctx, len(runs)/2, write); err != nil {
			t.Fatal(err)
		}
		for i, r := range runs[:len(runs)/2] {
			got, err := s.GetRun(ctx, org.ID, r.ID)
			if err != nil || got.State != labelhub.RunSucceeded || configs[i] != `{"d":1}` || got.ConfigJSON != `{"d":1}` {
				t.Fatalf("run %d = %+v (config %q), %v", i, got, configs[i], err)
			}
		}
		// The second half, with one write of an unknown project among them.
		rest := runs[len(runs)/2:]
		rest[7].ProjectID = labelhub.NewID()
		err = s.RunBatch(ctx, len(rest), func(i int, st labelhub.PluginStore) error { return write(len(runs)/2+i, st) })
		wantCode(t, err, labelhub.ECodeNotFound)
		for i, r := range rest {
			if _, err := s.GetRun(ctx, org.ID, r.ID); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
				t.Fatalf("run %d of a failed batch: %v", i, err)
			}
		}
	})
}
