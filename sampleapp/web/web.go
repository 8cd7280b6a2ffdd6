// Package web holds the shop's browser front end, served by the frontend
// service: the pages (index.html, product.html, cart.html, checkout.html,
// order.html) at the site root and everything in static/ under /static/.
// Our own files are embedded at build time; third-party browser code (rrweb)
// is not committed: `npm ci --prefix sampleapp/web` installs it into
// node_modules, and Site serves it from there at run time.
//
// Besides the embedded files, Site serves two generated ones:
//
//   - config.js: window.SHOP_CONFIG, the page's settings (the collector's
//     rrweb receiver URL, whether recording is available);
//   - rrweb.js: rrweb's UMD build from node_modules, or, when it is not
//     installed, a stub that leaves the shop working without recording.
package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

//go:embed all:static
var files embed.FS

const (
	// ServiceName is the service.name of the browser's telemetry (session
	// recordings and browser spans).
	ServiceName = "shop-web"
	// DefaultRRWebEndpoint is the collector's rrweb receiver as the default
	// configuration (otelcol-config.yaml) runs it.
	DefaultRRWebEndpoint = "http://127.0.0.1:4319"
	// RRWebFile is rrweb's browser build, relative to the web directory.
	RRWebFile = "node_modules/rrweb/dist/rrweb.umd.min.cjs"
	// InstallHint says how to install the front end's npm packages.
	InstallHint = "npm ci --prefix sampleapp/web"
)

// FS returns the embedded site (static/ as its root) without the generated
// files; Site is what the frontend serves.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		// static/ is embedded above; a missing directory is a build defect.
		panic(err)
	}
	return sub
}

// Options configures Site.
type Options struct {
	// RRWebEndpoint is the base URL of the collector's rrweb receiver, as
	// the browser reaches it: the page posts session recordings to
	// <RRWebEndpoint>/rrweb and browser spans to <RRWebEndpoint>/v1/traces.
	// Empty disables both (fetches still carry traceparent).
	RRWebEndpoint string
	// Dir is the directory whose node_modules holds rrweb (sampleapp/web
	// of the repository). Empty looks for sampleapp/web above the working
	// directory and above the executable.
	Dir string
	// FlushInterval is how often the page sends what it recorded (default
	// 3s); it also sends before it navigates and when the page goes away.
	FlushInterval time.Duration
	// Logger receives the one-time notice that recording is unavailable.
	Logger *slog.Logger
}

// Site returns the frontend's web root: the embedded files plus config.js
// and rrweb.js.
func Site(o Options) fs.FS {
	if o.Dir == "" {
		o.Dir = FindDir()
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &site{embedded: FS(), opts: o, started: time.Now()}
	if o.RRWebEndpoint != "" {
		if _, ok := s.rrwebPath(); !ok {
			s.warnMissing()
		}
	}
	return s
}

// FindDir returns the sampleapp/web directory of the repository the
// process runs in (looked for above the working directory, then above the
// executable), or "" if there is none.
func FindDir() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	for _, dir := range starts {
		for {
			if isWebDir(dir) {
				return dir
			}
			if cand := filepath.Join(dir, "sampleapp", "web"); isWebDir(cand) {
				return cand
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}

// isWebDir reports whether dir is this package's directory (its
// package.json names the shop's front end).
func isWebDir(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	return err == nil && strings.Contains(string(b), `"otelcol-agentic-shop-web"`)
}

type site struct {
	embedded fs.FS
	opts     Options
	started  time.Time
	warnOnce sync.Once
}

// pageConfig is window.SHOP_CONFIG.
type pageConfig struct {
	Service         string `json:"service"`
	RRWebEndpoint   string `json:"rrwebEndpoint"`
	Recording       bool   `json:"recording"`
	FlushIntervalMs int64  `json:"flushIntervalMs"`
}

func (s *site) Open(name string) (fs.File, error) {
	switch name {
	case "config.js":
		_, installed := s.rrwebPath()
		b, err := json.Marshal(pageConfig{
			Service:         ServiceName,
			RRWebEndpoint:   strings.TrimRight(s.opts.RRWebEndpoint, "/"),
			Recording:       installed && s.opts.RRWebEndpoint != "",
			FlushIntervalMs: s.opts.FlushInterval.Milliseconds(),
		})
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return newMemFile(name, "window.SHOP_CONFIG = "+string(b)+";\n", time.Time{}), nil
	case "rrweb.js":
		if path, ok := s.rrwebPath(); ok {
			if f, err := os.Open(path); err == nil {
				return renamedFile{File: f, name: name}, nil
			}
		}
		if s.opts.RRWebEndpoint != "" {
			s.warnMissing()
		}
		return newMemFile(name, "// rrweb is not installed: run `"+InstallHint+"` to enable session recording.\n", s.started), nil
	}
	return s.embedded.Open(name)
}

// rrwebPath returns where rrweb's browser build is and whether it is there.
func (s *site) rrwebPath() (string, bool) {
	if s.opts.Dir == "" {
		return "", false
	}
	path := filepath.Join(s.opts.Dir, filepath.FromSlash(RRWebFile))
	info, err := os.Stat(path)
	return path, err == nil && info.Mode().IsRegular()
}

func (s *site) warnMissing() {
	s.warnOnce.Do(func() {
		where := "sampleapp/web was not found above the working directory or the executable (pass --web-dir)"
		if s.opts.Dir != "" {
			where = filepath.Join(s.opts.Dir, filepath.FromSlash(RRWebFile)) + " is missing"
		}
		s.opts.Logger.Warn(fmt.Sprintf("session recording is off: %s; `%s` (from the repository root) enables it; the shop works without it", where, InstallHint))
	})
}

// renamedFile serves a file from disk under another name (so its type is
// taken from the served name: rrweb.js, not rrweb.umd.min.cjs).
type renamedFile struct {
	*os.File
	name string
}

func (f renamedFile) Stat() (fs.FileInfo, error) {
	info, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return fileInfo{name: f.name, size: info.Size(), mod: info.ModTime()}, nil
}

// memFile is a generated file.
type memFile struct {
	*strings.Reader
	info fileInfo
}

func newMemFile(name, content string, mod time.Time) *memFile {
	return &memFile{Reader: strings.NewReader(content), info: fileInfo{name: name, size: int64(len(content)), mod: mod}}
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

type fileInfo struct {
	name string
	size int64
	mod  time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return i.mod }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
