package pluginproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the protocol version this package speaks. Every message
// carries it in "v"; a message of another version is refused.
const Version = 1

// Limits of the protocol. The hub announces its own values in welcome.
const (
	DefaultMaxMessageBytes = 1 << 20 // 1 MiB per message
	DefaultMaxLogLines     = 10000   // log records kept per run
	MaxLogMessageBytes     = 8 << 10 // one log message; longer ones are cut
	MaxIDBytes             = 64
	MaxTextBytes           = 4 << 10 // names, hosts, reasons, progress messages
)

// Message types.
const (
	TypeHello     = "hello"     // plugin → hub: credentials and capacity
	TypeWelcome   = "welcome"   // hub → plugin: accepted; the hub's limits
	TypeHeartbeat = "heartbeat" // both ways
	TypeAssign    = "run.assign"
	TypeAccept    = "run.accept"
	TypeLog       = "run.log"
	TypeProgress  = "run.progress"
	TypeResult    = "run.result"
	TypeError     = "run.error"
	TypeCancel    = "run.cancel"
	TypeGoodbye   = "goodbye" // either side, before closing
)

// Message is the envelope of every message: {"v":1,"type":"…","id":"…",…}.
// Which other fields a message has depends on its type (see the protocol
// document); Decode refuses a message that lacks a required field or has
// an unknown one.
type Message struct {
	V    int    `json:"v"`
	Type string `json:"type"`
	// ID is the run id for run.* messages.
	ID string `json:"id,omitempty"`

	// hello
	PluginID    string `json:"pluginId,omitempty"`
	Secret      string `json:"secret,omitempty"`
	SDKVersion  string `json:"sdkVersion,omitempty"`
	Host        string `json:"host,omitempty"`
	Concurrency int    `json:"concurrency,omitempty"`

	// welcome
	InstanceID      string `json:"instanceId,omitempty"`
	PluginType      string `json:"pluginType,omitempty"`
	HeartbeatMillis int64  `json:"heartbeatMs,omitempty"`
	MaxMessageBytes int    `json:"maxMessageBytes,omitempty"`
	MaxLogLines     int    `json:"maxLogLines,omitempty"`

	// run.assign
	Run *Run `json:"run,omitempty"`

	// run.log
	Time  *time.Time      `json:"time,omitempty"`
	Level string          `json:"level,omitempty"`
	Msg   string          `json:"msg,omitempty"`
	Attrs json.RawMessage `json:"attrs,omitempty"`

	// run.progress
	Done  *int64 `json:"done,omitempty"`
	Total *int64 `json:"total,omitempty"`

	// run.result
	Result json.RawMessage `json:"result,omitempty"`

	// run.error, run.cancel, goodbye; also run.progress's message
	Error  string `json:"error,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Run is what a plugin receives with run.assign: the fields of formats.md
// §4 common to every plugin type, and the type's own fields in Params.
type Run struct {
	Session    string   `json:"session"` // the run id
	PluginID   string   `json:"pluginId"`
	PluginType string   `json:"pluginType"`
	ProjectID  string   `json:"projectId"`
	OrgID      string   `json:"orgId"`
	RunBy      string   `json:"runBy"`
	ConfigJSON string   `json:"configJSON"`
	Batches    []string `json:"batches"`
	// APIKey is a token scoped to this run and its project; it stops
	// working when the run ends. Large inputs and outputs (the export,
	// result files) go over HTTP with it, not over the socket.
	APIKey string `json:"apiKey"`
	// Attempt counts from 1; a run whose instance went away is assigned again.
	Attempt int `json:"attempt"`
	// Deadline is when the hub gives up on the run.
	Deadline time.Time `json:"deadline"`
	// Params holds the type's fields (folder, upload, scrollToken, …) as a
	// JSON object.
	Params json.RawMessage `json:"params,omitempty"`
}

// Log levels as they travel.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Error is a protocol violation found while decoding: the message is not
// acted on, and the connection may go on.
type Error struct{ Msg string }

func (e *Error) Error() string { return "plugin protocol: " + e.Msg }

func errf(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// ErrTooLarge is wrapped by Decode's error for a message over the limit.
var ErrTooLarge = errors.New("message too large")

// Encode returns the JSON of m, setting m.V to Version when it is 0. It
// checks m like Decode would, so that a peer never sees an invalid message.
func Encode(m *Message, maxBytes int) ([]byte, error) {
	if m.V == 0 {
		m.V = Version
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if maxBytes > 0 && len(b) > maxBytes {
		return nil, fmt.Errorf("plugin protocol: %s message of %d bytes: %w (limit %d bytes)", m.Type, len(b), ErrTooLarge, maxBytes)
	}
	return b, nil
}

// Decode parses one message: at most maxBytes (0 means
// DefaultMaxMessageBytes), valid UTF-8, exactly one JSON object, no
// unknown fields, the right version, a known type and that type's
// required fields.
func Decode(b []byte, maxBytes int) (*Message, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxMessageBytes
	}
	if len(b) > maxBytes {
		return nil, fmt.Errorf("plugin protocol: message of %d bytes: %w (limit %d bytes)", len(b), ErrTooLarge, maxBytes)
	}
	if !utf8.Valid(b) {
		return nil, errf("message is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, errf("malformed message: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errf("data after the message")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

var levels = map[string]bool{LevelDebug: true, LevelInfo: true, LevelWarn: true, LevelError: true}

// Validate checks the version, the type and the type's required fields.
func (m *Message) Validate() error {
	if m.V != Version {
		return errf("version %d is not supported (this side speaks %d)", m.V, Version)
	}
	if len(m.ID) > MaxIDBytes || len(m.PluginID) > MaxIDBytes || len(m.InstanceID) > MaxIDBytes {
		return errf("an id is longer than %d bytes", MaxIDBytes)
	}
	if len(m.Host) > MaxTextBytes || len(m.SDKVersion) > MaxTextBytes || len(m.Reason) > MaxTextBytes || len(m.Secret) > MaxTextBytes {
		return errf("a text field is longer than %d bytes", MaxTextBytes)
	}
	needID := func() error {
		if m.ID == "" {
			return errf("%s needs the run id in \"id\"", m.Type)
		}
		return nil
	}
	switch m.Type {
	case TypeHello:
		if m.PluginID == "" || m.Secret == "" {
			return errf("hello needs pluginId and secret")
		}
		if m.Concurrency < 0 || m.Concurrency > 10000 {
			return errf("hello: concurrency must be 1 to 10000")
		}
	case TypeWelcome:
		if m.InstanceID == "" {
			return errf("welcome needs instanceId")
		}
	case TypeHeartbeat, TypeGoodbye:
	case TypeAssign:
		if err := needID(); err != nil {
			return err
		}
		if m.Run == nil {
			return errf("run.assign needs run")
		}
		if len(m.Run.Params) > 0 && (m.Run.Params[0] != '{') {
			return errf("run.assign: params must be an object")
		}
	case TypeAccept, TypeCancel:
		return needID()
	case TypeLog:
		if err := needID(); err != nil {
			return err
		}
		if !levels[m.Level] {
			return errf("run.log: level must be debug, info, warn or error")
		}
		if len(m.Attrs) > 0 && m.Attrs[0] != '{' {
			return errf("run.log: attrs must be an object")
		}
	case TypeProgress:
		if err := needID(); err != nil {
			return err
		}
		if m.Done != nil && *m.Done < 0 || m.Total != nil && *m.Total < 0 {
			return errf("run.progress: done and total must not be negative")
		}
		if len(m.Msg) > MaxTextBytes {
			return errf("run.progress: msg is longer than %d bytes", MaxTextBytes)
		}
	case TypeResult:
		return needID()
	case TypeError:
		if err := needID(); err != nil {
			return err
		}
		if m.Error == "" {
			return errf("run.error needs error")
		}
	case "":
		return errf("message has no type")
	default:
		return errf("unknown message type %q", m.Type)
	}
	return nil
}
