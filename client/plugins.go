package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// PluginCreated is a new plugin with its secret, which the hub shows this
// once (and again only by rotating it).
type PluginCreated struct {
	labelhub.Plugin
	Secret string `json:"secret"`
}

// PluginStatus is one plugin with its connected instances: Online is true
// when at least one plugin process is connected.
type PluginStatus struct {
	labelhub.Plugin
	Online    bool                      `json:"online"`
	Instances []labelhub.PluginInstance `json:"instances"`
}

// SecretRotated is a plugin's new secret, shown this once. The hub has
// disconnected the plugin's processes that used the old one.
type SecretRotated struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// NewPlugin is what CreatePlugin takes; Name and Type are required.
type NewPlugin struct {
	Name        string              `json:"name"`
	Type        labelhub.PluginType `json:"type"`
	Description string              `json:"description,omitempty"`
	// DefaultConfig is the Config JSON text runs get unless they bring
	// their own; "" for none.
	DefaultConfig string `json:"defaultConfig,omitempty"`
}

// RunInput starts a run of a plugin.
type RunInput struct {
	ProjectID string `json:"projectId"`
	// ConfigJSON is the run's Config JSON text; nil runs with the plugin's
	// default config.
	ConfigJSON *string `json:"configJSON,omitempty"`
	// Params are the plugin type's fields (export: stage, numTasks; file
	// explorer: folder, …); nil sends none.
	Params map[string]any `json:"params,omitempty"`
}

// LogPage is one page of a run's log.
type LogPage struct {
	Items []labelhub.RunLog `json:"items"`
	// Next is the after value that continues the log.
	Next int64 `json:"next"`
	// Final says the run has ended and this page reached the end of its
	// log, so it will not grow.
	Final bool `json:"final"`
}

// CreatePlugin registers a plugin (admins). The answer's Secret is what the
// plugin process authenticates with (LABELHUB_PLUGIN_SECRET); it is shown
// this once.
func (c *Client) CreatePlugin(ctx context.Context, in NewPlugin) (PluginCreated, error) {
	var out PluginCreated
	err := c.do(ctx, http.MethodPost, "/api/v1/plugins", nil, in, &out)
	return out, err
}

// ListPlugins returns one page of the organisation's plugins (GetPlugin
// says which are online).
func (c *Client) ListPlugins(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Plugin], error) {
	return list[labelhub.Plugin](ctx, c, "/api/v1/plugins", p, nil)
}

// GetPlugin returns one plugin with its connected instances.
func (c *Client) GetPlugin(ctx context.Context, id string) (PluginStatus, error) {
	var out PluginStatus
	err := c.do(ctx, http.MethodGet, "/api/v1/plugins/"+url.PathEscape(id), nil, nil, &out)
	if out.Instances == nil {
		out.Instances = []labelhub.PluginInstance{}
	}
	return out, err
}

// DeletePlugin deletes a plugin and disconnects its processes.
func (c *Client) DeletePlugin(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/plugins/"+url.PathEscape(id), nil, nil, nil)
}

// RotatePluginSecret replaces a plugin's secret; its connected processes
// are disconnected and must be restarted with the new one.
func (c *Client) RotatePluginSecret(ctx context.Context, id string) (SecretRotated, error) {
	var out SecretRotated
	err := c.do(ctx, http.MethodPost, "/api/v1/plugins/"+url.PathEscape(id)+"/rotate-secret", nil, nil, &out)
	return out, err
}

// RunPlugin starts a run of a plugin. With wait, the hub answers when the
// run has ended or after its own limit (a minute), whichever comes first:
// check the answer's State.Final().
func (c *Client) RunPlugin(ctx context.Context, pluginID string, in RunInput, wait bool) (labelhub.Run, error) {
	var q url.Values
	if wait {
		q = url.Values{"wait": {"true"}}
	}
	var out labelhub.Run
	err := c.do(ctx, http.MethodPost, "/api/v1/plugins/"+url.PathEscape(pluginID)+"/runs", q, in, &out)
	return out, err
}

// GetRun returns one run.
func (c *Client) GetRun(ctx context.Context, id string) (labelhub.Run, error) {
	var out labelhub.Run
	err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// ListRuns returns one page of a project's runs, newest first.
func (c *Client) ListRuns(ctx context.Context, projectID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Run], error) {
	return list[labelhub.Run](ctx, c, "/api/v1/projects/"+url.PathEscape(projectID)+"/runs", p, nil)
}

