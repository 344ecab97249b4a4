// Package pluginproto is the wire protocol between the hub (pluginhub) and
// plugin processes (the plugin SDK): versioned JSON messages over a
// WebSocket, described in docs/plugin-protocol.md.
//
// It is pure: no I/O, standard library only, so that the SDK that imports
// it stays light. It must not import anything outside the standard library.
package pluginproto
