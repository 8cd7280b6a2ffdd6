// Package compat proves that HyperDX (ClickStack) works against the embedded
// engine's ClickHouse HTTP interface, judged by HyperDX's own client
// libraries (@clickhouse/client-web in the browser, @clickhouse/client in its
// API) running HyperDX's own queries. The judging code is the Node test suite
// next to this file (*.test.mjs); this Go test boots the real engine and HTTP
// interface in-process, applies the schema migrations, and runs that suite
// against it, so `go test ./...` covers it.
package compat

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

// database is where the migrations put the tables HyperDX reads.
const database = "agentic_otel"

// nodeTimeout bounds the whole Node suite; it normally takes a few seconds.
const nodeTimeout = 3 * time.Minute

// startServer boots the engine and its HTTP interface and applies the schema.
func startServer(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := schema.Apply(ctx, chdb.Executor{Engine: chdbtest.Engine(t)}, schema.Options{Database: database, Dims: 384}); err != nil {
		t.Fatalf("apply schema migrations: %v", err)
	}
	return chdbtest.HTTP(t).URL
}

// nodeTestFiles lists the Node test files, after checking that Node and the
// pinned client libraries are installed.
func nodeTestFiles(t *testing.T) (node string, files []string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: the HyperDX compatibility tests run HyperDX's ClickHouse client libraries under Node.js (>= 20); install Node.js 20 or newer, then run `make deps` (npm ci --prefix tests/compat)")
	}
	out, err := exec.Command(node, "-p", "process.versions.node").Output()
	if err != nil {
		t.Fatalf("run %s: %v", node, err)
	}
	version := strings.TrimSpace(string(out))
	if major, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0]); err != nil || major < 20 {
		t.Fatalf("node %s is too old: the HyperDX compatibility tests need Node.js 20 or newer (global fetch, node --test)", version)
	}
	for _, pkg := range []string{"@clickhouse/client", "@clickhouse/client-web"} {
		if _, err := os.Stat(filepath.Join("node_modules", filepath.FromSlash(pkg), "package.json")); err != nil {
			t.Fatalf("node modules for the compatibility tests are missing: run `make deps` (npm ci --prefix tests/compat)")
		}
	}
	files, err = filepath.Glob("*.test.mjs")
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.test.mjs files in tests/compat (%v)", err)
	}
	sort.Strings(files)
	return node, files
}

// TestHyperDXCompatibility runs the Node suite against the embedded engine.
func TestHyperDXCompatibility(t *testing.T) {
	node, files := nodeTestFiles(t)
	url := startServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	args := append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1"}, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(os.Environ(),
		"CLICKHOUSE_URL="+url,
		"CLICKHOUSE_DATABASE="+database,
		// HyperDX's UI reads as the viewer, from a page of this origin.
		"CLICKHOUSE_VIEWER="+chdbtest.Viewer.User+":"+chdbtest.Viewer.Password,
		"HYPERDX_ORIGIN="+chdbtest.AllowedOrigin,
		"NO_COLOR=1", "FORCE_COLOR=0",
	)
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()

	start := time.Now()
	err := cmd.Run()
	_ = pw.Close()
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("node --test did not finish within %v", nodeTimeout)
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Fatalf("node --test %s failed (exit %d): see the output above", strings.Join(files, " "), exit.ExitCode())
	case err != nil:
		t.Fatalf("run node: %v", err)
	}
	t.Logf("node suite passed in %v", time.Since(start).Round(time.Millisecond))
}

// TestServe keeps a server up for working on the Node tests by hand:
//
//	COMPAT_SERVE=10m go test -run TestServe -v ./tests/compat
//
// then, in tests/compat, CLICKHOUSE_URL=<printed url> node --test.
func TestServe(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("COMPAT_SERVE"))
	if err != nil || d <= 0 {
		t.Skip("set COMPAT_SERVE to a duration (e.g. 10m) to keep a server running for the Node tests")
	}
	url := startServer(t)
	t.Logf("CLICKHOUSE_URL=%s (database %s) for %v", url, database, d)
	_, _ = os.Stdout.WriteString("CLICKHOUSE_URL=" + url + "\n")
	time.Sleep(d)
}
