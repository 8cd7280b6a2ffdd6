// Package mcp is the otelcol-agentic MCP server: tools with which an agent
// queries the ClickHouse store of the collector read-only, searches past
// errors by similarity, finds anomalous traces and known error patterns,
// reads traces and sessions, and gets ranked root-cause candidates with
// their evidence. Transports: stdio (Claude Desktop) and streamable HTTP.
package mcp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// Version is reported to clients in the initialize answer.
const Version = "0.1.0"

// Server holds the MCP server and what its tools use.
type Server struct {
	cfg    Config
	db     *store
	embed  *embed.Cached
	vocab  *vocabularies
	mcp    *sdk.Server
	logger *slog.Logger
	now    func() time.Time
}

// Option tunes a Server.
type Option func(*Server)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithClock replaces time.Now, for tests that replay a fixed incident.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New builds the server. It does not contact ClickHouse; call Check.
func New(cfg Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e, err := embed.New(cfg.Embedder)
	if err != nil {
		return nil, fmt.Errorf("build the embedder: %w", err)
	}
	db, err := openStore(cfg.ClickHouse, cfg.Limits)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		db:     db,
		embed:  embed.NewCached(e, max(cfg.Embedder.CacheSize, 1000)),
		vocab:  newVocabularies(db),
		logger: slog.New(slog.DiscardHandler),
		now:    time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	s.mcp = sdk.NewServer(&sdk.Implementation{Name: "otelcol-agentic", Title: "otelcol-agentic observability (ClickHouse)", Version: Version},
		&sdk.ServerOptions{
			Instructions: instructions,
			// The SDK reports every session at Info; only its problems
			// belong in the operator's log.
			Logger: slog.New(minLevel{s.logger.Handler(), slog.LevelWarn}),
		})
	s.mcp.AddReceivingMiddleware(s.guard)
	s.addTools()
	s.addPrompts()
	return s, nil
}

// guard makes every request safe to handle: "arguments": null is read as
// no arguments (the SDK would panic applying defaults to it), and a panic
// in a handler becomes an error instead of ending the process.
func (s *Server) guard(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (res sdk.Result, err error) {
		defer func() {
			if v := recover(); v != nil {
				s.logger.Error("handler panic", "method", method, "panic", v)
				res, err = nil, fmt.Errorf("internal error handling %s; the server keeps running, retry with other arguments", method)
			}
		}()
		if ct, ok := req.(*sdk.CallToolRequest); ok && ct.Params != nil {
			if a := strings.TrimSpace(string(ct.Params.Arguments)); a == "" || a == "null" {
				ct.Params.Arguments = []byte("{}")
			}
		}
		return next(ctx, method, req)
	}
}

const instructions = `Observability data of the otelcol-agentic collector in ClickHouse (database agentic_otel): logs (otel_logs), traces (otel_traces), metrics (otel_metrics_*), browser sessions, and vector tables of embedded error templates and trace span sequences.
To explain an incident, call analyze_root_cause first, then error_summary, find_similar_errors, match_error_patterns and get_trace to check its evidence. Use run_select_query (read-only, row and time limits) only for what the other tools do not answer; call list_tables or describe_table before writing SQL.`

// MCP is the underlying SDK server, for transports.
func (s *Server) MCP() *sdk.Server { return s.mcp }

// Close releases the ClickHouse connections.
func (s *Server) Close() error {
	s.vocab.close()
	return s.db.close()
}

