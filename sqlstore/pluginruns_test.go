package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// The hub's calls of a write that go last (pluginhub.lastCall).
type lastCaller interface {
	LastCall() labelhub.PluginStore
}

type exportRunCreator interface {
	CreateExportRun(ctx context.Context, r labelhub.Run, f labelhub.ExportFilter, config *string, token string, maxQueued int) (string, json.RawMessage, error)
}

type noticeFinisher interface {
	FinishRunNotice(ctx context.Context, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (bool, *labelhub.Notification, error)
	AddNotification(ctx context.Context, n labelhub.Notification) (labelhub.Notification, error)
}

// The numTasks of an export run counted by the INSERT of the run is the
// count ExportRunParams gives, in the same params, byte for byte; the
// notice read by the finishing UPDATE is the one RunEnded adds.
func TestExportRunCountedByItsInsert(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newTaskFixture(t, s, "admin@example.com", 10)
		p, _, err := s.CreatePlugin(ctx, f.org.ID, f.admin.ID, labelhub.PluginInput{Name: ptr(`E "x"`), Type: ptr(labelhub.PluginExport)})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		for _, params := range []string{``, `{}`, `{"numTasks":999}`, `{"batches":["evens"],"a":1}`, `{"stage":"start","zz":[1,2],"includeHistory":true}`,
			`{"updatedAfter":"2000-01-01T00:00:00Z","numTasks":1,"z":"<&>"}`} {
			want, err := s.ExportRunParams(ctx, f.org.ID, f.project.ID, json.RawMessage(params))
			if err != nil {
				t.Fatal(err)
			}
			without, filter, err := s.ExportRunFilter(ctx, f.org.ID, f.project.ID, json.RawMessage(params))
			if err != nil {
				t.Fatal(err)
			}
			r := labelhub.Run{ID: labelhub.NewID(), OrgID: f.org.ID, PluginID: p.ID, ProjectID: f.project.ID, RunBy: f.admin.ID, Params: without,
				State: labelhub.RunRunning, InstanceID: "inst", Attempts: 1, StartedAt: &t0, CreatedAt: t0, Deadline: t0.Add(time.Hour)}
			var got json.RawMessage
			err = s.RunBatch(ctx, 1, func(_ int, st labelhub.PluginStore) error {
				_, got, err = st.(lastCaller).LastCall().(exportRunCreator).CreateExportRun(ctx, r, filter, nil, sqlstore.NewRunToken(), 10)
				return err
			})
			stored, _ := s.GetRun(ctx, f.org.ID, r.ID)
			if err != nil || string(got) != string(want) || string(stored.Params) != string(want) {
				t.Fatalf("params %s: counted by the insert %s (stored %s), %v; want %s", params, got, stored.Params, err, want)
			}
			var notice *labelhub.Notification
			err = s.RunBatch(ctx, 1, func(_ int, st labelhub.PluginStore) error {
				var ok bool
				ok, notice, err = st.(lastCaller).LastCall().(noticeFinisher).FinishRunNotice(ctx, r.ID, "inst", labelhub.RunFailed, nil, "boom", t0)
				if !ok {
					return errors.New("not finished")
				}
				return err
			})
			wantMsg := `Your export "E \"x\"" of ` + f.project.Name + ` failed: boom`
			if err != nil || notice == nil || notice.Message != wantMsg || notice.UserID != f.admin.ID || notice.OrgID != f.org.ID ||
				notice.RunID != r.ID || notice.Kind != labelhub.NotifyExportFailed {
				t.Fatalf("notice %+v, %v", notice, err)
			}
		}
	})
}

// On PostgreSQL the COMMIT of a batch whose writes all end with their
// last call goes with their statements; a write that fails then changed
// nothing and fails alone (WriteErrors), the others are committed. On
// SQLite the batch fails as a whole (the hub then tries each write
// alone).
func TestRunBatchCommitsWithTheLastCalls(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org, admin, _ := newOrg(t, s, "admin@example.com")
		p, _, err := s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("E"), Type: ptr(labelhub.PluginExport)})
		if err != nil {
			t.Fatal(err)
		}
		proj, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: ptr("P")})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		runs := make([]labelhub.Run, 12)
		for i := range runs {
			runs[i] = labelhub.Run{ID: labelhub.NewID(), OrgID: org.ID, PluginID: p.ID, ProjectID: proj.ID, RunBy: admin.ID, CreatedAt: t0, Deadline: t0.Add(time.Hour)}
			if i%2 == 0 {
				runs[i].State, runs[i].InstanceID, runs[i].Attempts, runs[i].StartedAt = labelhub.RunRunning, "inst", 1, &t0
			}
		}
		const bad = 5
		runs[bad].ProjectID = labelhub.NewID()
		type creator interface {
			CreatePluginRun(ctx context.Context, r labelhub.Run, config *string, token string, maxQueued int) (string, error)
		}
		err = s.RunBatch(ctx, len(runs), func(i int, st labelhub.PluginStore) error {
			_, err := st.(lastCaller).LastCall().(creator).CreatePluginRun(ctx, runs[i], nil, sqlstore.NewRunToken(), 100)
			return err
		})
		var we interface{ WriteErrors() []error }
		if errors.As(err, &we) {
			errs := we.WriteErrors()
			for i, r := range runs {
				_, gerr := s.GetRun(ctx, org.ID, r.ID)
				if i == bad {
					if labelhub.ErrorCode(errs[i]) != labelhub.ECodeNotFound || labelhub.ErrorCode(gerr) != labelhub.ECodeNotFound {
						t.Fatalf("the bad write: %v; stored: %v", errs[i], gerr)
					}
					continue
				}
				if errs[i] != nil || gerr != nil {
					t.Fatalf("write %d: %v; stored: %v", i, errs[i], gerr)
				}
			}
			return
		}
		if strings.HasSuffix(t.Name(), "/postgres") {
			t.Fatalf("on PostgreSQL: %v, want WriteErrors", err)
		}
		wantCode(t, err, labelhub.ECodeNotFound)
		for i, r := range runs {
			if _, err := s.GetRun(ctx, org.ID, r.ID); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
				t.Fatalf("run %d of a failed batch: %v", i, err)
			}
		}
	})
}
