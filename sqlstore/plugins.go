package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/labelhub/labelhub"
)

// Plugin secrets and run tokens are high-entropy and stored as SHA-256
// hashes, like API keys.
const (
	pluginSecretPrefix = "lhp_"
	// RunTokenPrefix starts every run token, so that the API can tell one
	// from an API key without a lookup.
	RunTokenPrefix = "lhr_"
)

// NewRunToken returns a fresh run token.
func NewRunToken() string { return newSecret(RunTokenPrefix, 25) }

const pluginColumns = `id, org_id, name, type, description, default_config, created_by, created_at, updated_at`

// pluginRead is what scanPlugin reads: pluginColumns and builtin.
const pluginRead = `SELECT ` + pluginColumns + `, builtin FROM plugins `

// pluginOfOrg finds plugin $2 among those organisation $1 sees: its own
// and the first-party ones (firstparty.go).
const pluginOfOrg = pluginRead + `WHERE (org_id = $1 OR builtin <> '') AND id = $2`

func scanPlugin(row interface{ Scan(...any) error }) (labelhub.Plugin, error) {
	var p labelhub.Plugin
	var typ string
	var created, updated int64
	err := row.Scan(&p.ID, &p.OrgID, &p.Name, &typ, &p.Description, &p.DefaultConfig, &p.CreatedBy, &created, &updated, &p.Builtin)
	p.Type, p.CreatedAt, p.UpdatedAt = labelhub.PluginType(typ), fromMicros(created), fromMicros(updated)
	if p.Builtin != "" {
		p.OrgID = "" // the server's, not an organisation's
	}
	return p, err
}

// CreatePlugin implements labelhub.PluginStore.
func (s *Store) CreatePlugin(ctx context.Context, orgID, userID string, in labelhub.PluginInput) (labelhub.Plugin, string, error) {
	if err := in.Validate(true); err != nil {
		return labelhub.Plugin{}, "", err
	}
	t := now()
	p := labelhub.Plugin{ID: labelhub.NewID(), OrgID: orgID, Name: *in.Name, Type: *in.Type, CreatedBy: userID, CreatedAt: t, UpdatedAt: t}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.DefaultConfig != nil {
		p.DefaultConfig = *in.DefaultConfig
	}
	secret := newSecret(pluginSecretPrefix, 25)
	_, err := s.db.ExecContext(ctx, `INSERT INTO plugins (`+pluginColumns+`, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		p.ID, orgID, p.Name, string(p.Type), p.Description, p.DefaultConfig, userID, micros(t), micros(t), hashSecret(secret))
	if err != nil {
		return labelhub.Plugin{}, "", err
	}
	return p, secret, nil
}

// GetPlugin implements labelhub.PluginStore.
func (s *Store) GetPlugin(ctx context.Context, orgID, id string) (labelhub.Plugin, error) {
	p, err := scanPlugin(s.db.QueryRowContext(ctx, pluginOfOrg, orgID, id))
	return p, notFound(err, "plugin")
}

// ListPlugins implements labelhub.PluginStore.
func (s *Store) ListPlugins(ctx context.Context, orgID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Plugin], error) {
	return page(ctx, s.db, p, pluginRead+`WHERE (org_id = $1 OR builtin <> '') AND id > $2 ORDER BY id LIMIT $3`, []any{orgID},
		func(r *sql.Rows) (labelhub.Plugin, string, error) {
			p, err := scanPlugin(r)
			return p, p.ID, err
		})
}

// UpdatePlugin implements labelhub.PluginStore.
func (s *Store) UpdatePlugin(ctx context.Context, orgID, id string, in labelhub.PluginInput) (labelhub.Plugin, error) {
	if err := in.Validate(false); err != nil {
		return labelhub.Plugin{}, err
	}
	var p labelhub.Plugin
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanPlugin(tx.QueryRowContext(ctx, pluginOfOrg, orgID, id))
		if err != nil {
			return notFound(err, "plugin")
		}
		if err := p.BuiltinRefusal("changed"); err != nil {
			return err
		}
		if in.Name != nil {
			p.Name = *in.Name
		}
		if in.Description != nil {
			p.Description = *in.Description
		}
		if in.DefaultConfig != nil {
			p.DefaultConfig = *in.DefaultConfig
		}
		p.UpdatedAt = now()
		_, err = tx.ExecContext(ctx, `UPDATE plugins SET name = $1, description = $2, default_config = $3, updated_at = $4 WHERE org_id = $5 AND id = $6`,
			p.Name, p.Description, p.DefaultConfig, micros(p.UpdatedAt), orgID, id)
		return err
	})
	return p, err
}

// DeletePlugin implements labelhub.PluginStore. Its runs, presets and
// instances go with it.
func (s *Store) DeletePlugin(ctx context.Context, orgID, id string) error {
	if err := s.refuseBuiltin(ctx, orgID, id, "deleted"); err != nil {
		return err
	}
	return s.deleteOne(ctx, `DELETE FROM plugins WHERE org_id = $1 AND id = $2 AND builtin = ''`, orgID, id, "plugin")
}

// RotatePluginSecret implements labelhub.PluginStore.
func (s *Store) RotatePluginSecret(ctx context.Context, orgID, id string) (string, error) {
	if err := s.refuseBuiltin(ctx, orgID, id, "given a new secret"); err != nil {
		return "", err
	}
	secret := newSecret(pluginSecretPrefix, 25)
	res, err := s.db.ExecContext(ctx, `UPDATE plugins SET secret_hash = $1, updated_at = $2 WHERE org_id = $3 AND id = $4 AND builtin = ''`,
		hashSecret(secret), micros(now()), orgID, id)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", labelhub.NotFound("plugin")
	}
	return secret, nil
}

var errBadPluginSecret = labelhub.Errorf(labelhub.ECodeUnauthorized, "wrong plugin id or secret")

// AuthenticatePlugin implements labelhub.PluginStore.
func (s *Store) AuthenticatePlugin(ctx context.Context, id, secret string) (labelhub.Plugin, error) {
	if !labelhub.ValidID(id) || !strings.HasPrefix(secret, pluginSecretPrefix) || len(secret) > 100 {
		return labelhub.Plugin{}, errBadPluginSecret
	}
	p, err := scanPlugin(s.db.QueryRowContext(ctx, pluginRead+`WHERE id = $1 AND secret_hash = $2`, id, hashSecret(secret)))
	if err == sql.ErrNoRows {
		return labelhub.Plugin{}, errBadPluginSecret
	}
	return p, err
}

const presetColumns = `id, project_id, plugin_id, name, config_json, created_by, created_at, updated_at`

func scanPreset(row interface{ Scan(...any) error }) (labelhub.Preset, error) {
	var p labelhub.Preset
	var created, updated int64
	err := row.Scan(&p.ID, &p.ProjectID, &p.PluginID, &p.Name, &p.ConfigJSON, &p.CreatedBy, &created, &updated)
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, err
}

// SavePreset implements labelhub.PluginStore.
func (s *Store) SavePreset(ctx context.Context, orgID, userID string, pr labelhub.Preset) (labelhub.Preset, error) {
	var p labelhub.Problems
	if pr.Name == "" || len(pr.Name) > labelhub.MaxNameLength {
		p.Add("name", "is required, at most %d bytes", labelhub.MaxNameLength)
	}
	if len(pr.ConfigJSON) > labelhub.MaxConfigJSONBytes || (pr.ConfigJSON != "" && !json.Valid([]byte(pr.ConfigJSON))) {
		p.Add("configJSON", "must be JSON of at most %d bytes", labelhub.MaxConfigJSONBytes)
	}
	if err := p.Err("invalid preset"); err != nil {
		return labelhub.Preset{}, err
	}
	if _, err := s.GetProject(ctx, orgID, pr.ProjectID); err != nil {
		return labelhub.Preset{}, err
	}
	if _, err := s.GetPlugin(ctx, orgID, pr.PluginID); err != nil {
		return labelhub.Preset{}, err
	}
	t := now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanPreset(tx.QueryRowContext(ctx, `SELECT `+presetColumns+` FROM plugin_presets WHERE project_id = $1 AND plugin_id = $2 AND name = $3`,
			pr.ProjectID, pr.PluginID, pr.Name))
		switch {
		case err == nil:
			pr.ID, pr.CreatedBy, pr.CreatedAt, pr.UpdatedAt = old.ID, old.CreatedBy, old.CreatedAt, t
			_, err = tx.ExecContext(ctx, `UPDATE plugin_presets SET config_json = $1, updated_at = $2 WHERE id = $3`, pr.ConfigJSON, micros(t), pr.ID)
			return err
		case err == sql.ErrNoRows:
			pr.ID, pr.CreatedBy, pr.CreatedAt, pr.UpdatedAt = labelhub.NewID(), userID, t, t
			_, err = tx.ExecContext(ctx, `INSERT INTO plugin_presets (`+presetColumns+`, org_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				pr.ID, pr.ProjectID, pr.PluginID, pr.Name, pr.ConfigJSON, userID, micros(t), micros(t), orgID)
			return err
		default:
			return err
		}
	})
	return pr, err
}

