package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

// forEachStore runs fn on a fresh SQLite store and a fresh PostgreSQL store.
func forEachStore(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, open(t, filepath.Join(t.TempDir(), "test.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, open(t, testservers.Postgres(t)))
	})
}

func open(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newOrg(t *testing.T, s *sqlstore.Store, email string) (labelhub.Organization, labelhub.User, string) {
	t.Helper()
	o, u, key, err := s.CreateOrg(context.Background(), labelhub.NewOrg{Name: "Org " + email, AdminEmail: email, AdminPassword: "correct horse battery"}, false)
	if err != nil {
		t.Fatal(err)
	}
	return o, u, key
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := labelhub.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{filepath.Join(t.TempDir(), "re.db"), testservers.Postgres(t)} {
		s := open(t, dsn)
		newOrg(t, s, "re@example.com")
		s.Close()
		s2 := open(t, dsn)
		if n, err := s2.CountOrgs(ctx); err != nil || n != 1 {
			t.Fatalf("%s: after reopen CountOrgs = %d, %v", s2.Dialect(), n, err)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org, admin, key := newOrg(t, s, "admin@example.com")
		a, err := s.Authenticate(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if a.User.ID != admin.ID || a.Org.ID != org.ID || a.User.Role != labelhub.RoleAdmin {
			t.Fatalf("actor = %+v", a)
		}
		k, err := s.GetAPIKey(ctx, org.ID, a.APIKeyID)
		if err != nil {
			t.Fatal(err)
		}
		if k.LastUsedAt == nil {
			t.Fatal("last-used time not recorded")
		}
		if k.Prefix != key[:10] {
			t.Fatalf("prefix %q does not start the key", k.Prefix)
		}
		// A wrong key, a key of another shape, and a revoked key are refused.
		wrong := key[:len(key)-1] + "x"
		if key[len(key)-1] == 'x' {
			wrong = key[:len(key)-1] + "y"
		}
		for _, bad := range []string{wrong, "nonsense", ""} {
			_, err := s.Authenticate(ctx, bad)
			wantCode(t, err, labelhub.ECodeUnauthorized)
		}
		k2, key2, err := s.CreateAPIKey(ctx, org.ID, admin.ID, "script")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKey(ctx, org.ID, k2.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Authenticate(ctx, key2)
		wantCode(t, err, labelhub.ECodeUnauthorized)
		if _, err := s.Authenticate(ctx, key); err != nil {
			t.Fatalf("revoking one key broke another: %v", err)
		}
		// Another organisation cannot see or revoke the key.
		org2, _, _ := newOrg(t, s, "other@example.com")
		wantCode(t, s.RevokeAPIKey(ctx, org2.ID, a.APIKeyID), labelhub.ECodeNotFound)
		_, err = s.GetAPIKey(ctx, org2.ID, a.APIKeyID)
		wantCode(t, err, labelhub.ECodeNotFound)
		keys, err := s.ListAPIKeys(ctx, org.ID, "", labelhub.PageRequest{})
		if err != nil || len(keys.Items) != 2 {
			t.Fatalf("keys = %+v, %v", keys, err)
		}
	})
}

func TestUsersAndLogin(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "admin@example.com")
		u, err := s.CreateUser(ctx, org.ID, labelhub.NewUser{Email: "Lab@Example.com", Name: "Lab", Role: labelhub.RoleLabeler, Password: "long enough pw"})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "lab@example.com" {
			t.Fatalf("email not normalised: %q", u.Email)
		}
		_, err = s.CreateUser(ctx, org.ID, labelhub.NewUser{Email: "lab@example.com", Role: labelhub.RoleLabeler})
		wantCode(t, err, labelhub.ECodeConflict)
		_, err = s.CreateUser(ctx, org.ID, labelhub.NewUser{Email: "not an email", Role: "boss", Password: "short"})
		wantCode(t, err, labelhub.ECodeInvalid)
		details := err.(*labelhub.Error).Details
		if len(details) != 3 || details[0].Path != "email" || details[1].Path != "role" || details[2].Path != "password" {
			t.Fatalf("details = %+v", details)
		}
		if got, err := s.Login(ctx, "LAB@example.com", "long enough pw"); err != nil || got.ID != u.ID {
			t.Fatalf("login = %+v, %v", got, err)
		}
		_, err = s.Login(ctx, "lab@example.com", "wrong password")
		wantCode(t, err, labelhub.ECodeUnauthorized)
		_, err = s.Login(ctx, "nobody@example.com", "long enough pw")
		wantCode(t, err, labelhub.ECodeUnauthorized)
		// A user without a password cannot log in with an empty one.
		nopw, _ := s.CreateUser(ctx, org.ID, labelhub.NewUser{Email: "bot@example.com", Role: labelhub.RoleLabeler})
		_, err = s.Login(ctx, nopw.Email, "")
		wantCode(t, err, labelhub.ECodeUnauthorized)
	})
}

func TestSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		_, admin, _ := newOrg(t, s, "admin@example.com")
		token, csrf, err := s.CreateSession(ctx, admin.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		a, gotCSRF, err := s.SessionActor(ctx, token)
		if err != nil || a.User.ID != admin.ID || gotCSRF != csrf || csrf == "" {
			t.Fatalf("SessionActor = %+v, %q, %v", a, gotCSRF, err)
		}
		expired, _, err := s.CreateSession(ctx, admin.ID, -time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.SessionActor(ctx, expired)
		wantCode(t, err, labelhub.ECodeUnauthorized)
		if err := s.DeleteSession(ctx, token); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.SessionActor(ctx, token)
		wantCode(t, err, labelhub.ECodeUnauthorized)
	})
}

func TestProjectsAreIsolatedAndPaged(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		orgA, userA, _ := newOrg(t, s, "a@example.com")
		orgB, _, _ := newOrg(t, s, "b@example.com")
		var ids []string
		for i := range 5 {
			name := string(rune('A' + i))
			p, err := s.CreateProject(ctx, orgA.ID, userA.ID, labelhub.ProjectInput{Name: &name})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
		}
		// Three pages of two, in creation order, the last without a cursor.
		var seen []string
		cursor := ""
		for range 3 {
			pg, err := s.ListProjects(ctx, orgA.ID, labelhub.PageRequest{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pg.Items {
				seen = append(seen, p.ID)
			}
			cursor = pg.NextCursor
		}
		if cursor != "" || len(seen) != 5 {
			t.Fatalf("paged %d projects, last cursor %q", len(seen), cursor)
		}
		for i := range ids {
			if seen[i] != ids[i] {
				t.Fatalf("page order %v, want %v", seen, ids)
			}
		}
		_, err := s.ListProjects(ctx, orgA.ID, labelhub.PageRequest{Cursor: "garbage"})
		wantCode(t, err, labelhub.ECodeInvalid)
		_, err = s.ListProjects(ctx, orgA.ID, labelhub.PageRequest{Limit: 1001})
		wantCode(t, err, labelhub.ECodeInvalid)

		// Organisation B sees none of A's projects.
		pg, err := s.ListProjects(ctx, orgB.ID, labelhub.PageRequest{})
		if err != nil || len(pg.Items) != 0 {
			t.Fatalf("org B lists %d projects, %v", len(pg.Items), err)
		}
		_, err = s.GetProject(ctx, orgB.ID, ids[0])
		wantCode(t, err, labelhub.ECodeNotFound)
		newName := "stolen"
		_, err = s.UpdateProject(ctx, orgB.ID, ids[0], labelhub.ProjectInput{Name: &newName})
		wantCode(t, err, labelhub.ECodeNotFound)
		wantCode(t, s.DeleteProject(ctx, orgB.ID, ids[0]), labelhub.ECodeNotFound)
		_, err = s.CreateBatch(ctx, orgB.ID, ids[0], "b")
		wantCode(t, err, labelhub.ECodeNotFound)
		if p, err := s.GetProject(ctx, orgA.ID, ids[0]); err != nil || p.Name != "A" {
			t.Fatalf("project after B's attempts: %+v, %v", p, err)
		}
	})
}

func TestProjectSchemaAndBatches(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org, user, _ := newOrg(t, s, "a@example.com")
		name := "Cars"
		schema := &labelhub.CategorySchema{Tools: []labelhub.SchemaTool{{Title: "Car", Tool: "bounding-box"}}}
		p, err := s.CreateProject(ctx, org.ID, user.ID, labelhub.ProjectInput{Name: &name, CategorySchema: schema})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetProject(ctx, org.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.CategorySchema.Tools) != 1 || got.CategorySchema.Tools[0].SchemaID == "" || got.CategorySchema.Tools[0].Title != "Car" {
			t.Fatalf("stored schema = %+v", got.CategorySchema)
		}
		// An invalid schema is refused and the stored one is unchanged.
		bad := &labelhub.CategorySchema{Tools: []labelhub.SchemaTool{{Title: "X", Tool: "lasso"}}}
		_, err = s.UpdateProject(ctx, org.ID, p.ID, labelhub.ProjectInput{CategorySchema: bad})
		wantCode(t, err, labelhub.ECodeInvalid)
		if d := err.(*labelhub.Error).Details; len(d) == 0 || d[0].Path != "categorySchema.tools[0].tool" {
			t.Fatalf("details = %+v", d)
		}
		if again, _ := s.GetProject(ctx, org.ID, p.ID); again.CategorySchema.Tools[0].Tool != "bounding-box" {
			t.Fatalf("schema changed by a refused update: %+v", again.CategorySchema)
		}

		b, err := s.CreateBatch(ctx, org.ID, p.ID, "batch-1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateBatch(ctx, org.ID, p.ID, "batch-1")
		wantCode(t, err, labelhub.ECodeConflict)
		_, err = s.CreateBatch(ctx, org.ID, p.ID, "")
		wantCode(t, err, labelhub.ECodeInvalid)
		if err := s.DeleteProject(ctx, org.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetBatch(ctx, org.ID, b.ID)
		wantCode(t, err, labelhub.ECodeNotFound)
	})
}
