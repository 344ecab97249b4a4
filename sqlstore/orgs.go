package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/labelhub/labelhub"
)

// Limits on credentials.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 72 // bcrypt reads no further
	apiKeyPrefixLen   = 10
	lastUsedEvery     = time.Minute // last-used times are written at most this often
)

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newSecret returns n random bytes as text, prefixed.
func newSecret(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(keyEncoding.EncodeToString(b))
}

// hashSecret hashes a high-entropy secret (API key, session token). Such
// secrets need no slow KDF: guessing 200 random bits is hopeless anyway.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// dummyHash makes failed logins for unknown emails as slow as wrong passwords.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("labelhub-dummy-password"), bcrypt.DefaultCost)

// validateUser checks a new user. With a prefix, field names are
// prefixed in camel case ("admin" + "email" → "adminEmail").
func validateUser(p *labelhub.Problems, u labelhub.NewUser, prefix string) {
	field := func(f string) string {
		if prefix == "" {
			return f
		}
		return prefix + strings.ToUpper(f[:1]) + f[1:]
	}
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || len(u.Email) > 254 {
		p.Add(field("email"), "is not a plain email address like ada@example.com")
	}
	if len(u.Name) > labelhub.MaxNameLength {
		p.Add(field("name"), "is longer than %d bytes", labelhub.MaxNameLength)
	}
	if !u.Role.Valid() {
		p.Add(field("role"), "must be one of admin, project-manager, reviewer, labeler")
	}
	if u.Password != "" && (len(u.Password) < MinPasswordLength || len(u.Password) > MaxPasswordLength) {
		p.Add(field("password"), "must be %d to %d bytes long", MinPasswordLength, MaxPasswordLength)
	}
}

// CreateOrg implements labelhub.OrgStore.
func (s *Store) CreateOrg(ctx context.Context, o labelhub.NewOrg, root bool) (labelhub.Organization, labelhub.User, string, error) {
	var p labelhub.Problems
	if o.Name == "" || len(o.Name) > labelhub.MaxNameLength {
		p.Add("name", "is required, at most %d bytes", labelhub.MaxNameLength)
	}
	nu := labelhub.NewUser{Email: o.AdminEmail, Name: o.AdminName, Role: labelhub.RoleAdmin, Password: o.AdminPassword}
	validateUser(&p, nu, "admin")
	if err := p.Err("invalid organization"); err != nil {
		return labelhub.Organization{}, labelhub.User{}, "", err
	}
	org := labelhub.Organization{ID: labelhub.NewID(), Name: o.Name, Root: root, CreatedAt: now()}
	var user labelhub.User
	var key string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, name, root, created_at) VALUES ($1, $2, $3, $4)`,
			org.ID, org.Name, org.Root, micros(org.CreatedAt)); err != nil {
			return err
		}
		var err error
		if user, err = s.createUser(ctx, tx, org.ID, nu); err != nil {
			return err
		}
		_, key, err = s.createAPIKey(ctx, tx, org.ID, user.ID, "initial admin key")
		return err
	})
	return org, user, key, err
}

// ListOrgs implements labelhub.OrgStore.
func (s *Store) ListOrgs(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Organization], error) {
	return page(ctx, s.db, p, `SELECT id, name, root, created_at FROM organizations WHERE id > $1 ORDER BY id LIMIT $2`, nil,
		func(r *sql.Rows) (labelhub.Organization, string, error) {
			var o labelhub.Organization
			var at int64
			err := r.Scan(&o.ID, &o.Name, &o.Root, &at)
			o.CreatedAt = fromMicros(at)
			return o, o.ID, err
		})
}

// CountOrgs implements labelhub.OrgStore.
func (s *Store) CountOrgs(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations`).Scan(&n)
	return n, err
}

// CreateUser implements labelhub.OrgStore.
func (s *Store) CreateUser(ctx context.Context, orgID string, u labelhub.NewUser) (labelhub.User, error) {
	var p labelhub.Problems
	validateUser(&p, u, "")
	if err := p.Err("invalid user"); err != nil {
		return labelhub.User{}, err
	}
	return s.createUser(ctx, s.db, orgID, u)
}

func (s *Store) createUser(ctx context.Context, q querier, orgID string, u labelhub.NewUser) (labelhub.User, error) {
	user := labelhub.User{ID: labelhub.NewID(), OrgID: orgID, Email: strings.ToLower(u.Email), Name: u.Name, Role: u.Role, CreatedAt: now()}
	if u.Password != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.DefaultCost)
		if err != nil {
			return labelhub.User{}, err
		}
		user.PasswordHash = string(h)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO users (id, org_id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		user.ID, orgID, user.Email, user.Name, string(user.Role), user.PasswordHash, micros(user.CreatedAt))
	if isUnique(err) {
		return labelhub.User{}, labelhub.Errorf(labelhub.ECodeConflict, "a user with email %q exists already", user.Email)
	}
	return user, err
}

