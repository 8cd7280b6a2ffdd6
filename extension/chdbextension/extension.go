package chdbextension

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chhttp"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// Engine is what other components use to reach the embedded engine, found
// through the component.ID named in their config.
type Engine interface {
	// Engine returns the open engine.
	Engine() *chdb.Engine
	// Endpoint returns the address the HTTP interface listens on.
	Endpoint() string
	// Database returns the database holding the tables.
	Database() string
}

type chdbExtension struct {
	cfg    *Config
	logger *zap.Logger

	engine *chdb.Engine
	http   *chhttp.Server
	server *http.Server
	addr   string
	wg     sync.WaitGroup
}

var _ Engine = (*chdbExtension)(nil)

func newExtension(cfg *Config, logger *zap.Logger) *chdbExtension {
	return &chdbExtension{cfg: cfg, logger: logger}
}

func (x *chdbExtension) Engine() *chdb.Engine { return x.engine }
func (x *chdbExtension) Endpoint() string     { return x.addr }
func (x *chdbExtension) Database() string     { return x.cfg.Schema.Database }

func (x *chdbExtension) Start(ctx context.Context, _ component.Host) error {
	start := time.Now()
	// After a crash, before the engine reads its tables: tokens of inserts
	// that were never committed must not drop those inserts sent again.
	if n, err := chdb.RepairDeduplicationLogs(x.cfg.DataPath); err != nil {
		x.logger.Warn("Could not check the tables' deduplication logs; an insert a crash interrupted may be dropped when sent again", zap.Error(err))
	} else if n > 0 {
		x.logger.Info("Forgot the deduplication tokens of inserts a crash left uncommitted, so that they are stored when sent again", zap.Int("tokens", n))
	}
	eng, err := chdb.Open(chdb.Options{
		LibPath:  x.cfg.LibPath,
		DataPath: x.cfg.DataPath,
		Settings: x.cfg.Settings,
		PoolSize: x.cfg.MaxConcurrentQueries,
	})
	if err != nil {
		return fmt.Errorf("start embedded ClickHouse: %w", err)
	}
	x.engine = eng
	if x.cfg.Schema.Apply {
		applied, err := schema.Apply(ctx, schema.EngineExecutor{Engine: eng}, schema.Options{
			Database: x.cfg.Schema.Database,
			Dims:     x.cfg.Schema.Dims,
			TTL:      x.cfg.Schema.TTL,
		})
		if err != nil {
			return fmt.Errorf("apply schema migrations: %w", err)
		}
		if len(applied) > 0 {
			x.logger.Info("Applied schema migrations", zap.Ints("versions", applied), zap.String("database", x.cfg.Schema.Database))
		}
		dims, err := schema.VectorDims(ctx, schema.EngineExecutor{Engine: eng}, x.cfg.Schema.Database, "log_templates")
		if err == nil && dims != x.cfg.Schema.Dims {
			return fmt.Errorf("table %s.log_templates holds %d-dim vectors but schema.dims is %d: set schema.dims: %d (and the embedder's dims), or drop the vector tables to recreate them",
				x.cfg.Schema.Database, dims, x.cfg.Schema.Dims, dims)
		}
	}
	users := make(map[string]string, len(x.cfg.Users))
	for u, p := range x.cfg.Users {
		users[u] = string(p)
	}
	x.http, err = chhttp.New(eng, chhttp.Config{
		Users:        users,
		MaxBodyBytes: x.cfg.MaxBodySize,
		MaxConns:     x.cfg.MaxConcurrentQueries,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", x.cfg.Endpoint)
	if err != nil {
		return fmt.Errorf("listen for ClickHouse HTTP on %s: %w (is another ClickHouse or collector running?)", x.cfg.Endpoint, err)
	}
	x.addr = ln.Addr().String()
	x.server = &http.Server{Handler: x.http, ReadHeaderTimeout: 30 * time.Second}
	x.wg.Go(func() {
		if err := x.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			x.logger.Error("ClickHouse HTTP interface stopped", zap.Error(err))
		}
	})
	x.logger.Info("Embedded ClickHouse started",
		zap.String("version", eng.Version()),
		zap.String("data_path", x.cfg.DataPath),
		zap.String("http", "http://"+x.addr),
		zap.Duration("took", time.Since(start)))
	return nil
}

func (x *chdbExtension) Shutdown(ctx context.Context) error {
	var errs []error
	if x.server != nil {
		if err := x.server.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			_ = x.server.Close()
		}
		x.wg.Wait()
	}
	if x.http != nil {
		x.http.Close()
	}
	if x.engine != nil {
		errs = append(errs, x.engine.Close())
		x.engine = nil
	}
	return errors.Join(errs...)
}
