// Package app starts the sample shop in-process: any subset of its five
// services, each on its own listener with its own telemetry, plus the fault
// admin API and the simulated payment gateway.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/faults"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/internal/services"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/internal/telemetry"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/web"
)

// Service names.
const (
	Frontend  = services.Frontend
	Cart      = services.Cart
	Checkout  = services.Checkout
	Payment   = services.Payment
	Inventory = services.Inventory
)

// Services lists every service of the shop.
var Services = slices.Clone(services.All)

// DefaultPorts are the listen ports used when Config.Listen leaves one out
// (on loopback).
var DefaultPorts = map[string]int{Frontend: 8080, Cart: 8081, Checkout: 8082, Payment: 8083, Inventory: 8084}

// DefaultAdminListen is where the fault admin API listens by default: its
// own port, on loopback only, since it breaks the shop on request.
const DefaultAdminListen = "127.0.0.1:8085"

var versions = map[string]string{Frontend: "2.3.1", Cart: "1.8.0", Checkout: "3.1.4", Payment: "2.0.7", Inventory: "1.12.2"}

// Timeouts bound every wait in the shop.
type Timeouts = services.Timeouts

// Config configures Start. The zero value of a field means its default
// (see DefaultConfig).
type Config struct {
	// Services to host in this process; empty means all.
	Services []string
	// OTLPEndpoint is the OTLP/HTTP base URL; "" disables export.
	OTLPEndpoint string
	// RRWebEndpoint is the collector's rrweb receiver as the shop's web
	// page reaches it: the page sends its session recording and browser
	// spans there. "" disables both.
	RRWebEndpoint string
	// WebDir is sampleapp/web, whose node_modules holds rrweb (installed by
	// `npm ci --prefix sampleapp/web`); empty looks for it above the
	// working directory and the executable. Without rrweb the page works
	// but does not record.
	WebDir      string
	Environment string
	// Listen maps a service to its listen address ("127.0.0.1:8080",
	// ":8080" for every interface); default 127.0.0.1:<DefaultPorts>.
	Listen map[string]string
	// URLs maps a service hosted by another process to its base URL.
	URLs map[string]string
	// AdminListen is the one address the fault admin API is served on;
	// default 127.0.0.1:0 (an unused loopback port: AdminURL says which).
	AdminListen string
	// AdminOnServicePorts serves the admin API under /admin/ on every
	// service's port too, for setups whose processes forward faults to each
	// other by service URL (--isolate, several hosts).
	AdminOnServicePorts bool
	// GatewayURL points payment at an external gateway; empty runs the
	// built-in simulation on GatewayListen.
	GatewayURL    string
	GatewayListen string
	// RecommendationsURL is where the frontend asks for recommendations;
	// empty means the service is not deployed (connections are refused).
	RecommendationsURL string
	// DataDir holds the SQLite files; empty means a temporary directory
	// removed by Close.
	DataDir      string
	Products     int
	MaxOpenConns int
	// HeapLimits maps a service to the heap size above which it sheds
	// requests with 503; a service not listed never sheds.
	HeapLimits     map[string]uint64
	Timeouts       Timeouts
	BatchTimeout   time.Duration
	MetricInterval time.Duration
	// Logger receives the process's own logs (never exported over OTLP).
	Logger *slog.Logger
}

// DefaultConfig returns the defaults Start applies.
func DefaultConfig() Config {
	return Config{
		OTLPEndpoint:  "http://127.0.0.1:4318",
		RRWebEndpoint: web.DefaultRRWebEndpoint,
		Environment:   "demo",
		Listen:        map[string]string{},
		URLs:          map[string]string{},
		GatewayListen: "127.0.0.1:0",
		Products:      1000,
		MaxOpenConns:  10,
		HeapLimits:    map[string]uint64{Inventory: 256 << 20},
		Timeouts: Timeouts{
			Upstream:          10 * time.Second,
			CartInventory:     3 * time.Second,
			Payment:           4 * time.Second,
			InventoryAttempt:  2500 * time.Millisecond,
			InventoryAttempts: 3,
			Gateway:           2 * time.Second,
			PoolAcquire:       2 * time.Second,
			Query:             time.Second,
			ReservationTTL:    2 * time.Minute,
			Maintenance:       10 * time.Second,
		},
		BatchTimeout:   2 * time.Second,
		MetricInterval: 10 * time.Second,
	}
}

