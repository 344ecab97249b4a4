package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labelhub/labelhub/netguard"
)

// Kind tells what went wrong, for a caller that decides whether to retry.
type Kind string

// Kinds of probe errors.
const (
	KindRefused     Kind = "refused"     // the URL's host is not a public address (see AllowPrivateFlag)
	KindURL         Kind = "url"         // the URL is malformed or not http(s)
	KindHTTP        Kind = "http"        // the server answered with an error status
	KindNetwork     Kind = "network"     // the server could not be reached or broke off
	KindTimeout     Kind = "timeout"     // the probe took longer than Options.Timeout
	KindCanceled    Kind = "canceled"    // the caller's context was canceled
	KindFormat      Kind = "format"      // the file is not what it should be, or is damaged
	KindLimit       Kind = "limit"       // a documented limit was hit
	KindUnsupported Kind = "unsupported" // the hub cannot read this (ffprobe missing, no range support)
)

// Error is the error every probe method returns. Its message is meant for
// the person who imported the asset; it never contains the URL's query
// string.
type Error struct {
	Kind Kind
	// Status is the HTTP status for KindHTTP, else 0.
	Status int
	msg    string
}

func (e *Error) Error() string { return e.msg }

// Temporary reports whether the same probe may succeed later: timeouts,
// network errors and the server's 408, 429 and 5xx answers.
func (e *Error) Temporary() bool {
	switch e.Kind {
	case KindTimeout, KindNetwork, KindCanceled:
		return true
	case KindHTTP:
		return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
	}
	return false
}

func errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Temporary reports whether err is a probe error that may go away when the
// probe is tried again later.
func Temporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary()
}

// statusError turns an HTTP error status into an error a person can act on.
func statusError(code int) *Error {
	text := http.StatusText(code)
	var msg string
	switch {
	case code == http.StatusForbidden:
		msg = "the signed URL was refused (403): check the storage integration's read permission"
	case code == http.StatusUnauthorized:
		msg = "the URL needs credentials (401): import the asset with a storage integration that can read it"
	case code == http.StatusNotFound:
		msg = "the file was not found (404): it may have been moved or deleted"
	case code == http.StatusGone:
		msg = "the file is gone (410)"
	case code == http.StatusTooManyRequests:
		msg = "the storage is rate-limiting requests (429); the probe will be tried again later"
	case code >= 500:
		msg = fmt.Sprintf("the storage answered %d %s; the probe may be tried again later", code, text)
	default:
		msg = fmt.Sprintf("the storage answered %d %s", code, text)
	}
	return &Error{Kind: KindHTTP, Status: code, msg: msg}
}

// transportError classifies an error of http.Client.Do (or of reading a
// body) without quoting the URL, which url.Error would.
func transportError(ctx context.Context, err error, host string) error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if e := ctxError(ctx); e != nil {
		return e
	}
	var priv *netguard.RefusedError
	if errors.As(err, &priv) {
		return refused(priv)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return errorf(KindNetwork, "cannot resolve %s (%s)", host, dnsErr.Err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errorf(KindNetwork, "%s did not answer in time", host)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		inner := opErr.Err
		for {
			u := errors.Unwrap(inner)
			if u == nil {
				break
			}
			inner = u
		}
		return errorf(KindNetwork, "cannot reach %s: %s", host, inner)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if strings.Contains(msg, "://") {
		// Never repeat a URL: it may carry a signature.
		msg = "the connection failed"
	}
	return errorf(KindNetwork, "reading from %s failed: %s", host, msg)
}

// ctxError reports the context's end as a probe error, or nil.
func ctxError(ctx context.Context) error {
	switch {
	case ctx.Err() == nil:
		return nil
	case errors.Is(context.Cause(ctx), errProbeTimeout):
		return &Error{Kind: KindTimeout, msg: context.Cause(ctx).Error()}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return errorf(KindTimeout, "the probe ran out of time (the caller's deadline)")
	default:
		return errorf(KindCanceled, "the probe was canceled")
	}
}

// errProbeTimeout is the cause of a probe's own deadline.
var errProbeTimeout = errors.New("probe timeout")

type timeoutError struct{ d string }

func (e timeoutError) Error() string {
	return "the probe timed out after " + e.d + ": the storage is slow or the file is unusually laid out"
}
func (e timeoutError) Is(target error) bool { return target == errProbeTimeout }
