package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labelhub/labelhub"
)

// NotificationPage is a page of the caller's notifications, newest first,
// with the count of all their unread ones.
type NotificationPage struct {
	labelhub.Page[labelhub.Notification]
	Unread int64 `json:"unread"`
}

// ListNotifications returns one page of the caller's notifications, newest
// first; with unread only those not read yet.
func (c *Client) ListNotifications(ctx context.Context, unread bool, p labelhub.PageRequest) (NotificationPage, error) {
	q := url.Values{}
	if unread {
		q.Set("unread", "true")
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	var out NotificationPage
	err := c.do(ctx, http.MethodGet, "/api/v1/notifications", q, nil, &out)
	return out, err
}

// ReadNotification marks one of the caller's notifications read.
func (c *Client) ReadNotification(ctx context.Context, id string) (labelhub.Notification, error) {
	var out labelhub.Notification
	err := c.do(ctx, http.MethodPost, "/api/v1/notifications/"+url.PathEscape(id)+"/read", nil, nil, &out)
	return out, err
}

// ReadAllNotifications marks all the caller's notifications read and
// returns how many were unread.
func (c *Client) ReadAllNotifications(ctx context.Context) (int64, error) {
	var out struct {
		Marked int64 `json:"marked"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/notifications/read-all", nil, nil, &out)
	return out.Marked, err
}