func withDefaults(c Config) Config {
	d := DefaultConfig()
	if c.Environment == "" {
		c.Environment = d.Environment
	}
	if c.Listen == nil {
		c.Listen = map[string]string{}
	}
	if c.URLs == nil {
		c.URLs = map[string]string{}
	}
	if c.GatewayListen == "" {
		c.GatewayListen = d.GatewayListen
	}
	if c.AdminListen == "" {
		c.AdminListen = "127.0.0.1:0"
	}
	if c.Products <= 0 {
		c.Products = d.Products
	}
	if c.MaxOpenConns <= 0 {
		c.MaxOpenConns = d.MaxOpenConns
	}
	if c.HeapLimits == nil {
		c.HeapLimits = d.HeapLimits
	}
	t, dt := &c.Timeouts, d.Timeouts
	for _, p := range []struct{ v, def *time.Duration }{
		{&t.Upstream, &dt.Upstream}, {&t.CartInventory, &dt.CartInventory}, {&t.Payment, &dt.Payment},
		{&t.InventoryAttempt, &dt.InventoryAttempt}, {&t.Gateway, &dt.Gateway}, {&t.PoolAcquire, &dt.PoolAcquire},
		{&t.Query, &dt.Query}, {&t.ReservationTTL, &dt.ReservationTTL}, {&t.Maintenance, &dt.Maintenance},
	} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	if t.InventoryAttempts <= 0 {
		t.InventoryAttempts = dt.InventoryAttempts
	}
	if c.BatchTimeout <= 0 {
		c.BatchTimeout = d.BatchTimeout
	}
	if c.MetricInterval <= 0 {
		c.MetricInterval = d.MetricInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

type closer interface{ Close() error }

// App is a running shop (or part of one).
type App struct {
	cfg      Config
	log      *slog.Logger
	hosted   []string
	urls     map[string]string
	reg      *faults.Registry
	admin    *faults.Admin
	tel      map[string]*telemetry.Service
	svcs     map[string]closer
	servers  map[string]*serving
	extra    []*http.Server // gateway, separate admin
	adminURL string
	dataDir  string
	tempDir  bool
	wg       sync.WaitGroup
	closing  sync.Once
	closeErr error
}

// Start starts the configured services and returns once they accept
// connections. Close stops them.
func Start(ctx context.Context, cfg Config) (_ *App, err error) {
	cfg = withDefaults(cfg)
	a := &App{cfg: cfg, log: cfg.Logger, urls: map[string]string{}, tel: map[string]*telemetry.Service{},
		svcs: map[string]closer{}, servers: map[string]*serving{}}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()

	a.hosted = cfg.Services
	if len(a.hosted) == 0 {
		a.hosted = slices.Clone(Services)
	}
	for _, s := range a.hosted {
		if !slices.Contains(Services, s) {
			return nil, fmt.Errorf("unknown service %q (want some of %s)", s, strings.Join(Services, ","))
		}
	}

	a.dataDir = cfg.DataDir
	if a.dataDir == "" {
		if a.dataDir, err = os.MkdirTemp("", "sampleapp-"); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		a.tempDir = true
	} else if err := os.MkdirAll(a.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}

	dead, err := deadAddress()
	if err != nil {
		return nil, err
	}

	listeners := map[string]net.Listener{}
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for _, s := range a.hosted {
		addr := cfg.Listen[s]
		if addr == "" {
			addr = "127.0.0.1:" + strconv.Itoa(DefaultPorts[s])
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen for %s on %s: %w", s, addr, err)
		}
		listeners[s] = l
		a.urls[s] = baseURL(l.Addr())
	}
	for _, s := range Services {
		if _, ok := a.urls[s]; ok {
			continue
		}
		if u := cfg.URLs[s]; u != "" {
			a.urls[s] = strings.TrimRight(u, "/")
		} else {
			a.urls[s] = "http://127.0.0.1:" + strconv.Itoa(DefaultPorts[s])
		}
	}
	if cfg.RecommendationsURL != "" {
		a.urls[services.Recommendations] = strings.TrimRight(cfg.RecommendationsURL, "/")
	}
	if slices.Contains(a.hosted, Payment) {
		if cfg.GatewayURL != "" {
			a.urls[services.Gateway] = strings.TrimRight(cfg.GatewayURL, "/")
		} else {
			l, err := net.Listen("tcp", cfg.GatewayListen)
			if err != nil {
				return nil, fmt.Errorf("listen for payment gateway on %s: %w", cfg.GatewayListen, err)
			}
			a.urls[services.Gateway] = baseURL(l.Addr())
			a.serveExtra(l, services.NewGatewaySim().Handler())
		}
	}

	a.reg = faults.NewRegistry(a.hosted)
	settings := telemetry.Settings{Endpoint: cfg.OTLPEndpoint, Environment: cfg.Environment, Namespace: "shop",
		BatchTimeout: cfg.BatchTimeout, MetricInterval: cfg.MetricInterval}
	handlers := map[string]http.Handler{}
	for _, s := range a.hosted {
		tel, err := telemetry.New(ctx, s, versions[s], settings)
		if err != nil {
			return nil, err
		}
		a.tel[s] = tel
		env := services.Env{Tel: tel, Faults: a.reg, Timeouts: cfg.Timeouts, HeapLimit: cfg.HeapLimits[s],
			URLs: a.urls, DeadAddr: dead, DataDir: a.dataDir, MaxOpenConns: cfg.MaxOpenConns}
		h, c, err := newService(ctx, s, env, cfg)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", s, err)
		}
		handlers[s], a.svcs[s] = h, c
	}

	a.admin = faults.NewAdmin(a.reg, func(s string) (string, bool) {
		if slices.Contains(a.hosted, s) || !slices.Contains(Services, s) {
			return "", false
		}
		return a.urls[s], true
	}, a.log)
	adminHandler := a.admin.Handler()
	for _, s := range a.hosted {
		mux := http.NewServeMux()
		if cfg.AdminOnServicePorts {
			mux.Handle("/admin/", adminHandler)
		}
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		mux.Handle("/", handlers[s])
		sv := &serving{name: s, addr: listeners[s].Addr().String(), handler: mux, wg: &a.wg, log: a.log}
		sv.start(listeners[s])
		delete(listeners, s)
		a.servers[s] = sv
		a.reg.RegisterListener(s, sv)
		a.log.Info("service listening", "service", s, "url", a.urls[s])
	}
	if cfg.AdminListen == "none" {
		a.adminURL = a.urls[a.hosted[0]]
		if !cfg.AdminOnServicePorts {
			return nil, errors.New("the admin API must be served somewhere: give it an address, or serve it on the service ports")
		}
	} else {
		l, err := net.Listen("tcp", cfg.AdminListen)
		if err != nil {
			return nil, fmt.Errorf("listen for admin API on %s: %w (change it with --admin)", cfg.AdminListen, err)
		}
		a.adminURL = baseURL(l.Addr())
		a.serveExtra(l, adminHandler)
	}
	a.log.Info("admin API ready", "url", a.adminURL+"/admin/faults")
	return a, nil
}

func newService(ctx context.Context, name string, env services.Env, cfg Config) (http.Handler, closer, error) {
	switch name {
	case Frontend:
		site := web.Site(web.Options{RRWebEndpoint: cfg.RRWebEndpoint, Dir: cfg.WebDir, Logger: cfg.Logger})
		s := services.NewFrontend(env, site)
		return s.Handler(), s, nil
	case Cart:
		s, err := services.NewCart(ctx, env)
		if err != nil {
			return nil, nil, err
		}
		return s.Handler(), s, nil
	case Checkout:
		s, err := services.NewCheckout(ctx, env)
		if err != nil {
			return nil, nil, err
		}
		return s.Handler(), s, nil
	case Payment:
		s, err := services.NewPayment(ctx, env)
		if err != nil {
			return nil, nil, err
		}
		return s.Handler(), s, nil
	case Inventory:
		s, err := services.NewInventory(ctx, env, cfg.Products)
		if err != nil {
			return nil, nil, err
		}
		return s.Handler(), s, nil
	}
	return nil, nil, fmt.Errorf("unknown service %q", name)
}

// deadAddress returns a loopback address nothing listens on: a port the
// kernel just handed out and that was closed again at once.
func deadAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("reserve an unused port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("release unused port: %w", err)
	}
	return addr, nil
}