// ListPresets implements labelhub.PluginStore.
func (s *Store) ListPresets(ctx context.Context, orgID, projectID, pluginID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Preset], error) {
	return page(ctx, s.db, p, `SELECT `+presetColumns+` FROM plugin_presets WHERE org_id = $1 AND project_id = $2 AND plugin_id = $3 AND id > $4 ORDER BY id LIMIT $5`,
		[]any{orgID, projectID, pluginID}, func(r *sql.Rows) (labelhub.Preset, string, error) {
			p, err := scanPreset(r)
			return p, p.ID, err
		})
}

// DeletePreset implements labelhub.PluginStore.
func (s *Store) DeletePreset(ctx context.Context, orgID, id string) error {
	return s.deleteOne(ctx, `DELETE FROM plugin_presets WHERE org_id = $1 AND id = $2`, orgID, id, "preset")
}

// RegisterInstance implements labelhub.PluginStore.
func (s *Store) RegisterInstance(ctx context.Context, in labelhub.PluginInstance) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO plugin_instances (id, plugin_id, replica_id, host, sdk_version, concurrency, connected_at, last_seen)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, in.ID, in.PluginID, in.ReplicaID, in.Host, in.SDKVersion, in.Concurrency,
		micros(in.ConnectedAt), micros(in.LastSeen))
	return err
}

// TouchInstances implements labelhub.PluginStore.
func (s *Store) TouchInstances(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	q, args := inList(ids, 2)
	_, err := s.db.ExecContext(ctx, `UPDATE plugin_instances SET last_seen = $1 WHERE id IN (`+q+`)`, append([]any{micros(at)}, args...)...)
	return err
}