// Check verifies at start what every tool relies on: ClickHouse answers,
// the collector's tables exist, and the configured embedder is the one
// that embedded the stored vectors. Its errors say how to fix the setup.
func (s *Server) Check(ctx context.Context) error {
	db := s.cfg.ClickHouse.Database
	var one []struct {
		V uint8 `ch:"v"`
	}
	if err := s.db.selectInto(ctx, &one, "SELECT 1 AS v", nil); err != nil {
		var te *toolError
		if errors.As(err, &te) && te.code == codeUnknownDatabase {
			return fmt.Errorf("database %s does not exist: start the collector (make run) so that it creates the schema, or set CLICKHOUSE_DATABASE to the database the collector writes", db)
		}
		return err
	}
	ok, err := s.db.tableExists(ctx, "log_templates")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("database %s has no log_templates table: start the collector (make run) so that it creates the schema, or set CLICKHOUSE_DATABASE to the database the collector writes", db)
	}
	if err := s.checkSearchColumns(ctx); err != nil {
		return err
	}
	dims, err := schema.VectorDims(ctx, executor(s.db), db, "log_templates")
	if err != nil {
		return fmt.Errorf("read the vector dimension of %s.log_templates: %w", db, err)
	}
	if dims != s.embed.Dims() {
		return fmt.Errorf("%s.log_templates holds %d-dim vectors but this server's embedder makes %d-dim ones: leave --embedder-dims unset (the server then takes the dimension from the table), or set --embedder-dims %d with the collector's provider and model",
			db, dims, s.embed.Dims(), dims)
	}
	models, err := s.db.recordedModels(ctx)
	if err != nil {
		return err
	}
	want := s.embed.Model()
	var found []string
	for _, m := range models {
		if m.Model == want {
			return nil
		}
		found = append(found, fmt.Sprintf("%q (%d templates)", m.Model, m.N))
	}
	if len(found) > 0 {
		return fmt.Errorf("%s.log_templates holds vectors of embedding model %s, but this server embeds queries with %q, so similarity search would compare unrelated vectors: leave --embedder-provider/--embedder-model/--embedder-dims unset (the server then takes the model from the table), or set them to the collector's embedding.embedder",
			db, strings.Join(found, ", "), want)
	}
	s.logger.Info("log_templates is empty; the model check runs again at the next start", "model", want)
	return nil
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}

// recordedModel is an embedding model named in log_templates and how many
// templates it embedded.
type recordedModel struct {
	Model string `ch:"embedding_model"`
	N     uint64 `ch:"n"`
}

// recordedModels lists the models log_templates' vectors were made with,
// most templates first.
func (s *store) recordedModels(ctx context.Context) ([]recordedModel, error) {
	var models []recordedModel
	err := s.selectInto(ctx, &models, "SELECT embedding_model, count() AS n FROM log_templates WHERE embedding_model != '' GROUP BY embedding_model ORDER BY n DESC LIMIT 10", nil)
	return models, err
}

// executor lets schema.VectorDims read through the store's connection,
// which carries readonly=1: ClickHouse refuses any statement that writes.
func executor(db *store) schema.Executor { return schema.ClientExecutor[driver.Rows](db.conn) }

// embedText embeds free text exactly as the pipeline embeds error logs:
// normalised to its template first.
func (s *Server) embedText(ctx context.Context, text string) (logtemplate.Result, []float32, error) {
	tpl := logtemplate.Normalize(text)
	vecs, err := s.embed.EmbedKeyed(ctx, []uint64{tpl.Hash}, []string{tpl.Template})
	if err != nil {
		return tpl, nil, userErrorf("the embedder (%s) failed: %s. Check the embedding service; the SQL tools still work", s.embed.Model(), scrubEmbedErr(err))
	}
	return tpl, vecs[0], nil
}

func scrubEmbedErr(err error) string {
	msg := err.Error()
	return userinfoRe.ReplaceAllString(msg, "$1")
}

// ServeStdio serves one client over stdin/stdout until it disconnects.
func (s *Server) ServeStdio(ctx context.Context) error {
	return s.mcp.Run(ctx, &sdk.StdioTransport{})
}

// HTTPHandler serves streamable HTTP. A non-empty token is required as
// "Authorization: Bearer <token>" on every request.
func (s *Server) HTTPHandler(token string) http.Handler {
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s.mcp }, &sdk.StreamableHTTPOptions{
		SessionTimeout: 30 * time.Minute,
		Logger:         slog.New(minLevel{s.logger.Handler(), slog.LevelWarn}),
	})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="agentic-mcp"`)
			http.Error(w, "missing or wrong bearer token: send Authorization: Bearer <token> (the server's --token / CLICKHOUSE_MCP_AUTH_TOKEN)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
