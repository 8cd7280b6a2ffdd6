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

// Memory bounds the test engine: small caps, so that tests of the limits
// stop a query early on a machine other tests share.
var Memory = chdb.Memory{MaxServerMemoryUsage: 3 << 30, MaxMemoryUsage: 1 << 30}

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
		engine, openErr = chdb.Open(chdb.Options{DataPath: dataDir, PoolSize: 4, Memory: Memory})
	})
	if openErr != nil {
		tb.Fatalf("embedded ClickHouse: %v", openErr)
	}
	return engine
}

// The users of the test interface. "default" is an admin without a
// password, as on a fresh ClickHouse server, so that tests of the protocol
// need no credentials; the other three have a role each.
var (
	Admin  = Credentials{User: "admin", Password: "admin-secret"}
	Viewer = Credentials{User: "viewer", Password: "viewer-secret"}
	Agent  = Credentials{User: "agent", Password: "agent-secret"}
	Alice  = Credentials{User: "alice", Password: "secret"}
)

// Credentials are a user and password of the test interface.
type Credentials struct{ User, Password string }

// AgentLimits are the agent's limits in the test interface: the defaults,
// with a memory budget small enough to be reached quickly.
var AgentLimits = map[string]float64{
	"max_memory_usage":   256 << 20,
	"max_execution_time": 60,
	"max_result_rows":    1_000_000,
	"max_result_bytes":   256 << 20,
	"max_rows_to_read":   10_000_000_000,
	"max_bytes_to_read":  1 << 40,
}

// ViewerLimits bound the viewer of the test interface.
var ViewerLimits = map[string]float64{"max_memory_usage": 512 << 20}

// HTTP returns a ClickHouse HTTP interface over the shared engine, served
// on a loopback port, with the users above. Pages from
// http://localhost:8080 may call it (CORS).
func HTTP(tb testing.TB) *httptest.Server {
	tb.Helper()
	e := Engine(tb)
	httpOnce.Do(func() {
		var srv *chhttp.Server
		srv, httpErr = chhttp.New(e, chhttp.Config{
			Users: map[string]chhttp.User{
				"default":   {Role: chhttp.RoleAdmin},
				Admin.User:  {Password: Admin.Password, Role: chhttp.RoleAdmin},
				Viewer.User: {Password: Viewer.Password, Role: chhttp.RoleViewer, Limits: ViewerLimits},
				Agent.User:  {Password: Agent.Password, Role: chhttp.RoleAgent, Limits: AgentLimits},
				Alice.User:  {Password: Alice.Password, Role: chhttp.RoleAdmin},
			},
			AllowedOrigins: []string{AllowedOrigin},
			MaxBodyBytes:   64 << 20,
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

// AllowedOrigin is the web origin the test interface accepts requests from.
const AllowedOrigin = "http://localhost:8080"

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