func baseURL(addr net.Addr) string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := "127.0.0.1"
	if ta.IP != nil && !ta.IP.IsUnspecified() {
		host = ta.IP.String()
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(ta.Port))
}

func (a *App) serveExtra(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	a.extra = append(a.extra, srv)
	a.wg.Go(func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("server stopped", "addr", l.Addr().String(), "err", err)
		}
	})
}

// URL returns the base URL of a service (hosted here or not).
func (a *App) URL(service string) string { return a.urls[service] }

// FrontendURL is the shop's public base URL.
func (a *App) FrontendURL() string { return a.urls[Frontend] }

// AdminURL is the base URL whose /admin/ serves the fault API.
func (a *App) AdminURL() string { return a.adminURL }

// Faults is the process's fault registry.
func (a *App) Faults() *faults.Registry { return a.reg }

// Hosted lists the services this process runs.
func (a *App) Hosted() []string { return slices.Clone(a.hosted) }

// Flush exports all buffered telemetry (spans, logs, metrics) now.
func (a *App) Flush(ctx context.Context) error {
	var errs []error
	for _, s := range a.hosted {
		if t := a.tel[s]; t != nil {
			if err := t.Flush(ctx); err != nil {
				errs = append(errs, fmt.Errorf("flush %s: %w", s, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Close stops everything Start started, flushing telemetry, and removes a
// temporary data directory.
func (a *App) Close() error {
	a.closing.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var errs []error
		if a.reg != nil {
			a.reg.Close()
		}
		for _, sv := range a.servers {
			if err := sv.shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop %s server: %w", sv.name, err))
			}
		}
		for _, s := range a.hosted {
			if c := a.svcs[s]; c != nil {
				if err := c.Close(); err != nil {
					errs = append(errs, fmt.Errorf("close %s: %w", s, err))
				}
			}
		}
		for _, srv := range a.extra {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop server: %w", err))
			}
		}
		a.wg.Wait()
		for _, s := range a.hosted {
			if t := a.tel[s]; t != nil {
				if err := t.Shutdown(ctx); err != nil {
					errs = append(errs, fmt.Errorf("shut down %s telemetry: %w", s, err))
				}
			}
		}
		if a.tempDir {
			if err := os.RemoveAll(a.dataDir); err != nil {
				errs = append(errs, fmt.Errorf("remove data dir: %w", err))
			}
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// serving is a service's HTTP server that listener_down can stop and start
// again on the same address.
type serving struct {
	name, addr string
	handler    http.Handler
	wg         *sync.WaitGroup
	log        *slog.Logger

	mu  sync.Mutex
	srv *http.Server
}

func (s *serving) start(l net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.srv = srv
	s.wg.Go(func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", "service", s.name, "err", err)
		}
	})
}

// Down closes the listener and every open connection.
func (s *serving) Down() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	s.srv = nil
	if err != nil {
		return fmt.Errorf("close %s listener: %w", s.name, err)
	}
	return nil
}

// Up listens again on the same address.
func (s *serving) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	var l net.Listener
	var err error
	for range 20 {
		if l, err = net.Listen("tcp", s.addr); err == nil {
			s.start(l)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("listen again for %s on %s: %w", s.name, s.addr, err)
}

func (s *serving) shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}
