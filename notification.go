package labelhub

import (
	"context"
	"time"
)

// Notification kinds.
const (
	NotifyExportReady  = "export.ready"
	NotifyExportFailed = "export.failed"
)

// Notification is a message for one user, such as "your export is ready".
type Notification struct {
	ID        string     `json:"id"`
	OrgID     string     `json:"-"`
	UserID    string     `json:"userId"`
	Kind      string     `json:"kind"` // NotifyExportReady, NotifyExportFailed
	Title     string     `json:"title"`
	Message   string     `json:"message"`
	RunID     string     `json:"runId,omitempty"` // the run it is about
	CreatedAt time.Time  `json:"createdAt"`
	ReadAt    *time.Time `json:"readAt"` // nil while unread
}

// NotificationStore keeps notifications. Every method is limited to one
// user of one organisation: nobody reads or marks another's.
type NotificationStore interface {
	AddNotification(ctx context.Context, n Notification) (Notification, error)
	// ListNotifications lists the user's notifications newest first
	// (only unread ones with unread), keyset-paged.
	ListNotifications(ctx context.Context, orgID, userID string, unread bool, p PageRequest) (Page[Notification], error)
	// UnreadNotifications counts the user's unread notifications.
	UnreadNotifications(ctx context.Context, orgID, userID string) (int64, error)
	// ReadNotification marks one read (ECodeNotFound when it is not the
	// user's) and returns it.
	ReadNotification(ctx context.Context, orgID, userID, id string) (Notification, error)
	// ReadAllNotifications marks all the user's unread ones read and
	// returns how many.
	ReadAllNotifications(ctx context.Context, orgID, userID string) (int64, error)
}
