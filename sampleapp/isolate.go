package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
)

// runIsolated re-runs this binary once per service. Each child hosts one
// service and reaches the others over loopback, as separate deployments
// would; the frontend's child serves the admin API on --admin, and forwards
// a fault to the child hosting its service, whose admin API is on its
// service port (--admin-on-service-ports).
func runIsolated(ctx context.Context, log *slog.Logger, cfg app.Config) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	hosted := cfg.Services
	if len(hosted) == 0 {
		hosted = app.Services
	}
	urls := map[string]string{}
	for _, s := range app.Services {
		if u := cfg.URLs[s]; u != "" && !slices.Contains(hosted, s) {
			urls[s] = u
			continue
		}
		host, port, err := net.SplitHostPort(cfg.Listen[s])
		if err != nil || port == "0" || port == "" {
			return fmt.Errorf("--isolate needs a fixed port for %s, got %q", s, cfg.Listen[s])
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		urls[s] = "http://" + net.JoinHostPort(host, port)
	}
	dataDir := cfg.DataDir
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "sampleapp-"); err != nil {
			return fmt.Errorf("create data dir: %w", err)
		}
		defer os.RemoveAll(dataDir)
	}

	// Children get every flag this process got, narrowed to one service.
	var common []string
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "isolate", "services", "admin", "admin-on-service-ports", "data-dir":
			return
		}
		if strings.HasSuffix(f.Name, "-url") && slices.Contains(app.Services, strings.TrimSuffix(f.Name, "-url")) {
			return
		}
		common = append(common, "--"+f.Name+"="+f.Value.String())
	})
	common = append(common, "--data-dir="+dataDir, "--admin-on-service-ports")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(hosted))
	for _, s := range hosted {
		args := append(slices.Clone(common), "--services="+s)
		for _, other := range app.Services {
			if other != s && other != app.Frontend {
				args = append(args, "--"+other+"-url="+urls[other])
			}
		}
		if s == app.Frontend {
			args = append(args, "--admin="+cfg.AdminListen)
		} else {
			args = append(args, "--admin=none")
		}
		cmd := exec.Command(self, args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			cancel()
			return fmt.Errorf("start %s: %w", s, err)
		}
		log.Info("service process started", "service", s, "pid", cmd.Process.Pid, "url", urls[s])
		wg.Go(func() {
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if ctx.Err() == nil {
					errs <- fmt.Errorf("%s exited: %v", s, err)
					cancel()
				}
			case <-ctx.Done():
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					_ = cmd.Process.Kill()
					<-done
				}
			}
		})
	}
	<-ctx.Done()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}
