//go:build !unix

package clamd

import "net"

// SystemdListeners returns nothing: socket activation is a unix feature.
func SystemdListeners() ([]net.Listener, error) { return nil, nil }