// CancelRun asks for a run to end: a queued run is cancelled at once, a
// running one is told to stop (and cut off after the hub's grace period).
func (c *Client) CancelRun(ctx context.Context, id string) (labelhub.Run, error) {
	var out labelhub.Run
	err := c.do(ctx, http.MethodPost, "/api/v1/runs/"+url.PathEscape(id)+"/cancel", nil, nil, &out)
	return out, err
}

// RunLogs returns the log records of a run after the sequence number after
// (0: from the start), at most limit of them (0: the hub's default).
func (c *Client) RunLogs(ctx context.Context, id string, after int64, limit int) (LogPage, error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out LogPage
	err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(id)+"/logs", q, nil, &out)
	if out.Items == nil {
		out.Items = []labelhub.RunLog{}
	}
	return out, err
}

// FollowRunLogs streams a run's log live (server-sent events), from after
// on, calling onLog for each record in order, until the run ends; it then
// returns the run as it ended. A dropped stream is resumed where it broke.
// The stream is bounded by ctx only, not by the HTTP client's Timeout. An
// error of onLog stops the stream and is returned.
func (c *Client) FollowRunLogs(ctx context.Context, id string, after int64, onLog func(labelhub.RunLog) error) (labelhub.Run, error) {
	hc := http.DefaultClient
	if c.HTTPClient != nil {
		hc = c.HTTPClient
	}
	if hc.Timeout > 0 {
		copied := *hc
		copied.Timeout = 0
		hc = &copied
	}
	failures := 0
	for {
		run, ended, err := c.streamLogs(ctx, hc, id, &after, onLog)
		if ended {
			return run, nil
		}
		var cbErr callbackError
		if errors.As(err, &cbErr) {
			return labelhub.Run{}, cbErr.err
		}
		var lerr *labelhub.Error
		if ctx.Err() != nil || errors.As(err, &lerr) {
			return labelhub.Run{}, err
		}
		// The stream broke (a proxy's idle timeout, a hub restart): resume.
		failures++
		if failures > 5 {
			return labelhub.Run{}, fmt.Errorf("labelhub client: following the log of run %s: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return labelhub.Run{}, ctx.Err()
		case <-time.After(time.Duration(failures) * 200 * time.Millisecond):
		}
	}
}

type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// errStreamBroke is a stream that ended without its "end" event.
var errStreamBroke = errors.New("the log stream ended before the run did")

// streamLogs reads one SSE connection. ended reports that the "end" event
// came, with the run.
func (c *Client) streamLogs(ctx context.Context, hc *http.Client, id string, after *int64, onLog func(labelhub.RunLog) error) (labelhub.Run, bool, error) {
	q := url.Values{"stream": {"true"}}
	if *after > 0 {
		q.Set("after", strconv.FormatInt(*after, 10))
	}
	path := "/api/v1/runs/" + url.PathEscape(id) + "/logs"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+path+"?"+q.Encode(), nil)
	if err != nil {
		return labelhub.Run{}, false, fmt.Errorf("labelhub client: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	c.setIdentity(req)
	resp, err := hc.Do(req)
	if err != nil {
		return labelhub.Run{}, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return labelhub.Run{}, false, decodeError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var event string
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if line == "" { // the end of an event
			ev, d := event, data.String()
			event = ""
			data.Reset()
			switch ev {
			case "log":
				var l labelhub.RunLog
				if err := json.Unmarshal([]byte(d), &l); err != nil {
					return labelhub.Run{}, false, fmt.Errorf("labelhub client: decode a log event of run %s: %w", id, err)
				}
				if l.Seq <= *after {
					continue // already seen before a resume
				}
				if err := onLog(l); err != nil {
					return labelhub.Run{}, false, callbackError{err}
				}
				*after = l.Seq
			case "end":
				var r labelhub.Run
				if err := json.Unmarshal([]byte(d), &r); err != nil {
					return labelhub.Run{}, false, fmt.Errorf("labelhub client: decode the end event of run %s: %w", id, err)
				}
				return r, true, nil
			}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			event = value
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		if ctx.Err() != nil {
			return labelhub.Run{}, false, ctx.Err()
		}
		return labelhub.Run{}, false, err
	}
	if ctx.Err() != nil {
		return labelhub.Run{}, false, ctx.Err()
	}
	return labelhub.Run{}, false, errStreamBroke
}
