//go:build !unix

package testservers

// lockPorts does nothing where flock is missing (see portlock.go).
func lockPorts() (release func()) { return func() {} }
