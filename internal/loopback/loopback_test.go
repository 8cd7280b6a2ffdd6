package loopback

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAddr(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:8090": true, "localhost:8090": true, "[::1]:8090": true, "127.3.4.5:1": true,
		"0.0.0.0:8090": false, ":8090": false, "10.0.0.5:8090": false, "example.com:8090": false, "garbage": false, "[::]:8090": false} {
		assert.Equal(t, want, Addr(addr), addr)
	}
}

func TestHost(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "localhost": true, "::1": true, "[::1]": true,
		"0.0.0.0": false, "": false, "10.0.0.5": false, "example.com": false, "localhost.example.com": false} {
		assert.Equal(t, want, Host(host), host)
	}
}