// DeleteInstance implements labelhub.PluginStore.
func (s *Store) DeleteInstance(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM plugin_instances WHERE id = $1`, id)
	return err
}

// ListInstances implements labelhub.PluginStore.
func (s *Store) ListInstances(ctx context.Context, pluginID string) ([]labelhub.PluginInstance, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, plugin_id, replica_id, host, sdk_version, concurrency, connected_at, last_seen
		FROM plugin_instances WHERE plugin_id = $1 ORDER BY id`, pluginID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []labelhub.PluginInstance{}
	for rows.Next() {
		var in labelhub.PluginInstance
		var c, l int64
		if err := rows.Scan(&in.ID, &in.PluginID, &in.ReplicaID, &in.Host, &in.SDKVersion, &in.Concurrency, &c, &l); err != nil {
			return nil, err
		}
		in.ConnectedAt, in.LastSeen = fromMicros(c), fromMicros(l)
		out = append(out, in)
	}
	return out, rows.Err()
}

// inList returns "$n, $n+1, …" for the values and the values as []any.
func inList(vals []string, first int) (string, []any) {
	ph := make([]string, len(vals))
	args := make([]any, len(vals))
	for i, v := range vals {
		ph[i] = fmt.Sprintf("$%d", first+i)
		args[i] = v
	}
	return strings.Join(ph, ", "), args
}

const runColumns = `id, org_id, plugin_id, project_id, state, config_json, params, attempts, result, error, run_by,
	progress_done, progress_total, progress_message, cancel_requested, created_at, started_at, finished_at, updated_at, instance_id, deadline`

func scanRun(row interface{ Scan(...any) error }) (labelhub.Run, error) {
	var r labelhub.Run
	var state, params string
	var result sql.NullString
	var created, updated, deadline int64
	var started, finished sql.NullInt64
	err := row.Scan(&r.ID, &r.OrgID, &r.PluginID, &r.ProjectID, &state, &r.ConfigJSON, &params, &r.Attempts, &result, &r.Error, &r.RunBy,
		&r.Progress.Done, &r.Progress.Total, &r.Progress.Message, &r.CancelRequested, &created, &started, &finished, &updated, &r.InstanceID, &deadline)
	r.State, r.Params = labelhub.RunState(state), json.RawMessage(params)
	if result.Valid {
		r.Result = json.RawMessage(result.String)
	}
	r.CreatedAt, r.UpdatedAt, r.Deadline = fromMicros(created), fromMicros(updated), fromMicros(deadline)
	r.StartedAt, r.FinishedAt = fromNullMicros(started), fromNullMicros(finished)
	return r, err
}

// CreateRun implements labelhub.PluginStore. A run whose State is running
// is stored as claimed already by r.InstanceID (the hub dispatches it from
// memory); any other state is stored as queued.
func (s *Store) CreateRun(ctx context.Context, r labelhub.Run, token string) error {
	return createRun(ctx, sqlQ{s.db}, r, token)
}