const userColumns = `id, org_id, email, name, role, password_hash, created_at`

func scanUser(row interface{ Scan(...any) error }) (labelhub.User, error) {
	var u labelhub.User
	var role string
	var at int64
	err := row.Scan(&u.ID, &u.OrgID, &u.Email, &u.Name, &role, &u.PasswordHash, &at)
	u.Role, u.CreatedAt = labelhub.Role(role), fromMicros(at)
	return u, err
}

// GetUser implements labelhub.OrgStore.
func (s *Store) GetUser(ctx context.Context, orgID, id string) (labelhub.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE org_id = $1 AND id = $2`, orgID, id))
	return u, notFound(err, "user")
}

// ListUsers implements labelhub.OrgStore.
func (s *Store) ListUsers(ctx context.Context, orgID string, p labelhub.PageRequest) (labelhub.Page[labelhub.User], error) {
	return page(ctx, s.db, p, `SELECT `+userColumns+` FROM users WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, []any{orgID},
		func(r *sql.Rows) (labelhub.User, string, error) {
			u, err := scanUser(r)
			return u, u.ID, err
		})
}

// UserByEmail implements labelhub.OrgStore.
func (s *Store) UserByEmail(ctx context.Context, email string) (labelhub.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, strings.ToLower(email)))
	return u, notFound(err, "user")
}

// Login checks an email and password and returns the user. Every failure
// is the same unauthorized error and takes the same time.
func (s *Store) Login(ctx context.Context, email, password string) (labelhub.User, error) {
	u, err := s.UserByEmail(ctx, email)
	hash := []byte(u.PasswordHash)
	if err != nil || len(hash) == 0 {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || err != nil || u.PasswordHash == "" {
		if err != nil && labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
			return labelhub.User{}, err
		}
		return labelhub.User{}, labelhub.Errorf(labelhub.ECodeUnauthorized, "wrong email or password")
	}
	return u, nil
}

// CreateAPIKey implements labelhub.OrgStore.
func (s *Store) CreateAPIKey(ctx context.Context, orgID, userID, name string) (labelhub.APIKey, string, error) {
	if len(name) > labelhub.MaxNameLength {
		return labelhub.APIKey{}, "", labelhub.Invalid("invalid API key", labelhub.FieldError{Path: "name", Message: "is longer than 200 bytes"})
	}
	if _, err := s.GetUser(ctx, orgID, userID); err != nil {
		return labelhub.APIKey{}, "", err
	}
	return s.createAPIKey(ctx, s.db, orgID, userID, name)
}

func (s *Store) createAPIKey(ctx context.Context, q querier, orgID, userID, name string) (labelhub.APIKey, string, error) {
	key := newSecret("lh_", 25)
	k := labelhub.APIKey{ID: labelhub.NewID(), OrgID: orgID, UserID: userID, Name: name, Prefix: key[:apiKeyPrefixLen], CreatedAt: now()}
	_, err := q.ExecContext(ctx, `INSERT INTO api_keys (id, org_id, user_id, name, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, orgID, userID, name, k.Prefix, hashSecret(key), micros(k.CreatedAt))
	return k, key, err
}

const keyColumns = `id, org_id, user_id, name, prefix, created_at, last_used_at, revoked_at`

func scanKey(row interface{ Scan(...any) error }) (labelhub.APIKey, error) {
	var k labelhub.APIKey
	var at int64
	var used, revoked sql.NullInt64
	err := row.Scan(&k.ID, &k.OrgID, &k.UserID, &k.Name, &k.Prefix, &at, &used, &revoked)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMicros(at), fromNullMicros(used), fromNullMicros(revoked)
	return k, err
}

// ListAPIKeys implements labelhub.OrgStore.
func (s *Store) ListAPIKeys(ctx context.Context, orgID, userID string, p labelhub.PageRequest) (labelhub.Page[labelhub.APIKey], error) {
	scan := func(r *sql.Rows) (labelhub.APIKey, string, error) {
		k, err := scanKey(r)
		return k, k.ID, err
	}
	if userID == "" {
		return page(ctx, s.db, p, `SELECT `+keyColumns+` FROM api_keys WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, []any{orgID}, scan)
	}
	return page(ctx, s.db, p, `SELECT `+keyColumns+` FROM api_keys WHERE org_id = $1 AND user_id = $2 AND id > $3 ORDER BY id LIMIT $4`, []any{orgID, userID}, scan)
}

