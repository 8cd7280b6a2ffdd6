package searcheval

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chhttp"
)

// RunStandalone runs the evaluation on an embedded engine of its own, in a
// temporary directory removed afterwards: for programs that host no engine
// (make eval's driver). o.Endpoint and o.Database are set here. One engine
// per process: do not call it in a process that hosts another.
func RunStandalone(ctx context.Context, o Options) (*Report, error) {
	dir, err := os.MkdirTemp("", "searcheval-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	e, err := chdb.Open(chdb.Options{DataPath: dir, PoolSize: 4})
	if err != nil {
		return nil, fmt.Errorf("embedded ClickHouse for the search evaluation: %w", err)
	}
	defer e.Close()
	srv, err := chhttp.New(e, chhttp.Config{MaxBodyBytes: 64 << 20}) // one admin, "default", as a fresh server
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Go(func() { _ = hs.Serve(l) })
	defer func() {
		_ = hs.Close()
		wg.Wait()
	}()
	o.Endpoint, o.Database = "http://"+l.Addr().String(), "search_eval"
	return Run(ctx, o)
}