func createRun(ctx context.Context, q runQuerier, r labelhub.Run, token string) error {
	var one int
	if err := q.row(ctx, `SELECT 1 FROM projects WHERE org_id = $1 AND id = $2`, r.OrgID, r.ProjectID).Scan(&one); err != nil {
		return notFound(err, "project")
	}
	params := string(r.Params)
	if params == "" || params == "null" {
		params = "{}"
	}
	state, instance, attempts := labelhub.RunQueued, "", 0
	var started sql.NullInt64
	if r.State == labelhub.RunRunning && r.InstanceID != "" {
		state, instance, attempts = labelhub.RunRunning, r.InstanceID, max(r.Attempts, 1)
		started = sql.NullInt64{Int64: micros(r.CreatedAt), Valid: true}
		if r.StartedAt != nil {
			started.Int64 = micros(*r.StartedAt)
		}
	}
	_, err := q.exec(ctx, `INSERT INTO plugin_runs (id, org_id, plugin_id, project_id, state, config_json, params, run_by, token_hash,
		created_at, updated_at, deadline, instance_id, attempts, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.ID, r.OrgID, r.PluginID, r.ProjectID, string(state), r.ConfigJSON, params, r.RunBy, hashSecret(token),
		micros(r.CreatedAt), micros(r.CreatedAt), micros(r.Deadline), instance, attempts, started)
	return err
}

// CreatePluginRun is CreateRun for a run whose Config JSON is config, or
// the plugin's default when config is nil; it returns that Config JSON.
// A run stored queued is refused with labelhub.TooManyQueuedRuns, nothing
// stored, when the plugin has maxQueued runs of the organisation queued
// already (maxQueued <= 0: no limit; see createPluginRun).
func (s *Store) CreatePluginRun(ctx context.Context, r labelhub.Run, config *string, token string, maxQueued int) (string, error) {
	if !s.postgres || maxQueued <= 0 || storedRunning(r) {
		return createPluginRun(ctx, sqlQ{s.db}, s.postgres, r, config, token, maxQueued)
	}
	var got string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = createPluginRun(ctx, sqlQ{tx}, true, r, config, token, maxQueued)
		return err
	})
	return got, err
}

// CreateExportRun is CreatePluginRun for a run of an export plugin whose
// params (as ExportRunFilter returns them) get numTasks, the count of the
// export with filter f, from the INSERT itself; it returns the Config JSON
// CountsExportRuns says whether CreateExportRun should be used: on
// PostgreSQL the count of an export run's tasks in its INSERT saves a
// query; on SQLite it would hold the database's write lock (and every
// other write of the batch) for as long as the count takes, which for a
// project of a million tasks is a good part of a second, so there the
// count is a read of its own before the write (ExportRunParams).
func (s *Store) CountsExportRuns() bool { return s.postgres }

// and the params stored.
func (s *Store) CreateExportRun(ctx context.Context, r labelhub.Run, f labelhub.ExportFilter, config *string, token string, maxQueued int) (string, json.RawMessage, error) {
	count, err := newExportRunCount(r.OrgID, r.ProjectID, r.Params, f)
	if err != nil {
		return "", nil, err
	}
	if !s.postgres || maxQueued <= 0 || storedRunning(r) {
		return createRunRow(ctx, sqlQ{s.db}, s.postgres, r, config, token, maxQueued, count)
	}
	var cfg string
	var params json.RawMessage
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		cfg, params, err = createRunRow(ctx, sqlQ{tx}, true, r, config, token, maxQueued, count)
		return err
	})
	return cfg, params, err
}

// storedRunning says whether CreateRun and CreatePluginRun store r as
// running (claimed already), not queued.
func storedRunning(r labelhub.Run) bool {
	return r.State == labelhub.RunRunning && r.InstanceID != ""
}

// createPluginRun inserts the run. When it is stored queued and maxQueued
// is positive, the insert's own WHERE counts the queued runs of the plugin
// in the organisation (at most maxQueued of them: the count stops there)
// and inserts nothing at the limit. That is race-free: on SQLite the
// statement runs under the database's write lock (and a batch holds it
// from BEGIN IMMEDIATE); on PostgreSQL q must be a transaction, which
// first takes an advisory lock of the plugin and organisation until it
// ends, so that the insert's snapshot, taken once the lock is held, sees
// every run another creator committed.
func createPluginRun(ctx context.Context, q runQuerier, postgres bool, r labelhub.Run, config *string, token string, maxQueued int) (string, error) {
	cfg, _, err := createRunRow(ctx, q, postgres, r, config, token, maxQueued, nil)
	return cfg, err
}

// createRunRow is createPluginRun, with the params' numTasks counted by
// the INSERT when count is not nil; it also returns the params stored
// then (else r.Params).
func createRunRow(ctx context.Context, q runQuerier, postgres bool, r labelhub.Run, config *string, token string, maxQueued int, count *exportRunCount) (string, json.RawMessage, error) {
	limited := maxQueued > 0 && !storedRunning(r)
	if limited && postgres {
		if _, err := q.exec(ctx, advisoryLock+`$1, hashtext($2))`, lockQueuedOfPlugin, r.OrgID+"/"+r.PluginID); err != nil {
			return "", nil, err
		}
	}
	params := string(r.Params)
	if params == "" || params == "null" {
		params = "{}"
	}
	state, instance, attempts := labelhub.RunQueued, "", 0
	var started sql.NullInt64
	if storedRunning(r) {
		state, instance, attempts = labelhub.RunRunning, r.InstanceID, max(r.Attempts, 1)
		started = sql.NullInt64{Int64: micros(r.CreatedAt), Valid: true}
		if r.StartedAt != nil {
			started.Int64 = micros(*r.StartedAt)
		}
	}
	var cfg sql.NullString
	if config != nil {
		cfg = sql.NullString{String: *config, Valid: true}
	}
	args := []any{r.ID, string(state), cfg, params, r.RunBy, hashSecret(token), micros(r.CreatedAt), micros(r.Deadline), instance, attempts, started,
		r.OrgID, r.PluginID, r.ProjectID}
	underLimit := ""
	if limited {
		underLimit = `
		AND (SELECT count(*) FROM (SELECT 1 FROM plugin_runs q WHERE q.state = $15 AND q.plugin_id = $13 AND q.org_id = $12 LIMIT $16) n) < $16`
		args = append(args, string(labelhub.RunQueued), maxQueued)
	}
	paramsSQL, returning := "$4", ""
	if count != nil {
		// numTasks is counted here, in the statement that stores the run:
		// no query of its own, and the count is that of the run's snapshot.
		var cargs []any
		paramsSQL, cargs = count.expr(len(args) + 1)
		args = append(args, cargs...)
		args[3] = count.prefix
		returning = ", params"
	}
	var got, gotParams string
	dest := []any{&got}
	if count != nil {
		dest = append(dest, &gotParams)
	}
	// The INSERT is the write's last statement that changes anything: when
	// it stores nothing, the reads below only say why (final).
	err := final(q).row(ctx, `INSERT INTO plugin_runs (id, org_id, plugin_id, project_id, state, config_json, params, run_by, token_hash,
		created_at, updated_at, deadline, instance_id, attempts, started_at)
		SELECT $1, pr.org_id, p.id, pr.id, $2, COALESCE($3, p.default_config), `+paramsSQL+`, $5, $6, $7, $7, $8, $9, $10, $11
		FROM plugins p, projects pr WHERE (p.org_id = $12 OR p.builtin <> '') AND p.id = $13 AND pr.org_id = $12 AND pr.id = $14`+underLimit+`
		RETURNING config_json`+returning, args...).Scan(dest...)
	if err == sql.ErrNoRows {
		var one int
		if err := q.row(ctx, `SELECT 1 FROM plugins WHERE (org_id = $1 OR builtin <> '') AND id = $2`, r.OrgID, r.PluginID).Scan(&one); err != nil {
			return "", nil, notFound(err, "plugin")
		}
		if err := q.row(ctx, `SELECT 1 FROM projects WHERE org_id = $1 AND id = $2`, r.OrgID, r.ProjectID).Scan(&one); err != nil {
			return "", nil, notFound(err, "project")
		}
		if limited {
			return "", nil, labelhub.TooManyQueuedRuns(r.PluginID, queuedRuns(ctx, q, r.OrgID, r.PluginID))
		}
		return "", nil, labelhub.NotFound("project")
	}
	if err != nil {
		return "", nil, err
	}
	if count != nil {
		return got, json.RawMessage(gotParams), nil
	}
	return got, r.Params, nil
}

// GetRun implements labelhub.PluginStore.
func (s *Store) GetRun(ctx context.Context, orgID, id string) (labelhub.Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM plugin_runs WHERE org_id = $1 AND id = $2`, orgID, id))
	return r, notFound(err, "run")
}