// GetAPIKey implements labelhub.OrgStore.
func (s *Store) GetAPIKey(ctx context.Context, orgID, id string) (labelhub.APIKey, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE org_id = $1 AND id = $2`, orgID, id))
	return k, notFound(err, "API key")
}

// RevokeAPIKey implements labelhub.OrgStore. Revoking twice is harmless.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE org_id = $2 AND id = $3`, micros(now()), orgID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return labelhub.NotFound("API key")
	}
	return nil
}

var errBadKey = labelhub.Errorf(labelhub.ECodeUnauthorized, "the API key is wrong or revoked")

// Authenticate implements labelhub.OrgStore.
func (s *Store) Authenticate(ctx context.Context, key string) (labelhub.Actor, error) {
	if !strings.HasPrefix(key, "lh_") || len(key) > 100 {
		return labelhub.Actor{}, errBadKey
	}
	var a labelhub.Actor
	var used, revoked sql.NullInt64
	var orgAt int64
	row := s.db.QueryRowContext(ctx, `SELECT k.id, k.last_used_at, k.revoked_at, o.id, o.name, o.root, o.created_at, `+prefixed("u", userColumns)+`
		FROM api_keys k JOIN users u ON u.id = k.user_id JOIN organizations o ON o.id = k.org_id WHERE k.hash = $1`, hashSecret(key))
	var u labelhub.User
	var role string
	var userAt int64
	err := row.Scan(&a.APIKeyID, &used, &revoked, &a.Org.ID, &a.Org.Name, &a.Org.Root, &orgAt,
		&u.ID, &u.OrgID, &u.Email, &u.Name, &role, &u.PasswordHash, &userAt)
	if err != nil {
		if err == sql.ErrNoRows {
			return labelhub.Actor{}, errBadKey
		}
		return labelhub.Actor{}, err
	}
	if revoked.Valid {
		return labelhub.Actor{}, errBadKey
	}
	u.Role, u.CreatedAt, a.Org.CreatedAt = labelhub.Role(role), fromMicros(userAt), fromMicros(orgAt)
	a.User = u
	if t := now(); !used.Valid || t.Sub(fromMicros(used.Int64)) > lastUsedEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, micros(t), a.APIKeyID); err != nil {
			return labelhub.Actor{}, err
		}
	}
	return a, nil
}

func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ", ")
	for i, p := range parts {
		parts[i] = alias + "." + p
	}
	return strings.Join(parts, ", ")
}

// CreateSession implements labelhub.OrgStore.
func (s *Store) CreateSession(ctx context.Context, userID string, ttl time.Duration) (string, string, error) {
	token := make([]byte, 32)
	csrf := make([]byte, 24)
	_, _ = rand.Read(token)
	_, _ = rand.Read(csrf)
	t, c := base64.RawURLEncoding.EncodeToString(token), base64.RawURLEncoding.EncodeToString(csrf)
	n := now()
	// Expired sessions are swept whenever a new one starts.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at < $1`, micros(n)); err != nil {
		return "", "", err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO web_sessions (hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hashSecret(t), userID, c, micros(n), micros(n.Add(ttl)))
	return t, c, err
}

var errNoSession = labelhub.Errorf(labelhub.ECodeUnauthorized, "not signed in, or the session expired")

// SessionActor implements labelhub.OrgStore.
func (s *Store) SessionActor(ctx context.Context, token string) (labelhub.Actor, string, error) {
	var userID, orgID, csrf string
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT s.user_id, u.org_id, s.csrf, s.expires_at FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = $1`,
		hashSecret(token)).Scan(&userID, &orgID, &csrf, &exp)
	if err == sql.ErrNoRows || (err == nil && fromMicros(exp).Before(now())) {
		return labelhub.Actor{}, "", errNoSession
	}
	if err != nil {
		return labelhub.Actor{}, "", err
	}
	a, err := s.actor(ctx, orgID, userID)
	return a, csrf, err
}

func (s *Store) actor(ctx context.Context, orgID, userID string) (labelhub.Actor, error) {
	u, err := s.GetUser(ctx, orgID, userID)
	if err != nil {
		return labelhub.Actor{}, err
	}
	var o labelhub.Organization
	var at int64
	err = s.db.QueryRowContext(ctx, `SELECT id, name, root, created_at FROM organizations WHERE id = $1`, orgID).Scan(&o.ID, &o.Name, &o.Root, &at)
	o.CreatedAt = fromMicros(at)
	return labelhub.Actor{User: u, Org: o}, notFound(err, "organization")
}

// DeleteSession implements labelhub.OrgStore.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE hash = $1`, hashSecret(token))
	return err
}
