package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// stats counts every request of the soak: per route its latencies and
// errors, per status, and every error with its time and message.
type stats struct {
	start time.Time

	mu       sync.Mutex
	routes   map[string]*routeStat
	statuses map[string]int64
	errors   []errEvent
}

type routeStat struct {
	n, errs int64
	lat     []time.Duration
}

// errEvent is one request that did not succeed: a status of 400 or more,
// or no status at all (a connection refused or cut, a timeout).
type errEvent struct {
	at      time.Duration // since the start of the load
	route   string
	status  string // "409", or "conn" without a status
	message string
}

func newStats() *stats {
	return &stats{start: time.Now(), routes: map[string]*routeStat{}, statuses: map[string]int64{}}
}

func (s *stats) record(route string, status int, lat time.Duration, err error, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.routes[route]
	if r == nil {
		r = &routeStat{}
		s.routes[route] = r
	}
	r.n++
	r.lat = append(r.lat, lat)
	code := fmt.Sprint(status)
	if err != nil {
		code, message = "conn", connMessage(err)
	}
	s.statuses[code]++
	if err != nil || status >= 400 {
		r.errs++
		s.errors = append(s.errors, errEvent{at: time.Since(s.start), route: route, status: code, message: message})
	}
}

// connMessage is the error of a request without its method and URL.
func connMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return trim(err.Error())
}

func trim(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// hubClient is one soak client: it talks to its preferred replica and, when
// a connection fails, moves to the next one (as a load balancer whose
// health check saw the replica go would).
type hubClient struct {
	hc   *http.Client
	key  string
	urls []string
	pref int
	st   *stats
}

// request is one call: route names it in the report (its path pattern).
type request struct {
	route, method, path string
	header              http.Header
	body                io.Reader
	timeout             time.Duration
	// stream, when set, reads a 2xx body instead of the default (kept in
	// response.body); an error it returns counts as a cut connection.
	stream func(*http.Response) error
}

type response struct {
	status int
	header http.Header
	body   []byte
	err    error  // no status: the connection failed or was cut
	msg    string // the error message of a status ≥ 400
}

// ok reports a 2xx answer.
func (r response) ok() bool { return r.err == nil && r.status >= 200 && r.status < 300 }

// unknown reports an answer that does not say whether a write happened:
// no status, or a 5xx (the hub may have committed before it failed).
func (r response) unknown() bool { return r.err != nil || r.status >= 500 }

func (c *hubClient) call(ctx context.Context, q request) response {
	timeout := q.timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	base := c.urls[c.pref%len(c.urls)]
	req, err := http.NewRequestWithContext(ctx, q.method, base+q.path, q.body)
	if err != nil {
		panic(err)
	}
	for k, v := range q.header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	started := time.Now()
	resp, err := c.hc.Do(req)
	var out response
	if err != nil {
		out.err = err
		c.pref++
	} else {
		out.status, out.header = resp.StatusCode, resp.Header
		if q.stream != nil && out.ok() {
			out.err = q.stream(resp)
		} else {
			out.body, out.err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		}
		resp.Body.Close()
		if out.err == nil && out.status >= 400 {
			out.msg = errorMessage(out.body)
		}
	}
	c.st.record(q.route, out.status, time.Since(started), out.err, out.msg)
	if out.err != nil {
		out.status = 0
	}
	return out
}

// errorMessage is the message of the API's error body.
func errorMessage(b []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return trim(e.Error.Code + ": " + e.Error.Message)
	}
	return trim(string(b))
}

// jsonBody is v as a request body.
func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return bytes.NewReader(b)
}

// percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func sortedDurations(d []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), d...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// failed records an operation answered 2xx that did not succeed (an import
// or a run that ended failed), with its message; the request itself was
// counted by record.
func (s *stats) failed(route, what, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors = append(s.errors, errEvent{at: time.Since(s.start), route: route, status: what, message: trim(message)})
}
