// Package loopback says whether a host or listen address only reaches this
// machine: the one check behind every "safe by default" bind and every
// choice made for a local peer.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether a host name or IP (IPv6 with or without brackets) is
// this machine: localhost or a loopback address.
func Host(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr reports whether a host:port listen address only accepts local
// clients; an address without a host (":8090") listens everywhere.
func Addr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && Host(host)
}
