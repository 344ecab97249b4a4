// Package firstparty lists the plugins that ship with labelhub: converters
// and the File Explorer, written with the public SDK (package plugin) like
// any other plugin. The hub serves each in-process by default, as one
// plugin visible in every organisation; `labelhub plugin serve NAME` runs
// one as a separate process for a plugin an organisation registered
// itself (docs/plugin-protocol.md, "First-party plugins").
package firstparty
