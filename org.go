package labelhub

import (
	"context"
	"time"
)

// Organization is the unit of isolation: every other object belongs to
// exactly one, and nothing is visible across organisations.
type Organization struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Root      bool      `json:"root"` // the first organisation; its admins are server admins
	CreatedAt time.Time `json:"createdAt"`
}

// Role is what a user may do inside its organisation.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin          Role = "admin"
	RoleProjectManager Role = "project-manager"
	RoleReviewer       Role = "reviewer"
	RoleLabeler        Role = "labeler"
)

// Roles lists every role, for validation and documentation.
var Roles = []Role{RoleAdmin, RoleProjectManager, RoleReviewer, RoleLabeler}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Permission is one kind of action that roles grant.
type Permission int

// The permissions. Reading projects and batches is open to every role.
const (
	PermManageUsers    Permission = iota // create users, see and revoke anyone's API keys
	PermManageProjects                   // create, edit, delete projects and batches
	PermManageStorage                    // storage integrations
	PermManagePlugins                    // plugins and their presets
	PermRunPlugins                       // start plugin runs and exports
	PermLabel                            // write annotations in labelling stages
	PermReview                           // accept or reject in review stages
)

var grants = map[Role][]Permission{
	RoleAdmin:          {PermManageUsers, PermManageProjects, PermManageStorage, PermManagePlugins, PermRunPlugins, PermLabel, PermReview},
	RoleProjectManager: {PermManageProjects, PermManageStorage, PermManagePlugins, PermRunPlugins, PermLabel, PermReview},
	RoleReviewer:       {PermReview, PermLabel},
	RoleLabeler:        {PermLabel},
}

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool {
	for _, g := range grants[r] {
		if g == p {
			return true
		}
	}
	return false
}

// User is a person (or a script's identity) in an organisation.
type User struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"orgId"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
	// PasswordHash is never serialised.
	PasswordHash string `json:"-"`
}

// APIKey is a user's credential for the API. The key itself is shown once
// at creation; only its hash is kept.
type APIKey struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"orgId"`
	UserID     string     `json:"userId"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the first characters of the key, to recognise it
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
}

// Actor is the authenticated caller of a request.
type Actor struct {
	User User
	Org  Organization
	// APIKeyID is set when the caller used an API key.
	APIKeyID string
	// Scope is set when the caller is a plugin run's token: it may act
	// only inside that run's project, as far as the plugin type needs.
	Scope *RunScope
}

// InProject reports whether the actor may touch the project: always for
// users, only the run's project for a run token.
func (a Actor) InProject(projectID string) bool {
	return a.Scope == nil || a.Scope.ProjectID == projectID
}

// ServerAdmin reports whether the actor may manage organisations.
func (a Actor) ServerAdmin() bool { return a.Scope == nil && a.Org.Root && a.User.Role == RoleAdmin }

// PageRequest asks for one page of a keyset-paginated list.
type PageRequest struct {
	Limit  int    // 1..MaxPageLimit; 0 means DefaultPageLimit
	Cursor string // opaque; empty for the first page
}

// Page limits.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// Page is one page of a list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// NewOrg is what creating an organisation needs: its name and first admin.
type NewOrg struct {
	Name       string `json:"name"`
	AdminEmail string `json:"adminEmail"`
	AdminName  string `json:"adminName"`
	// AdminPassword is optional; without one the admin signs in with the API key only.
	AdminPassword string `json:"adminPassword,omitempty"`
}

// NewUser is what creating a user needs.
type NewUser struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     Role   `json:"role"`
	Password string `json:"password,omitempty"`
}

// OrgStore keeps organisations, users, API keys and web sessions.
type OrgStore interface {
	// CreateOrg creates an organisation with its first admin and an API key
	// for that admin; root marks the server's first organisation.
	CreateOrg(ctx context.Context, o NewOrg, root bool) (Organization, User, string, error)
	ListOrgs(ctx context.Context, p PageRequest) (Page[Organization], error)
	CountOrgs(ctx context.Context) (int, error)

	CreateUser(ctx context.Context, orgID string, u NewUser) (User, error)
	GetUser(ctx context.Context, orgID, id string) (User, error)
	ListUsers(ctx context.Context, orgID string, p PageRequest) (Page[User], error)
	// UserByEmail finds a user in any organisation, for the login form.
	UserByEmail(ctx context.Context, email string) (User, error)

	// CreateAPIKey returns the stored key and the secret key text, once.
	CreateAPIKey(ctx context.Context, orgID, userID, name string) (APIKey, string, error)
	// ListAPIKeys lists the organisation's keys, or one user's when userID is set.
	ListAPIKeys(ctx context.Context, orgID, userID string, p PageRequest) (Page[APIKey], error)
	GetAPIKey(ctx context.Context, orgID, id string) (APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, id string) error
	// Authenticate resolves an API key text to its actor; unknown or revoked
	// keys give ECodeUnauthorized.
	Authenticate(ctx context.Context, key string) (Actor, error)

	// CreateSession starts a web session and returns its secret cookie value.
	CreateSession(ctx context.Context, userID string, ttl time.Duration) (token string, csrf string, err error)
	// SessionActor resolves a session cookie value to its actor and CSRF token.
	SessionActor(ctx context.Context, token string) (Actor, string, error)
	DeleteSession(ctx context.Context, token string) error
}