// ListRuns implements labelhub.PluginStore.
func (s *Store) ListRuns(ctx context.Context, orgID, projectID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Run], error) {
	if _, err := s.GetProject(ctx, orgID, projectID); err != nil {
		return labelhub.Page[labelhub.Run]{}, err
	}
	return page(ctx, s.db, p, `SELECT `+runColumns+` FROM plugin_runs WHERE org_id = $1 AND project_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		[]any{orgID, projectID}, func(r *sql.Rows) (labelhub.Run, string, error) {
			x, err := scanRun(r)
			return x, x.ID, err
		})
}

var errBadRunToken = labelhub.Errorf(labelhub.ECodeUnauthorized, "the run token is wrong, or its run has ended")

// RunByToken implements labelhub.PluginStore.
func (s *Store) RunByToken(ctx context.Context, token string) (labelhub.Run, error) {
	if !strings.HasPrefix(token, RunTokenPrefix) || len(token) > 100 {
		return labelhub.Run{}, errBadRunToken
	}
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM plugin_runs WHERE token_hash = $1`, hashSecret(token)))
	if err == sql.ErrNoRows || (err == nil && r.State.Final()) {
		return labelhub.Run{}, errBadRunToken
	}
	return r, err
}

// ClaimRun implements labelhub.PluginStore.
func (s *Store) ClaimRun(ctx context.Context, id, instanceID string, deadline time.Time) (labelhub.Run, bool, error) {
	return claimRun(ctx, sqlQ{s.db}, id, instanceID, deadline)
}

func claimRun(ctx context.Context, q runQuerier, id, instanceID string, deadline time.Time) (labelhub.Run, bool, error) {
	t := micros(now())
	n, err := q.exec(ctx, `UPDATE plugin_runs SET state = $1, instance_id = $2, attempts = attempts + 1,
		started_at = COALESCE(started_at, $3), updated_at = $3, deadline = $4 WHERE id = $5 AND state = $6`,
		string(labelhub.RunRunning), instanceID, t, micros(deadline), id, string(labelhub.RunQueued))
	if err != nil {
		return labelhub.Run{}, false, err
	}
	if n == 0 {
		return labelhub.Run{}, false, nil
	}
	r, err := scanRun(q.row(ctx, `SELECT `+runColumns+` FROM plugin_runs WHERE id = $1`, id))
	return r, err == nil, err
}

// RequeueRun implements labelhub.PluginStore.
func (s *Store) RequeueRun(ctx context.Context, id, instanceID string, queueDeadline time.Time) (bool, error) {
	return requeueRun(ctx, sqlQ{s.db}, id, instanceID, queueDeadline)
}

func requeueRun(ctx context.Context, q runQuerier, id, instanceID string, queueDeadline time.Time) (bool, error) {
	n, err := q.exec(ctx, `UPDATE plugin_runs SET state = $1, instance_id = '', updated_at = $2, deadline = $3
		WHERE id = $4 AND state = $5 AND instance_id = $6`,
		string(labelhub.RunQueued), micros(now()), micros(queueDeadline), id, string(labelhub.RunRunning), instanceID)
	return n > 0, err
}

// FinishRun implements labelhub.PluginStore.
func (s *Store) FinishRun(ctx context.Context, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string) (bool, error) {
	return finishRun(ctx, sqlQ{s.db}, id, instanceID, state, result, errText, now())
}

