// Command agentic-mcp serves the otelcol-agentic MCP tools: over stdio by
// default (Claude Desktop launches it), or over streamable HTTP at /mcp with
// --http.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/loopback"
	"github.com/otelcol-agentic/otelcol-agentic/mcp"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "agentic-mcp:", err)
		os.Exit(1)
	}
}

type options struct {
	httpAddr, token, collectorConfig, logLevel string
	cfg                                        mcp.Config
	// embedderSet: the embedder's provider, model or dims came from flags,
	// so the tables are not asked for them.
	embedderSet bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{cfg: mcp.DefaultConfig()}
	fs := flag.NewFlagSet("agentic-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `agentic-mcp: the otelcol-agentic MCP server.

  agentic-mcp                                stdio (Claude Desktop, MCP Inspector)
  agentic-mcp --http 127.0.0.1:8090          streamable HTTP at http://127.0.0.1:8090/mcp

ClickHouse connection: CLICKHOUSE_HOST, CLICKHOUSE_PORT, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD,
CLICKHOUSE_SECURE, CLICKHOUSE_VERIFY, CLICKHOUSE_DATABASE, CLICKHOUSE_CONNECT_TIMEOUT (as mcp-clickhouse),
overridden by the flags below. Default: the collector's embedded engine on 127.0.0.1:8123, database agentic_otel.

`)
		fs.PrintDefaults()
	}
	d := o.cfg
	fs.StringVar(&o.httpAddr, "http", "", "serve streamable HTTP on this address (path /mcp) instead of stdio, e.g. 127.0.0.1:8090")
	fs.StringVar(&o.token, "token", "", "bearer token clients must send over --http (default $CLICKHOUSE_MCP_AUTH_TOKEN); required beyond loopback")
	fs.StringVar(&o.collectorConfig, "collector-config", "", "deprecated and ignored: the embedder's model and dimension are read from the tables the collector wrote")
	fs.StringVar(&o.logLevel, "log-level", "info", "stderr log level: debug, info, warn, error")
	host := fs.String("clickhouse-host", "", "ClickHouse host (CLICKHOUSE_HOST)")
	port := fs.Int("clickhouse-port", 0, "ClickHouse HTTP port (CLICKHOUSE_PORT; 8123, or 8443 when secure)")
	user := fs.String("clickhouse-user", "", "ClickHouse user (CLICKHOUSE_USER); the password only from CLICKHOUSE_PASSWORD")
	secure := fs.Bool("clickhouse-secure", false, "use https (CLICKHOUSE_SECURE)")
	database := fs.String("clickhouse-database", "", "database the collector writes (CLICKHOUSE_DATABASE, default agentic_otel)")
	provider := fs.String("embedder-provider", "", "embedding provider: hash or openai (as the collector's embedding.embedder.provider)")
	model := fs.String("embedder-model", "", "embedding model (openai provider)")
	dims := fs.Int("embedder-dims", 0, "embedding dimension (default 384)")
	baseURL := fs.String("embedder-base-url", "", "OpenAI-compatible API base URL, e.g. http://localhost:11434/v1")
	keyEnv := fs.String("embedder-api-key-env", "", "environment variable holding the embedding API key (default OPENAI_API_KEY)")
	fs.IntVar(&o.cfg.Limits.MaxRows, "max-rows", d.Limits.MaxRows, "rows run_select_query returns at most (max_result_rows, 'break')")
	fs.Int64Var(&o.cfg.Limits.MaxResultBytes, "max-result-bytes", d.Limits.MaxResultBytes, "max_result_bytes of run_select_query ('break')")
	fs.DurationVar(&o.cfg.Limits.MaxExecutionTime, "max-execution-time", d.Limits.MaxExecutionTime, "max_execution_time of every query")
	fs.IntVar(&o.cfg.Limits.MaxOutputBytes, "max-output-bytes", d.Limits.MaxOutputBytes, "JSON bytes of one tool answer at most")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: every setting is a flag (see --help)", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if err := o.cfg.ApplyEnv(os.LookupEnv); err != nil {
		return o, err
	}
	ch := &o.cfg.ClickHouse
	if set["clickhouse-secure"] {
		ch.Secure = *secure
		if *secure && !set["clickhouse-port"] && os.Getenv("CLICKHOUSE_PORT") == "" {
			ch.Port = 8443
		}
	}
	if set["clickhouse-host"] {
		ch.Host = *host
	}
	if set["clickhouse-port"] {
		ch.Port = *port
	}
	if set["clickhouse-user"] {
		ch.User = *user
	}
	if set["clickhouse-database"] {
		ch.Database = *database
	}
	// What is not set here is read from the tables at start (fromTables).
	o.embedderSet = set["embedder-provider"] || set["embedder-model"] || set["embedder-dims"]
	e := &o.cfg.Embedder
	if set["embedder-provider"] {
		e.Provider = *provider
	}
	if set["embedder-model"] {
		e.Model = *model
	}
	if set["embedder-dims"] {
		e.Dims = *dims
	}
	if set["embedder-base-url"] {
		e.BaseURL = *baseURL
	}
	if set["embedder-api-key-env"] {
		e.APIKeyEnv = *keyEnv
	}
	if o.token == "" {
		o.token = os.Getenv("CLICKHOUSE_MCP_AUTH_TOKEN")
	}
	return o, o.cfg.Validate()
}

func run(args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	// stdout belongs to the protocol in stdio mode: logs go to stderr.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if o.httpAddr != "" && !loopback.Addr(o.httpAddr) && o.token == "" {
		return fmt.Errorf("--http %s accepts clients beyond this machine: set a bearer token with --token or CLICKHOUSE_MCP_AUTH_TOKEN, or bind to 127.0.0.1", o.httpAddr)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.collectorConfig != "" {
		logger.Warn("--collector-config is deprecated and ignored: the embedder's model and dimension are read from the tables the collector wrote; for an OpenAI-compatible model set --embedder-base-url and --embedder-api-key-env")
	}
	if !o.embedderSet {
		readCtx, cancel := context.WithTimeout(ctx, o.cfg.ClickHouse.ConnectTimeout+15*time.Second)
		e, err := mcp.EmbedderFromTables(readCtx, o.cfg)
		cancel()
		if err != nil {
			// The start check below names the fix (start the collector, set
			// the database).
			logger.Debug("could not read the embedder from the tables", "error", err)
		}
		o.cfg.Embedder = e
	}
	srv, err := mcp.New(o.cfg, mcp.WithLogger(logger))
	if err != nil {
		return err
	}
	defer func() { _ = srv.Close() }()
	checkCtx, cancel := context.WithTimeout(ctx, o.cfg.ClickHouse.ConnectTimeout+15*time.Second)
	err = srv.Check(checkCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("start check: %w", err)
	}
	logger.Info("connected", "clickhouse", o.cfg.ClickHouse.Addr(), "database", o.cfg.ClickHouse.Database,
		"embedder", o.cfg.Embedder.Provider, "dims", o.cfg.Embedder.Dims)

	if o.httpAddr == "" {
		err := srv.ServeStdio(ctx)
		if err != nil && (ctx.Err() != nil || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF")) {
			return nil
		}
		return err
	}
	return serveHTTP(ctx, o, srv, logger)
}

func serveHTTP(ctx context.Context, o options, srv *mcp.Server, logger *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/mcp", srv.HTTPHandler(o.token))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	ln, err := net.Listen("tcp", o.httpAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.httpAddr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("serving streamable HTTP", "url", "http://"+ln.Addr().String()+"/mcp", "auth", o.token != "")
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
