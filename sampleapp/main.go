// Command sampleapp runs the sample shop: frontend, cart, checkout, payment
// and inventory, each with its own port and OpenTelemetry resource, plus the
// fault admin API. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/faults"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sampleapp:", err)
		os.Exit(1)
	}
}

func run() error {
	def := app.DefaultConfig()
	var (
		servicesFlag = flag.String("services", "", "comma-separated services to run in this process (default all: "+strings.Join(app.Services, ",")+")")
		endpoint     = flag.String("otlp-endpoint", def.OTLPEndpoint, `OTLP/HTTP base URL for traces, logs and metrics; "none" disables export`)
		rrwebURL     = flag.String("rrweb-endpoint", def.RRWebEndpoint, `the collector's rrweb receiver as browsers reach it: the shop page sends session recordings and browser spans there; "none" disables both`)
		webDir       = flag.String("web-dir", "", `directory of the web front end's npm packages (sampleapp/web, where "npm ci --prefix sampleapp/web" installs rrweb); default: found above the working directory or the executable`)
		env          = flag.String("env", def.Environment, "deployment.environment.name of every service")
		admin        = flag.String("admin", app.DefaultAdminListen, `listen address of the fault admin API (/admin/faults), loopback by default; "none" with --admin-on-service-ports`)
		adminOnPorts = flag.Bool("admin-on-service-ports", false, "also serve the admin API under /admin/ on every service port, for processes that forward faults to each other by service URL (--isolate does this for its children)")
		dataDir      = flag.String("data-dir", "", "directory for the SQLite files (default: a temporary directory removed on exit)")
		products     = flag.Int("products", def.Products, "catalog size seeded into a new inventory database")
		maxConns     = flag.Int("max-open-conns", def.MaxOpenConns, "connection pool size of each database")
		heapLimits   = flag.String("heap-limit", "inventory=256MiB", "service=size pairs: heap size above which the service sheds requests with 503")
		gatewayURL   = flag.String("gateway-url", "", "external payment gateway base URL (default: built-in simulation)")
		recsURL      = flag.String("recommendations-url", "", "recommendations service base URL (default: not deployed, connections refused)")
		logLevel     = flag.String("log-level", "info", "level of the process's own stderr logs: debug, info, warn, error")
		isolate      = flag.Bool("isolate", false, "run each service in its own child process, so runtime metrics (heap, GC) are per service")
	)
	listen := map[string]*string{}
	urls := map[string]*string{}
	for _, s := range app.Services {
		name, help := s+"-listen", fmt.Sprintf("listen address of %s", s)
		if s == app.Frontend {
			name = "listen"
		}
		listen[s] = flag.String(name, fmt.Sprintf("127.0.0.1:%d", app.DefaultPorts[s]), help+` (":port" for every interface)`)
		if s != app.Frontend {
			urls[s] = flag.String(s+"-url", "", fmt.Sprintf("base URL of %s when another process runs it (default http://127.0.0.1:%d)", s, app.DefaultPorts[s]))
		}
	}
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	otel.SetErrorHandler(exportErrors(log))

	cfg := def
	cfg.Logger = log
	cfg.OTLPEndpoint = *endpoint
	if strings.EqualFold(cfg.OTLPEndpoint, "none") {
		cfg.OTLPEndpoint = ""
	}
	cfg.RRWebEndpoint = *rrwebURL
	if strings.EqualFold(cfg.RRWebEndpoint, "none") {
		cfg.RRWebEndpoint = ""
	}
	cfg.WebDir = *webDir
	cfg.Environment = *env
	cfg.AdminListen = *admin
	cfg.AdminOnServicePorts = *adminOnPorts
	cfg.DataDir = *dataDir
	cfg.Products = *products
	cfg.MaxOpenConns = *maxConns
	cfg.GatewayURL = *gatewayURL
	cfg.RecommendationsURL = *recsURL
	if *servicesFlag != "" && *servicesFlag != "all" {
		for _, s := range strings.Split(*servicesFlag, ",") {
			if s = strings.TrimSpace(s); s != "" {
				cfg.Services = append(cfg.Services, s)
			}
		}
	}
	for s, p := range listen {
		cfg.Listen[s] = *p
	}
	for s, p := range urls {
		if *p != "" {
			cfg.URLs[s] = *p
		}
	}
	limits, err := parseHeapLimits(*heapLimits)
	if err != nil {
		return err
	}
	cfg.HeapLimits = limits

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *isolate {
		return runIsolated(ctx, log, cfg)
	}
	a, err := app.Start(ctx, cfg)
	if err != nil {
		return err
	}
	log.Info("sampleapp running", "services", strings.Join(a.Hosted(), ","), "url", a.URL(a.Hosted()[0]),
		"admin", a.AdminURL()+"/admin/faults", "otlp", cfg.OTLPEndpoint)
	<-ctx.Done()
	log.Info("shutting down")
	return a.Close()
}

func parseHeapLimits(s string) (map[string]uint64, error) {
	out := map[string]uint64{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, size, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("--heap-limit: %q is not service=size", part)
		}
		n, err := faults.ParseBytes(size)
		if err != nil {
			return nil, fmt.Errorf("--heap-limit %s: %w", name, err)
		}
		if n > 0 {
			out[strings.TrimSpace(name)] = uint64(n)
		}
	}
	return out, nil
}

// exportErrors logs OpenTelemetry export failures (collector down, etc.) at
// most once per 30 seconds.
func exportErrors(log *slog.Logger) otel.ErrorHandlerFunc {
	var last atomic.Int64
	var dropped atomic.Int64
	return func(err error) {
		now := time.Now().UnixNano()
		prev := last.Load()
		if now-prev < int64(30*time.Second) || !last.CompareAndSwap(prev, now) {
			dropped.Add(1)
			return
		}
		log.Warn("telemetry export failed", "err", err, "suppressed", dropped.Swap(0))
	}
}
