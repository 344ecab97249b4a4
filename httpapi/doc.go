// Package httpapi serves the REST API under /api/v1 (api.md), the health
// and metrics endpoints, and the OpenAPI document. A request goes route →
// handler → store; handlers authenticate the caller, check its role, decode
// and bound the input, and turn labelhub errors into the error shape.
//
// It imports the root package and the stores' interfaces; it must not
// import the web UI or database drivers.
package httpapi
