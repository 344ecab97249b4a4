package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/web"
)

// notify adds a notification for user (ids follow creation, so the last
// added is listed first), created at the given minute of a fixed hour.
func notify(t *testing.T, e *env, orgID, userID string, minute int, title, runID string) labelhub.Notification {
	t.Helper()
	at := time.Date(2026, 11, 22, 12, minute, 0, 0, time.UTC)
	n, err := e.store.AddNotification(context.Background(), labelhub.Notification{OrgID: orgID, UserID: userID,
		Kind: labelhub.NotifyExportReady, Title: title, Message: title + " message", RunID: runID, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	notifRowRE    = regexp.MustCompile(`<tr data-notification="([^"]+)" data-kind="[^"]*" data-unread="(true|false)"`)
	unreadBadgeRE = regexp.MustCompile(`<span class="notif-count" id="notif-count" data-unread="(\d+)"`)
)

// notifRows lists the notification ids of a page in order, with "*" after
// the unread ones.
func notifRows(body string) []string {
	var out []string
	for _, m := range notifRowRE.FindAllStringSubmatch(body, -1) {
		if m[2] == "true" {
			m[1] += "*"
		}
		out = append(out, m[1])
	}
	return out
}

// The Notifications page lists only the signed-in user's notifications,
// newest first, unread ones marked; the header counts the unread ones on
// every page; opening one marks it read and goes to its run; "Mark all
// read" needs the CSRF token and touches only the user's own.
func TestNotificationsPage(t *testing.T) {
	e := newEnv(t, web.Config{})
	ctx := context.Background()
	bob := e.user("bob@example.com", labelhub.RoleAdmin)
	other, otherAdmin, _, err := e.store.CreateOrg(ctx, labelhub.NewOrg{Name: "Other", AdminEmail: "eve@example.com", AdminPassword: adminPassword}, true)
	if err != nil {
		t.Fatal(err)
	}
	run1, run2 := labelhub.NewID(), labelhub.NewID()
	older := notify(t, e, e.org.ID, e.admin.ID, 1, "Export ready A", run1)
	newer := notify(t, e, e.org.ID, e.admin.ID, 2, "Export ready B", run2)
	bobs := notify(t, e, e.org.ID, bob.ID, 3, "Bob's export", labelhub.NewID())
	notify(t, e, other.ID, otherAdmin.ID, 4, "Other org's export", labelhub.NewID())

	c := e.client()
	c.login(adminEmail, adminPassword)
	badge := func(path string) string {
		t.Helper()
		r := c.get(path)
		wantStatus(t, r, http.StatusOK)
		m := unreadBadgeRE.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("%s has no unread count in its header", path)
		}
		return m[1]
	}
	if got := badge("/projects"); got != "2" {
		t.Fatalf("header count %s, want 2", got)
	}

	r := c.get("/notifications")
	wantStatus(t, r, http.StatusOK)
	if got, want := strings.Join(notifRows(r.body), ","), newer.ID+"*,"+older.ID+"*"; got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
	wantContains(t, r.body, "Export ready A message", `class="notif-unread"`, `id="read-all"`, `action="/notifications/`+newer.ID+`/open"`)
	wantNotContains(t, r.body, "Bob's export", "Other org's export")

	// Opening one marks it read and goes to the run's session page.
	csrf := c.csrf()
	r = c.post("/notifications/"+older.ID+"/open", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/runs/"+run1 {
		t.Fatalf("opening went to %s", loc)
	}
	if got := badge("/notifications"); got != "1" {
		t.Fatalf("header count after opening one: %s", got)
	}
	r = c.get("/notifications")
	if got, want := strings.Join(notifRows(r.body), ","), newer.ID+"*,"+older.ID; got != want {
		t.Fatalf("rows after opening %s, want %s", got, want)
	}
	// Another user's notification, or one of another organisation, is not found.
	r = c.post("/notifications/"+bobs.ID+"/open", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusNotFound)
	r = c.post("/notifications/"+older.ID+"/open", url.Values{})
	wantStatus(t, r, http.StatusForbidden)

	// Mark all read: refused without the token, nothing changes.
	r = c.post("/notifications/read-all", url.Values{"csrf": {"forged"}})
	wantStatus(t, r, http.StatusForbidden)
	if got := badge("/projects"); got != "1" {
		t.Fatalf("header count after a forged mark-all-read: %s", got)
	}
	r = c.post("/notifications/read-all", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusSeeOther)
	r = c.get("/notifications")
	wantContains(t, r.body, "All notifications marked read.")
	wantNotContains(t, r.body, `id="read-all"`, `class="notif-unread"`)
	if m := unreadBadgeRE.FindStringSubmatch(r.body); m == nil || m[1] != "0" || !strings.Contains(r.body, `data-unread="0" hidden>`) {
		t.Fatalf("header count after mark-all-read: %v", m)
	}
	// Bob's stays unread.
	if n, err := e.store.UnreadNotifications(ctx, e.org.ID, bob.ID); err != nil || n != 1 {
		t.Fatalf("bob's unread: %d, %v", n, err)
	}
	bc := e.client()
	bc.login("bob@example.com", adminPassword)
	r = bc.get("/notifications")
	if got := strings.Join(notifRows(r.body), ","); got != bobs.ID+"*" {
		t.Fatalf("bob's rows %s", got)
	}
}

// More than a page of notifications: the first page ends with a "load
// more" link whose page holds the rest, none twice.
func TestNotificationsLoadMore(t *testing.T) {
	e := newEnv(t, web.Config{})
	const total = 53
	want := make([]string, total)
	for i := range total {
		want[total-1-i] = notify(t, e, e.org.ID, e.admin.ID, i%60, fmt.Sprintf("Export %d", i), "").ID
	}
	c := e.client()
	c.login(adminEmail, adminPassword)
	var got []string
	next := "/notifications"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("the pages do not end")
		}
		r := c.get(next)
		wantStatus(t, r, http.StatusOK)
		for _, id := range notifRows(r.body) {
			got = append(got, strings.TrimSuffix(id, "*"))
		}
		next = ""
		if m := regexp.MustCompile(`href="(/notifications\?cursor=[^"]+)" data-load-more="notification-rows"`).FindStringSubmatch(r.body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("pages listed %d notifications:\n%v\nwant\n%v", len(got), got, want)
	}
}

