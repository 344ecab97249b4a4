package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Engine.IO v4 packet types: the first character of every packet.
const (
	eioOpen    = '0'
	eioClose   = '1'
	eioPing    = '2'
	eioPong    = '3'
	eioMessage = '4'
	eioUpgrade = '5'
	eioNoop    = '6'
)

// recordSeparator separates packets in a long-polling body (Engine.IO v4).
const recordSeparator = '\x1e'

// Socket.IO v5 packet types: the first character of an Engine.IO message.
const (
	sioConnect      = '0'
	sioDisconnect   = '1'
	sioEvent        = '2'
	sioAck          = '3'
	sioConnectError = '4'
	sioBinaryEvent  = '5'
	sioBinaryAck    = '6'
)

// packet is one decoded Socket.IO packet.
type packet struct {
	typ       byte
	namespace string // "/" when the packet names none
	ackID     int64  // -1 when the packet asks for no acknowledgement
	data      json.RawMessage
}

var errBinary = errors.New("binary packets are not supported")

// decodePacket parses a Socket.IO packet:
// <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>].
func decodePacket(b []byte) (packet, error) {
	p := packet{namespace: "/", ackID: -1}
	if len(b) == 0 {
		return p, errors.New("empty packet")
	}
	p.typ = b[0]
	switch p.typ {
	case sioConnect, sioDisconnect, sioEvent, sioAck, sioConnectError:
	case sioBinaryEvent, sioBinaryAck:
		return p, errBinary
	default:
		return p, fmt.Errorf("unknown packet type %q", p.typ)
	}
	rest := b[1:]
	if len(rest) > 0 && rest[0] == '/' {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			// "1/plugin" is a valid disconnect without a comma.
			i = len(rest)
		}
		p.namespace = string(rest[:i])
		if i < len(rest) {
			i++
		}
		rest = rest[i:]
	}
	n := 0
	for n < len(rest) && n < 19 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n > 0 {
		if n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			return p, errors.New("acknowledgement id too long")
		}
		id, err := strconv.ParseInt(string(rest[:n]), 10, 64)
		if err != nil {
			return p, fmt.Errorf("acknowledgement id: %w", err)
		}
		p.ackID = id
		rest = rest[n:]
	}
	if len(rest) > 0 {
		if !json.Valid(rest) {
			return p, errors.New("the packet's data is not valid JSON")
		}
		p.data = json.RawMessage(rest)
	}
	switch p.typ {
	case sioEvent:
		if len(p.data) == 0 || p.data[0] != '[' {
			return p, errors.New("an event's data must be an array")
		}
	case sioAck:
		if p.ackID < 0 {
			return p, errors.New("an acknowledgement needs an id")
		}
	}
	return p, nil
}

// encodePacket is the inverse of decodePacket (no attachments).
func encodePacket(typ byte, namespace string, ackID int64, data []byte) []byte {
	b := make([]byte, 0, 2+len(namespace)+len(data)+8)
	b = append(b, eioMessage, typ)
	if namespace != "" && namespace != "/" {
		b = append(b, namespace...)
		b = append(b, ',')
	}
	if ackID >= 0 {
		b = strconv.AppendInt(b, ackID, 10)
	}
	return append(b, data...)
}

// Event is one event a client emitted.
type Event struct {
	Name string
	// Args are the event's arguments after its name; most events have one.
	Args []json.RawMessage
	// AckID is the id the client asked to be acknowledged with, or -1.
	AckID int64
}

// Arg returns the event's first argument, or nil.
func (e Event) Arg() json.RawMessage {
	if len(e.Args) == 0 {
		return nil
	}
	return e.Args[0]
}

func decodeEvent(p packet) (Event, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(p.data, &parts); err != nil {
		return Event{}, fmt.Errorf("event: %w", err)
	}
	if len(parts) == 0 {
		return Event{}, errors.New("an event needs a name")
	}
	var name string
	if err := json.Unmarshal(parts[0], &name); err != nil {
		return Event{}, errors.New("an event's name must be a string")
	}
	return Event{Name: name, Args: parts[1:], AckID: p.ackID}, nil
}
