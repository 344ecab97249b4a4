package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// An artifact record follows its run: only a running run takes one, a
// second upload replaces it (returning the old key), another organisation
// sees nothing, the sweeper's query finds it once it is due, and marking it
// expired is refused for a key that was replaced meanwhile.
func TestRunArtifacts(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org, admin, _ := newOrg(t, s, "admin@example.com")
		org2, _, _ := newOrg(t, s, "other@example.com")
		p, _, err := s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("zip"), Type: ptr(labelhub.PluginExport)})
		if err != nil {
			t.Fatal(err)
		}
		proj, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: ptr("P")})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		run := labelhub.Run{ID: labelhub.NewID(), OrgID: org.ID, PluginID: p.ID, ProjectID: proj.ID, RunBy: admin.ID, CreatedAt: t0, Deadline: t0.Add(time.Hour)}
		if err := s.CreateRun(ctx, run, sqlstore.NewRunToken()); err != nil {
			t.Fatal(err)
		}
		a := labelhub.RunArtifact{RunID: run.ID, OrgID: org.ID, Key: "k1", Name: "result.zip", Size: 10, ContentType: "application/zip",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		_, _, err = s.SetRunArtifact(ctx, a)
		wantCode(t, err, labelhub.ECodeConflict) // queued, not running
		other := a
		other.OrgID = org2.ID
		_, _, err = s.SetRunArtifact(ctx, other)
		wantCode(t, err, labelhub.ECodeNotFound)

		if _, ok, err := s.ClaimRun(ctx, run.ID, "inst", t0.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		if _, replaced, err := s.SetRunArtifact(ctx, a); err != nil || replaced {
			t.Fatalf("first upload: replaced %v, %v", replaced, err)
		}
		got, err := s.GetRunArtifact(ctx, org.ID, run.ID)
		if err != nil || got != a {
			t.Fatalf("get = %+v, %v; want %+v", got, err, a)
		}
		_, err = s.GetRunArtifact(ctx, org2.ID, run.ID)
		wantCode(t, err, labelhub.ECodeNotFound)

		b := a
		b.Key, b.Name, b.Size, b.ExpiresAt = "k2", "second.zip", 20, t0.Add(2*time.Hour)
		prev, replaced, err := s.SetRunArtifact(ctx, b)
		if err != nil || !replaced || prev.Key != "k1" {
			t.Fatalf("second upload: prev %+v replaced %v, %v", prev, replaced, err)
		}
		if due, err := s.ExpiredRunArtifacts(ctx, t0.Add(90*time.Minute), 10); err != nil || len(due) != 0 {
			t.Fatalf("due before expiry: %+v, %v", due, err)
		}
		due, err := s.ExpiredRunArtifacts(ctx, t0.Add(2*time.Hour), 10)
		if err != nil || len(due) != 1 || due[0].Key != "k2" {
			t.Fatalf("due at expiry: %+v, %v", due, err)
		}
		// A stale key (the sweeper raced an upload) changes nothing.
		if err := s.MarkRunArtifactExpired(ctx, run.ID, "k1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetRunArtifact(ctx, org.ID, run.ID); got.Expired {
			t.Fatal("marked expired through a replaced key")
		}
		if err := s.MarkRunArtifactExpired(ctx, run.ID, "k2"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetRunArtifact(ctx, org.ID, run.ID); !got.Expired || got.Name != "second.zip" {
			t.Fatalf("after expiry: %+v", got)
		}
		if due, _ := s.ExpiredRunArtifacts(ctx, t0.Add(3*time.Hour), 10); len(due) != 0 {
			t.Fatalf("an expired artifact is due again: %+v", due)
		}

		// After the run ends, no upload is recorded.
		if ok, err := s.FinishRun(ctx, run.ID, "", labelhub.RunSucceeded, nil, ""); err != nil || !ok {
			t.Fatalf("finish: %v %v", ok, err)
		}
		_, _, err = s.SetRunArtifact(ctx, a)
		wantCode(t, err, labelhub.ECodeConflict)
	})
}
