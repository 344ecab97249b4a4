// Package socketio serves the Engine.IO v4 and Socket.IO v5 protocols:
// the subset that Socket.IO clients of the model hub's plugin SDK use
// (python-socketio 5 and its peers). It speaks both Engine.IO transports,
// HTTP long-polling and WebSocket, the upgrade from the first to the
// second, heartbeats (the server pings), one application namespace plus
// the main one, and text events (an event's acknowledgement id reaches the
// handler; the server sends no acknowledgements, as the SDK asks for none). Binary
// attachments are refused.
//
// A Server is an http.Handler for the Engine.IO path (/socket.io/). Each
// client that connects to the namespace becomes a Socket, handed to the
// Handler in a goroutine of its own; the handler reads the client's
// events with Read and sends with Emit, like a connection.
//
// It imports only the standard library and github.com/coder/websocket,
// and nothing of labelhub.
package socketio
