// Package chdbtest boots one embedded ClickHouse engine per test process, in
// a temporary directory, shared by every test of the package. Tests run
// against the real engine; there is no stand-in for it.
package chdbtest

import (
	"fmt"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chhttp"
)

var (
	once    sync.Once
	engine  *chdb.Engine
	openErr error
	dataDir string

	httpOnce sync.Once
	httpSrv  *httptest.Server
	httpErr  error
)

// Engine returns the process's shared engine, booting it on first use.
func Engine(tb testing.TB) *chdb.Engine {
	tb.Helper()
	once.Do(func() {
		dataDir, openErr = os.MkdirTemp("", "chdbtest-")
		if openErr != nil {
			return
		}
		engine, openErr = chdb.Open(chdb.Options{DataPath: dataDir, PoolSize: 4})
	})
	if openErr != nil {
		tb.Fatalf("embedded ClickHouse: %v", openErr)
	}
	return engine
}

// HTTP returns a ClickHouse HTTP interface over the shared engine, served
// on a loopback port, with user "default" (no password) and user "alice"
// (password "secret").
func HTTP(tb testing.TB) *httptest.Server {
	tb.Helper()
	e := Engine(tb)
	httpOnce.Do(func() {
		var srv *chhttp.Server
		srv, httpErr = chhttp.New(e, chhttp.Config{
			Users:        map[string]string{"default": "", "alice": "secret"},
			MaxBodyBytes: 64 << 20,
		})
		if httpErr == nil {
			httpSrv = httptest.NewServer(srv)
		}
	})
	if httpErr != nil {
		tb.Fatalf("ClickHouse HTTP interface: %v", httpErr)
	}
	return httpSrv
}

// Main runs the tests and removes the engine's data directory afterwards.
// Call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if httpSrv != nil {
		httpSrv.Close()
	}
	if engine != nil {
		if err := engine.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close engine:", err)
		}
	}
	if dataDir != "" {
		_ = os.RemoveAll(dataDir)
	}
	return code
}
