// Package netguard keeps the hub's server-side connections to user-given
// hosts (storage endpoints, asset URLs for metadata probes) off loopback,
// private, link-local and reserved addresses, unless the operator allows
// them with --allow-private-endpoints. It checks a host up front, for a
// clear message, and again on every dial, after name resolution, so that
// redirects and DNS rebinding do not get around it.
//
// It imports only the standard library.
package netguard
