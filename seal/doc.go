// Package seal encrypts secrets at rest (storage credentials) with
// AES-256-GCM. Each sealed value is bound to the row it belongs to through
// associated data, so a ciphertext copied onto another row does not open.
// The key comes from LABELHUB_SECRET_KEY or a key file generated into the
// data folder on first start.
//
// It imports only the standard library.
package seal
