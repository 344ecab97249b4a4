package labelhub

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes. Each maps to one HTTP status in httpapi.
const (
	ECodeInvalid      = "invalid"      // the input is wrong; Details name the fields
	ECodeNotFound     = "not_found"    // no such object, or not in the caller's organisation
	ECodeConflict     = "conflict"     // the object exists already, or changed meanwhile
	ECodeUnauthorized = "unauthorized" // no, wrong, expired or revoked credentials
	ECodeForbidden    = "forbidden"    // the caller's role does not allow it
	ECodeTooLarge     = "too_large"    // a documented limit was hit
	ECodeRateLimited  = "rate_limited" // too many attempts; try later
	ECodeInternal     = "internal"     // a bug or an outage; the message never leaks internals
	ECodeUnavailable  = "unavailable"  // a dependency is down
)

// FieldError names one wrong field by its JSON path (e.g. "tools[2].schemaId").
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error is the error type the domain, the store and the API share.
type Error struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Details []FieldError `json:"details,omitempty"`
	// RetryAfter, for ECodeRateLimited, is when trying again makes sense;
	// the API answers it as the Retry-After header.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	parts := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		parts = append(parts, d.Path+": "+d.Message)
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error carrying field details.
func Invalid(message string, details ...FieldError) *Error {
	return &Error{Code: ECodeInvalid, Message: message, Details: details}
}

// NotFound says that an object of the given kind does not exist for the caller.
func NotFound(kind string) *Error {
	return &Error{Code: ECodeNotFound, Message: kind + " not found"}
}

// ErrorCode returns the code of err, ECodeInternal for foreign errors and ""
// for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}

// Problems collects field errors while validating a value.
type Problems []FieldError

// Add records a problem at path.
func (p *Problems) Add(path, format string, args ...any) {
	*p = append(*p, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was recorded, else an invalid *Error.
func (p Problems) Err(message string) error {
	if len(p) == 0 {
		return nil
	}
	return Invalid(message, p...)
}

// LimitRetryAfter is the Retry-After of the limits below: imports and
// queued runs usually take seconds to minutes to end or start.
const LimitRetryAfter = 10 * time.Second

// TooManyImports is the error of an import refused because the
// organisation has running imports at its limit
// (--import-max-concurrent-per-org).
func TooManyImports(running int) *Error {
	e := Errorf(ECodeRateLimited, "your organisation has %d imports running, the limit (--import-max-concurrent-per-org); wait for one to end", running)
	e.RetryAfter = LimitRetryAfter
	return e
}

// TooManyQueuedRuns is the error of a run refused because its plugin has
// queued runs at its limit (--plugin-max-queued-runs).
func TooManyQueuedRuns(pluginID string, queued int) *Error {
	e := Errorf(ECodeRateLimited, "plugin %s has %d runs queued, the limit (--plugin-max-queued-runs); wait for some to start or end, or connect more instances of the plugin", pluginID, queued)
	e.RetryAfter = LimitRetryAfter
	return e
}