// The run dialog of an Export plugin offers the export filters and sends
// them as the run's params; the hub's errors about them show next to the
// filters, with what was typed kept.
func TestExportRunFilters(t *testing.T) {
	e, _ := newPluginEnv(t)
	ctx := context.Background()
	c := e.client()
	c.login(adminEmail, adminPassword)
	csrf := c.csrf()
	proj, err := e.store.CreateProject(ctx, e.org.ID, e.admin.ID, labelhub.ProjectInput{Name: ptr("Street scenes")})
	if err != nil {
		t.Fatal(err)
	}
	night, err := e.store.CreateBatch(ctx, e.org.ID, proj.ID, "night")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateBatch(ctx, e.org.ID, proj.ID, "day"); err != nil {
		t.Fatal(err)
	}
	exp, _, err := e.store.CreatePlugin(ctx, e.org.ID, e.admin.ID, labelhub.PluginInput{Name: ptr("Exporter"), Type: ptr(labelhub.PluginExport)})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.store.CreatePlugin(ctx, e.org.ID, e.admin.ID, labelhub.PluginInput{Name: ptr("Tagger"), Type: ptr(labelhub.PluginModel)})
	if err != nil {
		t.Fatalf("a plugin of another type: %v", err)
	}
	dialog := "/projects/" + proj.ID + "/plugins/" + exp.ID

	r := c.get(dialog)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="export-filters"`, `<option value="`+night.ID+`">night</option>`, `<option value="start">`,
		`id="filter-history" checked`, `name="updatedAfter"`)
	wantNotContains(t, r.body, `id="filter-metadata" checked`)
	r = c.get("/projects/" + proj.ID + "/plugins/" + other.ID)
	wantStatus(t, r, http.StatusOK)
	wantNotContains(t, r.body, `id="export-filters"`)

	// A stage the workflow does not have: the hub's error on params.stage
	// shows in the filters' box, the picks are kept, no run starts.
	form := url.Values{"csrf": {csrf}, "configJSON": {""}, "filters": {"1"}, "batches": {night.ID}, "stage": {"nowhere"},
		"updatedAfter": {"2026-11-01T08:30"}, "includeMetadata": {"true"}}
	r = c.post(dialog+"/run", form)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	box := regexp.MustCompile(`(?s)<div class="alert alert-error" id="filters-error" role="alert">(.*?)</div>\s*<div class="filter-grid">`).FindStringSubmatch(r.body)
	if box == nil || !strings.Contains(box[1], "params.stage") || !strings.Contains(box[1], "nowhere") {
		t.Fatalf("no params.stage error next to the filters:\n%s", r.body)
	}
	wantContains(t, r.body, `<option value="`+night.ID+`" selected>night</option>`, `value="2026-11-01T08:30"`, `id="filter-metadata" checked`)
	wantNotContains(t, r.body, `id="filter-history" checked`)
	if runs, _ := e.store.ListRuns(ctx, e.org.ID, proj.ID, labelhub.PageRequest{}); len(runs.Items) != 0 {
		t.Fatalf("a refused run started: %+v", runs.Items)
	}
	// A time that is not one.
	form.Set("stage", "")
	form.Set("updatedAfter", "yesterday")
	r = c.post(dialog+"/run", form)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "params.updatedAfter")

	// Valid filters go to the run as its params (the hub adds numTasks).
	form.Set("stage", "start")
	form.Set("updatedAfter", "2026-11-01T08:30")
	form.Set("updatedBefore", "2026-11-02T09:00:05")
	r = c.post(dialog+"/run", form)
	wantStatus(t, r, http.StatusSeeOther)
	m := locationRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("run went to %q", r.Header.Get("Location"))
	}
	run, err := e.store.GetRun(ctx, e.org.ID, m[1])
	if err != nil {
		t.Fatal(err)
	}
	var params struct {
		Batches         []string `json:"batches"`
		Stage           string   `json:"stage"`
		UpdatedAfter    string   `json:"updatedAfter"`
		UpdatedBefore   string   `json:"updatedBefore"`
		IncludeHistory  *bool    `json:"includeHistory"`
		IncludeMetadata bool     `json:"includeMetadata"`
		NumTasks        *int64   `json:"numTasks"`
	}
	if err := json.Unmarshal(run.Params, &params); err != nil {
		t.Fatalf("params %s: %v", run.Params, err)
	}
	if len(params.Batches) != 1 || params.Stage != "start" || params.UpdatedAfter != "2026-11-01T08:30:00Z" ||
		params.UpdatedBefore != "2026-11-02T09:00:05Z" || params.IncludeHistory == nil || *params.IncludeHistory ||
		!params.IncludeMetadata || params.NumTasks == nil {
		t.Fatalf("params %s", run.Params)
	}
}
