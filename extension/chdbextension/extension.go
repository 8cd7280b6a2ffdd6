package chdbextension

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
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
	memory := chdb.Memory{
		MaxServerMemoryUsage:           x.cfg.MaxServerMemoryUsage,
		MaxServerMemoryUsageToRAMRatio: x.cfg.MaxServerMemoryUsageToRAMRatio,
		MaxMemoryUsage:                 x.cfg.MaxMemoryUsage,
	}.Resolve()
	eng, err := chdb.Open(chdb.Options{
		LibPath:  x.cfg.LibPath,
		DataPath: x.cfg.DataPath,
		Settings: x.cfg.Settings,
		PoolSize: x.cfg.MaxConcurrentQueries,
		Memory:   memory,
	})
	if err != nil {
		return fmt.Errorf("start embedded ClickHouse: %w", err)
	}
	x.engine = eng
	if x.cfg.Schema.Apply {
		applied, err := schema.Apply(ctx, chdb.Executor{Engine: eng}, schema.Options{
			Database:  x.cfg.Schema.Database,
			Dims:      x.cfg.Schema.Dims,
			TTL:       x.cfg.Schema.TTL,
			Retention: x.cfg.Schema.Retention,
			// The extension owns the embedded store: a retention taken out
			// of its config is removed from the tables.
			OwnsRetention: true,
		})
		if err != nil {
			return fmt.Errorf("apply schema migrations: %w", err)
		}
		if len(applied) > 0 {
			x.logger.Info("Applied schema migrations", zap.Ints("versions", applied), zap.String("database", x.cfg.Schema.Database))
		}
		dims, err := schema.VectorDims(ctx, chdb.Executor{Engine: eng}, x.cfg.Schema.Database, "log_templates")
		if err == nil && dims != x.cfg.Schema.Dims {
			return fmt.Errorf("table %s.log_templates holds %d-dim vectors but schema.dims is %d: set schema.dims: %d (and the embedder's dims), or drop the vector tables to recreate them",
				x.cfg.Schema.Database, dims, x.cfg.Schema.Dims, dims)
		}
	}
	x.http, err = chhttp.New(eng, chhttp.Config{
		Users:          x.users(memory.MaxMemoryUsage),
		AllowedOrigins: x.cfg.CORS.AllowedOrigins,
		MaxBodyBytes:   x.cfg.MaxBodySize,
		MaxConns:       x.cfg.MaxConcurrentQueries,
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
	var users []string
	for _, name := range sortedKeys(x.cfg.Users) {
		users = append(users, name+" ("+x.cfg.Users[name].Role+")")
	}
	serverCap := "unknown"
	if r, err := eng.Query(ctx, "SELECT formatReadableSize(getServerSetting('max_server_memory_usage'))", "TabSeparatedRaw"); err == nil {
		serverCap = strings.TrimSpace(string(r.Data))
	}
	x.logger.Info("Embedded ClickHouse started",
		zap.String("version", eng.Version()),
		zap.String("data_path", x.cfg.DataPath),
		zap.String("http", "http://"+x.addr),
		zap.Strings("users", users),
		zap.Strings("cors_allowed_origins", x.cfg.CORS.AllowedOrigins),
		zap.String("max_server_memory_usage", serverCap),
		zap.Uint64("max_memory_usage", memory.MaxMemoryUsage),
		zap.Duration("took", time.Since(start)))
	return nil
}

// users turns the configured users into the HTTP interface's; an agent
// without limits gets the agent role's defaults. No user's memory limit may
// exceed the engine's per-query cap (the engine would refuse the setting).
func (x *chdbExtension) users(queryCap uint64) map[string]chhttp.User {
	users := make(map[string]chhttp.User, len(x.cfg.Users))
	for name, u := range x.cfg.Users {
		role := chhttp.Role(u.Role)
		limits := maps.Clone(u.Limits)
		if role == chhttp.RoleAgent {
			limits = maps.Clone(chhttp.DefaultAgentLimits)
			maps.Copy(limits, u.Limits)
		}
		if m, ok := limits["max_memory_usage"]; ok && m > float64(queryCap) {
			limits["max_memory_usage"] = float64(queryCap)
		}
		users[name] = chhttp.User{Password: string(u.Password), Role: role, Limits: limits}
	}
	return users
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
