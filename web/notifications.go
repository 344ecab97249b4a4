package web

// The Notifications page: the signed-in user's messages ("your export is
// ready"), newest first, each linking to its run's session page and, when
// the run left a result file, to the download. Opening one marks it read;
// "Mark all read" marks them all. The header of every page shows the
// count of unread ones (one count query a page, on a partial index).

import (
	"net/http"

	"github.com/labelhub/labelhub"
)

func init() {
	pageNames = append(pageNames, "notifications")
	flashes["notifications-read"] = "All notifications marked read."
}

func (s *server) routesNotifications() {
	m := s.mux
	m.HandleFunc("GET /notifications", s.page(s.notificationsPage))
	m.HandleFunc("POST /notifications/read-all", s.page(s.readAllNotifications))
	m.HandleFunc("POST /notifications/{notificationId}/open", s.page(s.openNotification))
}

// notificationStore is the hub's store when it keeps notifications.
func (s *server) notificationStore() (labelhub.NotificationStore, bool) {
	ns, ok := s.cfg.Store.(labelhub.NotificationStore)
	return ns, ok
}

// unreadCount is the header's count of c's unread notifications; ok is
// false when the store keeps none (the header then shows no link). A
// failed count shows as 0: the header never fails a page.
func (s *server) unreadCount(r *http.Request, c *reqCtx) (n int64, ok bool) {
	ns, ok := s.notificationStore()
	if !ok {
		return 0, false
	}
	n, err := ns.UnreadNotifications(r.Context(), c.actor.Org.ID, c.actor.User.ID)
	if err != nil {
		s.log.Warn("web: counting unread notifications failed", "err", err)
		return 0, true
	}
	return n, true
}

// notificationRow is a notification with the result file of its run.
type notificationRow struct {
	labelhub.Notification
	Artifact *labelhub.RunArtifact // nil when the run has no (unexpired) file
}

// Unread reports whether the user has not opened it yet.
func (n notificationRow) Unread() bool { return n.ReadAt == nil }

type notificationsView struct {
	Rows       []notificationRow
	NextCursor string
	Paged      bool
}

func (s *server) notificationsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ns, ok := s.notificationStore()
	if !ok {
		return labelhub.Errorf(labelhub.ECodeNotFound, "This hub keeps no notifications.")
	}
	cursor := r.URL.Query().Get("cursor")
	page, err := ns.ListNotifications(r.Context(), c.actor.Org.ID, c.actor.User.ID, false, labelhub.PageRequest{Limit: pageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	var arts labelhub.RunArtifactStore
	if st, err := s.pluginStore(); err == nil {
		arts, _ = st.(labelhub.RunArtifactStore)
	}
	v := notificationsView{Rows: make([]notificationRow, len(page.Items)), NextCursor: page.NextCursor, Paged: cursor != ""}
	for i, n := range page.Items {
		v.Rows[i].Notification = n
		if arts == nil || n.RunID == "" || n.Kind != labelhub.NotifyExportReady {
			continue
		}
		if a, err := arts.GetRunArtifact(r.Context(), c.actor.Org.ID, n.RunID); err == nil && !a.Expired {
			v.Rows[i].Artifact = &a
		}
	}
	s.render(w, r, http.StatusOK, "notifications", c, "Notifications", "notifications", v)
	return nil
}

// openNotification marks one read and goes to its run's session page (or
// back to the list when it is about no run).
func (s *server) openNotification(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ns, ok := s.notificationStore()
	if !ok {
		return labelhub.Errorf(labelhub.ECodeNotFound, "This hub keeps no notifications.")
	}
	id := r.PathValue("notificationId")
	if !labelhub.ValidID(id) {
		return labelhub.NotFound("notification")
	}
	n, err := ns.ReadNotification(r.Context(), c.actor.Org.ID, c.actor.User.ID, id)
	if err != nil {
		return err
	}
	to := "/notifications"
	if n.RunID != "" {
		to = "/runs/" + n.RunID
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (s *server) readAllNotifications(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ns, ok := s.notificationStore()
	if !ok {
		return labelhub.Errorf(labelhub.ECodeNotFound, "This hub keeps no notifications.")
	}
	if _, err := ns.ReadAllNotifications(r.Context(), c.actor.Org.ID, c.actor.User.ID); err != nil {
		return err
	}
	s.redirectWithFlash(w, r, "/notifications", "notifications-read")
	return nil
}
