package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/labelhub/labelhub"
)

const notificationColumns = `id, org_id, user_id, kind, title, message, run_id, created_at, read_at`

func scanNotification(row interface{ Scan(...any) error }) (labelhub.Notification, error) {
	var n labelhub.Notification
	var created int64
	var read sql.NullInt64
	err := row.Scan(&n.ID, &n.OrgID, &n.UserID, &n.Kind, &n.Title, &n.Message, &n.RunID, &created, &read)
	n.CreatedAt, n.ReadAt = fromMicros(created), fromNullMicros(read)
	return n, err
}

// AddNotification implements labelhub.NotificationStore; ID and CreatedAt
// are set when empty.
func (s *Store) AddNotification(ctx context.Context, n labelhub.Notification) (labelhub.Notification, error) {
	return addNotification(ctx, sqlQ{s.db}, n)
}

func addNotification(ctx context.Context, q runQuerier, n labelhub.Notification) (labelhub.Notification, error) {
	if n.ID == "" {
		n.ID = labelhub.NewID()
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now()
	}
	n.ReadAt = nil
	_, err := final(q).exec(ctx, `INSERT INTO notifications (`+notificationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)`,
		n.ID, n.OrgID, n.UserID, n.Kind, n.Title, n.Message, n.RunID, micros(n.CreatedAt))
	return n, err
}

// ListNotifications implements labelhub.NotificationStore: newest first,
// the cursor is the last id seen.
func (s *Store) ListNotifications(ctx context.Context, orgID, userID string, unread bool, p labelhub.PageRequest) (labelhub.Page[labelhub.Notification], error) {
	q := `SELECT ` + notificationColumns + ` FROM notifications WHERE org_id = $1 AND user_id = $2`
	if unread {
		q += ` AND read_at IS NULL`
	}
	q += ` AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4`
	return page(ctx, s.db, p, q, []any{orgID, userID}, func(r *sql.Rows) (labelhub.Notification, string, error) {
		n, err := scanNotification(r)
		return n, n.ID, err
	})
}

// UnreadNotifications implements labelhub.NotificationStore.
func (s *Store) UnreadNotifications(ctx context.Context, orgID, userID string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE org_id = $1 AND user_id = $2 AND read_at IS NULL`, orgID, userID).Scan(&n)
	return n, err
}

// ReadNotification implements labelhub.NotificationStore; reading one
// already read keeps its first read time.
func (s *Store) ReadNotification(ctx context.Context, orgID, userID, id string) (labelhub.Notification, error) {
	if _, err := s.db.ExecContext(ctx, `UPDATE notifications SET read_at = $1 WHERE org_id = $2 AND user_id = $3 AND id = $4 AND read_at IS NULL`,
		micros(now()), orgID, userID, id); err != nil {
		return labelhub.Notification{}, err
	}
	n, err := scanNotification(s.db.QueryRowContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE org_id = $1 AND user_id = $2 AND id = $3`,
		orgID, userID, id))
	return n, notFound(err, "notification")
}

// ReadAllNotifications implements labelhub.NotificationStore.
func (s *Store) ReadAllNotifications(ctx context.Context, orgID, userID string) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE notifications SET read_at = $1 WHERE org_id = $2 AND user_id = $3 AND read_at IS NULL`,
		micros(now()), orgID, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

var _ labelhub.NotificationStore = (*Store)(nil)

// RunEnded notifies the user who started an export run that it ended
// (pluginhub.RunEndHandler): "Your export "<plugin>" of <project> is ready
// (12.3 MB)", or "… failed: <error>" when it failed or timed out. Runs
// of other plugin types and cancelled runs notify nobody. typ, when not
// empty, spares the read for other plugin types.
func (s *Store) RunEnded(ctx context.Context, r labelhub.Run, typ labelhub.PluginType) error {
	return runEnded(ctx, sqlQ{s.db}, r, typ)
}

// RunEnded is Store.RunEnded in the batch's transaction: the hub gives it
// the batch after the one that stored the run's end.
func (b *batchStore) RunEnded(ctx context.Context, r labelhub.Run, typ labelhub.PluginType) error {
	return runEnded(ctx, b.q, r, typ)
}

func runEnded(ctx context.Context, q runQuerier, r labelhub.Run, typ labelhub.PluginType) error {
	if typ != "" && typ != labelhub.PluginExport {
		return nil
	}
	var e runEnd
	err := q.row(ctx, `SELECT p.type, p.name, pr.name, r.run_by, r.org_id, r.state, r.error, a.size
		FROM plugin_runs r JOIN plugins p ON p.id = r.plugin_id JOIN projects pr ON pr.id = r.project_id
		LEFT JOIN plugin_run_artifacts a ON a.run_id = r.id WHERE r.id = $1`, r.ID).
		Scan(&e.ptype, &e.plugin, &e.project, &e.runBy, &e.orgID, &e.state, &e.errText, &e.size)
	if err == sql.ErrNoRows {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	n := e.notice(r.ID)
	if n == nil {
		return nil
	}
	_, err = addNotification(ctx, q, *n)
	return err
}

// runEnd is what the notice of a run's end is made of.
type runEnd struct {
	ptype, plugin, project, runBy, orgID, state, errText string
	size                                                 sql.NullInt64
}

// notice is the notification of the end of run runID, or nil when there
// is none: the plugin is no export plugin, or the run was cancelled.
func (e *runEnd) notice(runID string) *labelhub.Notification {
	if labelhub.PluginType(e.ptype) != labelhub.PluginExport {
		return nil
	}
	n := labelhub.Notification{OrgID: e.orgID, UserID: e.runBy, RunID: runID}
	what := fmt.Sprintf("Your export %q of %s", e.plugin, e.project)
	switch labelhub.RunState(e.state) {
	case labelhub.RunSucceeded:
		n.Kind, n.Title = labelhub.NotifyExportReady, "Export ready"
		if e.size.Valid {
			n.Message = what + " is ready (" + decimalSize(e.size.Int64) + ")"
		} else {
			n.Message = what + " finished without a result file"
		}
	case labelhub.RunFailed, labelhub.RunTimedOut:
		n.Kind, n.Title = labelhub.NotifyExportFailed, "Export failed"
		n.Message = what + " failed: " + e.errText
	default:
		return nil
	}
	return &n
}

// decimalSize prints a size in decimal units with one decimal: 12.3 MB.
func decimalSize(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"kB", "MB", "GB", "TB"} {
		v /= 1000
		if v < 999.95 || unit == "TB" {
			return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
		}
	}
	return ""
}
