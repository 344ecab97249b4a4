package httpapi

import (
	"net/http"

	"github.com/labelhub/labelhub"
)

// Notifications are the caller's own: every route reads and marks only
// the authenticated user's; run tokens get 403 (scopeAllows).
func (s *Server) routesNotifications() {
	s.handle("GET", "/api/v1/notifications", s.listNotifications)
	s.handle("POST", "/api/v1/notifications/read-all", s.readAllNotifications)
	s.handle("POST", "/api/v1/notifications/{notificationId}/read", s.readNotification)
}

// NotificationPage is a page of the caller's notifications, newest first,
// with the count of all their unread ones.
type NotificationPage struct {
	labelhub.Page[labelhub.Notification]
	Unread int64 `json:"unread"`
}

func (s *Server) notifications() (labelhub.NotificationStore, error) {
	ns, ok := s.cfg.Store.(labelhub.NotificationStore)
	if !ok {
		return nil, labelhub.Errorf(labelhub.ECodeUnavailable, "this store keeps no notifications")
	}
	return ns, nil
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	ns, err := s.notifications()
	if err != nil {
		return err
	}
	var p labelhub.Problems
	unread := boolQuery(r, "unread", &p)
	if err := p.Err("invalid query"); err != nil {
		return err
	}
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := ns.ListNotifications(r.Context(), a.Org.ID, a.User.ID, unread, pr)
	if err != nil {
		return err
	}
	n, err := ns.UnreadNotifications(r.Context(), a.Org.ID, a.User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, NotificationPage{Page: page, Unread: n})
	return nil
}

func (s *Server) readNotification(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	ns, err := s.notifications()
	if err != nil {
		return err
	}
	id, err := pathID(r, "notificationId", "notification")
	if err != nil {
		return err
	}
	n, err := ns.ReadNotification(r.Context(), a.Org.ID, a.User.ID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

func (s *Server) readAllNotifications(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	ns, err := s.notifications()
	if err != nil {
		return err
	}
	n, err := ns.ReadAllNotifications(r.Context(), a.Org.ID, a.User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"marked": n})
	return nil
}