func finishRun(ctx context.Context, q runQuerier, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (bool, error) {
	if !state.Final() {
		return false, fmt.Errorf("FinishRun: %q is not a final state", state)
	}
	query, args := finishQuery(id, instanceID, state, result, errText, at)
	n, err := final(q).exec(ctx, query, args...)
	return n > 0, err
}

func finishQuery(id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (string, []any) {
	var res sql.NullString
	if len(result) > 0 {
		res = sql.NullString{String: string(result), Valid: true}
	}
	t := micros(at)
	query := `UPDATE plugin_runs SET state = $1, result = $2, error = $3, finished_at = $4, updated_at = $4 WHERE id = $5 AND state IN ($6, $7)`
	args := []any{string(state), res, errText, t, id, string(labelhub.RunQueued), string(labelhub.RunRunning)}
	if instanceID != "" {
		query += ` AND instance_id = $8`
		args = append(args, instanceID)
	}
	return query, args
}

// finishRunNotice is finishRun, whose UPDATE also returns what the notice
// of the run's end needs (runEnded's read).
func finishRunNotice(ctx context.Context, q runQuerier, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (bool, *labelhub.Notification, error) {
	if !state.Final() {
		return false, nil, fmt.Errorf("FinishRun: %q is not a final state", state)
	}
	query, args := finishQuery(id, instanceID, state, result, errText, at)
	var e runEnd
	err := final(q).row(ctx, query+` RETURNING run_by, org_id, state, error,
		(SELECT p.type FROM plugins p WHERE p.id = plugin_runs.plugin_id), (SELECT p.name FROM plugins p WHERE p.id = plugin_runs.plugin_id),
		(SELECT pr.name FROM projects pr WHERE pr.id = plugin_runs.project_id), (SELECT a.size FROM plugin_run_artifacts a WHERE a.run_id = plugin_runs.id)`,
		args...).Scan(&e.runBy, &e.orgID, &e.state, &e.errText, &e.ptype, &e.plugin, &e.project, &e.size)
	if err == sql.ErrNoRows {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	return true, e.notice(id), nil
}

// SetRunProgress implements labelhub.PluginStore.
func (s *Store) SetRunProgress(ctx context.Context, id, instanceID string, pr labelhub.RunProgress) error {
	return setRunProgress(ctx, sqlQ{s.db}, id, instanceID, pr)
}

func setRunProgress(ctx context.Context, q runQuerier, id, instanceID string, pr labelhub.RunProgress) error {
	_, err := q.exec(ctx, `UPDATE plugin_runs SET progress_done = $1, progress_total = $2, progress_message = $3, updated_at = $4
		WHERE id = $5 AND instance_id = $6 AND state = $7`, pr.Done, pr.Total, pr.Message, micros(now()), id, instanceID, string(labelhub.RunRunning))
	return err
}

// RequestCancel implements labelhub.PluginStore.
func (s *Store) RequestCancel(ctx context.Context, orgID, id string) (labelhub.Run, error) {
	t := micros(now())
	if _, err := s.db.ExecContext(ctx, `UPDATE plugin_runs SET state = $1, error = $2, finished_at = $3, updated_at = $3
		WHERE org_id = $4 AND id = $5 AND state = $6`, string(labelhub.RunCancelled), "cancelled before it started", t, orgID, id, string(labelhub.RunQueued)); err != nil {
		return labelhub.Run{}, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE plugin_runs SET cancel_requested = $1, updated_at = $2 WHERE org_id = $3 AND id = $4 AND state = $5`,
		true, t, orgID, id, string(labelhub.RunRunning)); err != nil {
		return labelhub.Run{}, err
	}
	return s.GetRun(ctx, orgID, id)
}

// QueuedRuns implements labelhub.PluginStore.
func (s *Store) QueuedRuns(ctx context.Context, pluginIDs []string, limit int) ([]labelhub.Run, error) {
	if len(pluginIDs) == 0 {
		return nil, nil
	}
	q, args := inList(pluginIDs, 2)
	return s.runs(ctx, `SELECT `+runColumns+` FROM plugin_runs WHERE state = $1 AND plugin_id IN (`+q+`) ORDER BY id LIMIT `+fmt.Sprint(limit),
		append([]any{string(labelhub.RunQueued)}, args...)...)
}

func (s *Store) runs(ctx context.Context, query string, args ...any) ([]labelhub.Run, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []labelhub.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CancelRequested implements labelhub.PluginStore.
func (s *Store) CancelRequested(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q, args := inList(ids, 2)
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM plugin_runs WHERE cancel_requested = $1 AND id IN (`+q+`)`, append([]any{true}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ExpireRuns implements labelhub.PluginStore.
func (s *Store) ExpireRuns(ctx context.Context, at time.Time) ([]labelhub.Run, error) {
	due, err := s.runs(ctx, `SELECT `+runColumns+` FROM plugin_runs WHERE state IN ($1, $2) AND deadline < $3 ORDER BY id LIMIT 1000`,
		string(labelhub.RunQueued), string(labelhub.RunRunning), micros(at))
	if err != nil {
		return nil, err
	}
	var out []labelhub.Run
	for _, r := range due {
		msg := "no plugin instance took the run in time; is the plugin running?"
		if r.State == labelhub.RunRunning {
			msg = "the run did not end before its deadline"
		}
		ok, err := s.FinishRun(ctx, r.ID, "", labelhub.RunTimedOut, nil, msg)
		if err != nil {
			return out, err
		}
		if ok {
			r.State, r.Error = labelhub.RunTimedOut, msg
			out = append(out, r)
		}
	}
	return out, nil
}

// RecoverRuns implements labelhub.PluginStore.
func (s *Store) RecoverRuns(ctx context.Context, staleBefore time.Time, maxAttempts int, queueDeadline time.Time) (int, error) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM plugin_instances WHERE last_seen < $1`, micros(staleBefore)); err != nil {
		return 0, err
	}
	orphans, err := s.runs(ctx, `SELECT `+runColumns+` FROM plugin_runs r WHERE state = $1
		AND NOT EXISTS (SELECT 1 FROM plugin_instances i WHERE i.id = r.instance_id) ORDER BY id LIMIT 1000`, string(labelhub.RunRunning))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range orphans {
		var ok bool
		if r.Attempts < maxAttempts && !r.CancelRequested {
			ok, err = s.RequeueRun(ctx, r.ID, r.InstanceID, queueDeadline)
		} else {
			ok, err = s.FinishRun(ctx, r.ID, r.InstanceID, labelhub.RunFailed, nil,
				fmt.Sprintf("the plugin instance went away during attempt %d of %d", r.Attempts, maxAttempts))
		}
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// AppendRunLogs implements labelhub.PluginStore.
func (s *Store) AppendRunLogs(ctx context.Context, runID string, logs []labelhub.RunLog) error {
	if len(logs) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return appendRunLogs(ctx, sqlQ{tx}, runID, logs) })
}

func appendRunLogs(ctx context.Context, q runQuerier, runID string, logs []labelhub.RunLog) error {
	for _, l := range logs {
		if _, err := q.exec(ctx, `INSERT INTO plugin_run_logs (run_id, seq, at, level, message, attrs) VALUES ($1, $2, $3, $4, $5, $6)`,
			runID, l.Seq, micros(l.Time), l.Level, l.Message, string(l.Attrs)); err != nil {
			return err
		}
	}
	return nil
}

// LastRunLogSeq implements labelhub.PluginStore.
func (s *Store) LastRunLogSeq(ctx context.Context, runID string) (int64, error) {
	return lastRunLogSeq(ctx, sqlQ{s.db}, runID)
}

func lastRunLogSeq(ctx context.Context, q runQuerier, runID string) (int64, error) {
	var n sql.NullInt64
	err := q.row(ctx, `SELECT MAX(seq) FROM plugin_run_logs WHERE run_id = $1`, runID).Scan(&n)
	return n.Int64, err
}

// ListRunLogs implements labelhub.PluginStore.
func (s *Store) ListRunLogs(ctx context.Context, orgID, runID string, afterSeq int64, limit int) ([]labelhub.RunLog, error) {
	if _, err := s.GetRun(ctx, orgID, runID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, level, message, attrs FROM plugin_run_logs WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
		runID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []labelhub.RunLog{}
	for rows.Next() {
		var l labelhub.RunLog
		var at int64
		var attrs string
		if err := rows.Scan(&l.Seq, &at, &l.Level, &l.Message, &attrs); err != nil {
			return nil, err
		}
		l.Time = fromMicros(at)
		if attrs != "" {
			l.Attrs = json.RawMessage(attrs)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

var _ labelhub.PluginStore = (*Store)(nil)

// SetRunToken replaces the token of a run (pluginhub.TokenSetter): a run
// taken from the queue by another replica gets a fresh token there.
func (s *Store) SetRunToken(ctx context.Context, runID, token string) error {
	return setRunToken(ctx, sqlQ{s.db}, runID, token)
}

func setRunToken(ctx context.Context, q runQuerier, runID, token string) error {
	_, err := q.exec(ctx, `UPDATE plugin_runs SET token_hash = $1 WHERE id = $2`, hashSecret(token), runID)
	return err
}

// AuthenticateRunToken resolves a run token to an actor limited to the
// run's project: the user who started the run, with a RunScope. The token
// works while the run is queued or running.
func (s *Store) AuthenticateRunToken(ctx context.Context, token string) (labelhub.Actor, error) {
	r, err := s.RunByToken(ctx, token)
	if err != nil {
		return labelhub.Actor{}, err
	}
	var typ string
	if err := s.db.QueryRowContext(ctx, `SELECT type FROM plugins WHERE id = $1`, r.PluginID).Scan(&typ); err != nil {
		return labelhub.Actor{}, notFound(err, "plugin")
	}
	a, err := s.actor(ctx, r.OrgID, r.RunBy)
	if err != nil {
		return labelhub.Actor{}, errBadRunToken
	}
	a.Scope = &labelhub.RunScope{RunID: r.ID, ProjectID: r.ProjectID, PluginType: labelhub.PluginType(typ)}
	if a.Scope.PluginType == labelhub.PluginFileExplorer {
		var p struct {
			IntegrationID string `json:"integrationId"`
		}
		if json.Unmarshal(r.Params, &p) == nil {
			a.Scope.IntegrationID = p.IntegrationID
		}
	}
	return a, nil
}

// RunBatch applies writes 0 … n-1 of the plugin hub (pluginhub.BatchStore)
// with stores whose run writes (CreateRun, CreatePluginRun,
// CreateExportRun, ClaimRun, RequeueRun, FinishRun, FinishRunNotice,
// SetRunProgress, AppendRunLogs, SetRunToken, RunEnded, AddNotification)
// and the reads GetPlugin and LastRunLogSeq go to one
// transaction, committed when every apply returned nil; their other
// methods use the pool as usual. One commit for many runs' changes
// (group commit) instead of one each. On SQLite the writes are applied
// one after the other on one connection, each statement prepared once for
// the connection's life; on PostgreSQL each in a goroutine of its own,
// their statements pipelined (pgPipeline), so apply must touch only the
// state of write i. A write that fails aborts the whole batch (PostgreSQL
// refuses further statements in the transaction), so apply should return
// the first error. The store of a write's last call (LastCall) lets the
// pipeline send the COMMIT with the statements that end the writes'
// changes (final): then a write that fails has changed nothing, the
// others are committed, and RunBatch returns WriteErrors.
func (s *Store) RunBatch(ctx context.Context, n int, apply func(i int, st labelhub.PluginStore) error) error {
	if s.postgres {
		return s.pgRunBatch(ctx, n, apply)
	}
	return s.sqliteBatch(ctx, func(q querier) error {
		bs := &batchStore{Store: s, q: sqlQ{q}}
		for i := range n {
			if err := apply(i, bs); err != nil {
				return err
			}
		}
		return nil
	})
}

// sqliteBatch runs fn in a transaction on the bulk connection (see
// bulkConn), with the statements prepared on that connection once and
// kept: a batch is a few small statements, and with SQLite parsing one
// costs about as much as running it.
func (s *Store) sqliteBatch(ctx context.Context, fn func(querier) error) error {
	b := &s.bulk
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := s.openBulk(ctx); err != nil {
		return err
	}
	c := b.conn
	cache, _ := runStmts.LoadOrStore(c, &connStmts{conn: c, stmts: map[string]*sql.Stmt{}})
	q := cache.(*connStmts)
	broken := func() {
		// The connection is in an unknown state: the next batch opens
		// another one.
		runStmts.Delete(c)
		c.Close()
		b.conn = nil
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		broken()
		return err
	}
	if err := fn(q); err != nil {
		if _, rerr := c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			broken()
		}
		return err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		if _, rerr := c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			broken()
		}
		return err
	}
	return nil
}

// runStmts holds the statements of sqliteBatch by bulk connection.
var runStmts sync.Map // *sql.Conn → *connStmts

// connStmts is a querier on one connection that prepares each distinct
// statement once, for the connection's life.
type connStmts struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt // used under bulkConn.mu only
}

func (c *connStmts) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

func (c *connStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c *connStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext falls back to the connection when the statement does
// not prepare, so that Scan reports the error.
func (c *connStmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return c.conn.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// batchStore is the store RunBatch hands out.
type batchStore struct {
	*Store
	q runQuerier
}

func (b *batchStore) GetPlugin(ctx context.Context, orgID, id string) (labelhub.Plugin, error) {
	p, err := scanPlugin(b.q.row(ctx, pluginOfOrg, orgID, id))
	return p, notFound(err, "plugin")
}

// CreatePluginRun stores a new run of plugin r.PluginID in one statement
// (the plugin and the project are checked by the insert itself) and
// returns its Config JSON: config when not nil, else the plugin's default.
func (b *batchStore) CreatePluginRun(ctx context.Context, r labelhub.Run, config *string, token string, maxQueued int) (string, error) {
	return createPluginRun(ctx, b.q, b.postgres, r, config, token, maxQueued)
}

// queuedRuns counts the queued runs of a plugin in an organisation, for
// the message of TooManyQueuedRuns.
func queuedRuns(ctx context.Context, q runQuerier, orgID, pluginID string) int {
	var n int
	_ = q.row(ctx, `SELECT count(*) FROM plugin_runs WHERE state = $1 AND plugin_id = $2 AND org_id = $3`,
		string(labelhub.RunQueued), pluginID, orgID).Scan(&n)
	return n
}

// CreateExportRun is Store.CreateExportRun in the batch.
func (b *batchStore) CreateExportRun(ctx context.Context, r labelhub.Run, f labelhub.ExportFilter, config *string, token string, maxQueued int) (string, json.RawMessage, error) {
	count, err := newExportRunCount(r.OrgID, r.ProjectID, r.Params, f)
	if err != nil {
		return "", nil, err
	}
	return createRunRow(ctx, b.q, b.postgres, r, config, token, maxQueued, count)
}

// LastCall returns the store for the last call of a write (pluginhub):
// the statement of that call that ends its changes may carry the batch's
// COMMIT on PostgreSQL (see final).
func (b *batchStore) LastCall() labelhub.PluginStore {
	if p, ok := b.q.(*pgPipeline); ok {
		return &batchStore{Store: b.Store, q: pipeLastCall{p}}
	}
	return b
}

func (b *batchStore) CreateRun(ctx context.Context, r labelhub.Run, token string) error {
	return createRun(ctx, b.q, r, token)
}

func (b *batchStore) ClaimRun(ctx context.Context, id, instanceID string, deadline time.Time) (labelhub.Run, bool, error) {
	return claimRun(ctx, b.q, id, instanceID, deadline)
}

func (b *batchStore) RequeueRun(ctx context.Context, id, instanceID string, queueDeadline time.Time) (bool, error) {
	return requeueRun(ctx, b.q, id, instanceID, queueDeadline)
}

// FinishRunNotice is FinishRunAt for a run of an export plugin that also
// returns the notice RunEnded would add for it, read by the same
// statement (nil: none), so that the notice is one INSERT (AddNotification).
func (b *batchStore) FinishRunNotice(ctx context.Context, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (bool, *labelhub.Notification, error) {
	return finishRunNotice(ctx, b.q, id, instanceID, state, result, errText, at)
}

// AddNotification is Store.AddNotification in the batch.
func (b *batchStore) AddNotification(ctx context.Context, n labelhub.Notification) (labelhub.Notification, error) {
	return addNotification(ctx, b.q, n)
}

func (b *batchStore) FinishRun(ctx context.Context, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string) (bool, error) {
	return finishRun(ctx, b.q, id, instanceID, state, result, errText, now())
}

// FinishRunAt is FinishRun with the finish time given, so that the caller
// knows the stored row without reading it back.
func (b *batchStore) FinishRunAt(ctx context.Context, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (bool, error) {
	return finishRun(ctx, b.q, id, instanceID, state, result, errText, at)
}

func (b *batchStore) SetRunProgress(ctx context.Context, id, instanceID string, pr labelhub.RunProgress) error {
	return setRunProgress(ctx, b.q, id, instanceID, pr)
}

func (b *batchStore) AppendRunLogs(ctx context.Context, runID string, logs []labelhub.RunLog) error {
	return appendRunLogs(ctx, b.q, runID, logs)
}

func (b *batchStore) LastRunLogSeq(ctx context.Context, runID string) (int64, error) {
	return lastRunLogSeq(ctx, b.q, runID)
}

func (b *batchStore) SetRunToken(ctx context.Context, runID, token string) error {
	return setRunToken(ctx, b.q, runID, token)
}

// FinishRunNotice is FinishRunAt for a run of an export plugin that also
// returns the notice of its end (see batchStore.FinishRunNotice).
func (s *Store) FinishRunNotice(ctx context.Context, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (bool, *labelhub.Notification, error) {
	return finishRunNotice(ctx, sqlQ{s.db}, id, instanceID, state, result, errText, at)
}

// FinishRunAt implements FinishRun with the finish time given.
func (s *Store) FinishRunAt(ctx context.Context, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (bool, error) {
	return finishRun(ctx, sqlQ{s.db}, id, instanceID, state, result, errText, at)
}
