package sqlstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"strings"

	"github.com/labelhub/labelhub"
)

// First-party plugins (package firstparty) have one row each for the whole
// server, marked by plugins.builtin, and every organisation sees them
// (GetPlugin, ListPlugins and runs take them). Their row's org_id is the
// root organisation's, for the foreign keys only; a run of one belongs to
// the organisation of who started it.

// FirstPartyPlugin is a first-party plugin as the hub keeps it.
type FirstPartyPlugin struct {
	Builtin       string // its first-party name, e.g. "coco"
	Name          string // what organisations see, e.g. "COCO"
	Type          labelhub.PluginType
	Description   string
	DefaultConfig string
	// Secret is what its in-process instances authenticate with
	// (FirstPartySecret); only its hash is kept.
	Secret string
}

// FirstPartySecret derives the secret of a first-party plugin from the
// server's secret key: replicas that share the key agree on it, and nobody
// needs to store it.
func FirstPartySecret(key []byte, name string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("first-party plugin:" + name))
	return pluginSecretPrefix + strings.ToLower(keyEncoding.EncodeToString(m.Sum(nil)))
}

// EnsureFirstPartyPlugins makes the rows of the given first-party plugins
// exist and match (name, type, description, default config, secret) and
// returns them in the same order. It is safe when several replicas start
// at once: a row is inserted once, and an update that changes nothing
// writes nothing. Rows of first-party plugins missing from ps are kept, so
// that their runs keep their plugin.
func (s *Store) EnsureFirstPartyPlugins(ctx context.Context, ps []FirstPartyPlugin) ([]labelhub.Plugin, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	var owner string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM organizations ORDER BY root DESC, created_at, id LIMIT 1`).Scan(&owner)
	if err == sql.ErrNoRows {
		return nil, labelhub.Errorf(labelhub.ECodeConflict, "first-party plugins need an organisation to exist first")
	}
	if err != nil {
		return nil, err
	}
	out := make([]labelhub.Plugin, 0, len(ps))
	for _, fp := range ps {
		typ, name := fp.Type, fp.Name
		in := labelhub.PluginInput{Name: &name, Type: &typ, Description: &fp.Description, DefaultConfig: &fp.DefaultConfig}
		if err := in.Validate(true); err != nil {
			return nil, fmt.Errorf("first-party plugin %q: %w", fp.Builtin, err)
		}
		if fp.Builtin == "" || !strings.HasPrefix(fp.Secret, pluginSecretPrefix) {
			return nil, fmt.Errorf("first-party plugin %q: needs a name and a secret from FirstPartySecret", fp.Name)
		}
		t := micros(now())
		hash := hashSecret(fp.Secret)
		if _, err := s.db.ExecContext(ctx, `INSERT INTO plugins (`+pluginColumns+`, secret_hash, builtin)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) ON CONFLICT (builtin) WHERE builtin <> '' DO NOTHING`,
			labelhub.NewID(), owner, fp.Name, string(fp.Type), fp.Description, fp.DefaultConfig, "", t, hash, fp.Builtin); err != nil {
			return nil, fmt.Errorf("first-party plugin %q: %w", fp.Builtin, err)
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE plugins SET name = $1, type = $2, description = $3, default_config = $4, secret_hash = $5,
			updated_at = $6 WHERE builtin = $7 AND (name <> $1 OR type <> $2 OR description <> $3 OR default_config <> $4 OR secret_hash <> $5)`,
			fp.Name, string(fp.Type), fp.Description, fp.DefaultConfig, hash, t, fp.Builtin); err != nil {
			return nil, fmt.Errorf("first-party plugin %q: %w", fp.Builtin, err)
		}
		p, err := scanPlugin(s.db.QueryRowContext(ctx, pluginRead+`WHERE builtin = $1`, fp.Builtin))
		if err != nil {
			return nil, fmt.Errorf("first-party plugin %q: %w", fp.Builtin, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// refuseBuiltin answers an attempt to change (action) a first-party
// plugin with its refusal; a plugin the organisation does not see is not
// found.
func (s *Store) refuseBuiltin(ctx context.Context, orgID, id, action string) error {
	p, err := s.GetPlugin(ctx, orgID, id)
	if err != nil {
		return err
	}
	return p.BuiltinRefusal(action)
}
