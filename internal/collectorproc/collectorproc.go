// Package collectorproc runs the built collector binary as a user runs it,
// with the repository's otelcol-config.yaml, every port moved to a free
// loopback port and the data to a directory of the caller's: the one launcher
// behind `make demo`, `make eval` and the end-to-end tests.
package collectorproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RepoRoot finds the directory holding go.mod, from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory: run from the repository")
		}
		dir = parent
	}
}

// Binary is the collector built by `make build`, or $OTELCOL_AGENTIC_BIN.
func Binary(root string) (string, error) {
	bin := os.Getenv("OTELCOL_AGENTIC_BIN")
	if bin == "" {
		bin = filepath.Join(root, "build", "otelcol-agentic")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("collector binary %s not found: run `make build` (or `make test`, which builds it)", bin)
	}
	return bin, nil
}

// FreePort returns a loopback address with a port nobody listens on.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

// Options say which collector to run and how.
type Options struct {
	Root    string // repository root: the working directory, and where build/ and otelcol-config.yaml are
	Config  string // default <Root>/otelcol-config.yaml
	DataDir string // OTELCOL_AGENTIC_DATA
	// TraceWait is how long the spool (or groupbytrace) waits for a trace's
	// spans; 0 keeps the config's.
	TraceWait time.Duration
	Sets      []string // further --set overrides, without the "--set="
	// ReadyTimeout bounds the wait for the health check (default 60 s).
	ReadyTimeout time.Duration
	// MaxLog caps the collector's output kept for Log (0: all of it).
	MaxLog int
	// OwnProcessGroup keeps a terminal's Ctrl-C from reaching the collector,
	// so that the caller stops it in order.
	OwnProcessGroup bool
}

// Process is a running collector.
type Process struct {
	cmd       *exec.Cmd
	DataDir   string
	ClickHTTP string // ClickHouse HTTP interface address
	OTLPHTTP  string
	OTLPGRPC  string
	RRWeb     string
	Health    string
	maxLog    int
	logMu     sync.Mutex
	log       strings.Builder
	done      chan error
	stopOnce  sync.Once
	stopErr   error
}

// Start runs the collector and waits until its health check answers. It
// tries again with fresh ports when one was taken between picking it and
// the collector binding it.
func Start(ctx context.Context, o Options) (*Process, error) {
	for attempt := 1; ; attempt++ {
		p, err := start(ctx, o)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return p, err
		}
	}
}

func start(ctx context.Context, o Options) (*Process, error) {
	bin, err := Binary(o.Root)
	if err != nil {
		return nil, err
	}
	if o.Config == "" {
		o.Config = filepath.Join(o.Root, "otelcol-config.yaml")
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	p := &Process{DataDir: o.DataDir, maxLog: o.MaxLog, done: make(chan error, 1)}
	for _, a := range []*string{&p.ClickHTTP, &p.OTLPHTTP, &p.OTLPGRPC, &p.RRWeb, &p.Health} {
		if *a, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := []string{
		"--config", o.Config,
		"--set=extensions::chdb::endpoint=" + p.ClickHTTP,
		"--set=extensions::health_check::endpoint=" + p.Health,
		"--set=receivers::otlp::protocols::http::endpoint=" + p.OTLPHTTP,
		"--set=receivers::otlp::protocols::grpc::endpoint=" + p.OTLPGRPC,
		"--set=receivers::rrweb::endpoint=" + p.RRWeb,
		"--set=exporters::clickhouse::endpoint=http://" + p.ClickHTTP,
		"--set=exporters::clickhouse/sessions::endpoint=http://" + p.ClickHTTP,
		"--set=exporters::clickhouse_vector::endpoint=http://" + p.ClickHTTP,
		"--set=processors::embedding::logs::templates::store::endpoint=http://" + p.ClickHTTP,
		"--set=service::telemetry::metrics::level=none",
	}
	if o.TraceWait > 0 {
		// The spool's grouping, or in configurations from before it,
		// groupbytrace's.
		if b, err := os.ReadFile(o.Config); err == nil {
			switch {
			case strings.Contains(string(b), "spool/traces:"):
				args = append(args, "--set=connectors::spool/traces::group_by_trace::wait_duration="+o.TraceWait.String())
			case strings.Contains(string(b), "groupbytrace:"):
				args = append(args, "--set=processors::groupbytrace::wait_duration="+o.TraceWait.String())
			}
		}
	}
	for _, s := range o.Sets {
		args = append(args, "--set="+s)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = o.Root
	p.cmd.Env = append(os.Environ(), "OTELCOL_AGENTIC_DATA="+o.DataDir)
	if o.OwnProcessGroup {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.logMu.Lock()
			if p.maxLog <= 0 || p.log.Len() < p.maxLog {
				p.log.Write(sc.Bytes())
				p.log.WriteByte('\n')
			}
			p.logMu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	if err := p.waitReady(ctx, o.ReadyTimeout); err != nil {
		_ = p.Kill()
		return nil, err
	}
	return p, nil
}

func (p *Process) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err // for Stop and Kill, which must not wait forever
			return fmt.Errorf("collector exited during start: %v\n%s", err, p.Log())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := http.Get("http://" + p.Health + "/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("collector not ready within %s:\n%s", timeout, p.Log())
}

// Pid is the collector's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Log returns what the collector printed so far.
func (p *Process) Log() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.log.String()
}

// Stop sends SIGTERM and waits for the exit (at most 60 s, then kills); it
// returns how the collector exited. Calling it again returns the same.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			p.stopErr = err
			return
		}
		select {
		case p.stopErr = <-p.done:
		case <-time.After(60 * time.Second):
			_ = p.cmd.Process.Kill()
			p.stopErr = errors.New("collector did not stop within 60s; killed")
		}
	})
	return p.stopErr
}

// Kill ends the collector with SIGKILL, as a crash or the OOM killer would:
// no shutdown, nothing flushed.
func (p *Process) Kill() error {
	var err error
	p.stopOnce.Do(func() {
		if err = p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return
		}
		err = nil
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			err = errors.New("collector did not die within 30s of SIGKILL")
		}
		p.stopErr = err
	})
	return err
}

// Exited reports whether the collector has been stopped or killed, or ended
// by itself.
func (p *Process) Exited() bool { return p.cmd.ProcessState != nil }
