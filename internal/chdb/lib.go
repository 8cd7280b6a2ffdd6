package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// EnvLibPath names the environment variable that points at libchdb.so.
const EnvLibPath = "CHDB_LIB_PATH"

// ErrLibNotFound is returned when libchdb.so cannot be located.
var ErrLibNotFound = errors.New("libchdb.so not found: run `make deps` (or set " + EnvLibPath + " to its path)")

// api holds the C entry points of libchdb used by this package. The
// binary-safe *_n variants are used throughout so that SQL and data may hold
// NUL bytes.
type api struct {
	version                 func() unsafe.Pointer
	setSignalHandlers       func(enabled int32)
	connect                 func(argc int32, argv unsafe.Pointer) unsafe.Pointer
	closeConn               func(conn unsafe.Pointer)
	queryN                  func(conn uintptr, q unsafe.Pointer, ql uintptr, f unsafe.Pointer, fl uintptr) uintptr
	queryWithParamsN        func(conn uintptr, q unsafe.Pointer, ql uintptr, f unsafe.Pointer, fl uintptr, names, nameLens, values, valueLens unsafe.Pointer, n uintptr) uintptr
	streamQueryWithParamsN  func(conn uintptr, q unsafe.Pointer, ql uintptr, f unsafe.Pointer, fl uintptr, names, nameLens, values, valueLens unsafe.Pointer, n uintptr) uintptr
	streamFetch             func(conn uintptr, res uintptr) uintptr
	streamCancel            func(conn uintptr, res uintptr)
	destroyResult           func(res uintptr)
	streamInsertWithParamsN func(conn uintptr, q unsafe.Pointer, ql uintptr, f unsafe.Pointer, fl uintptr, names, nameLens, values, valueLens unsafe.Pointer, n uintptr) uintptr
	streamAppend            func(stream uintptr, data unsafe.Pointer, n uintptr) int32
	streamDone              func(stream uintptr) uintptr
	streamCancelInsert      func(stream uintptr)
	streamInsertError       func(stream uintptr) unsafe.Pointer
	destroyInsertStream     func(stream uintptr)
	resultBuffer            func(res uintptr) unsafe.Pointer
	resultLength            func(res uintptr) uintptr
	resultElapsed           func(res uintptr) float64
	resultRowsRead          func(res uintptr) uint64
	resultBytesRead         func(res uintptr) uint64
	resultStorageRowsRead   func(res uintptr) uint64
	resultStorageBytesRead  func(res uintptr) uint64
	resultRowsWritten       func(res uintptr) uint64
	resultBytesWritten      func(res uintptr) uint64
	resultError             func(res uintptr) unsafe.Pointer
}

var (
	loadOnce sync.Once
	loaded   *api
	loadErr  error
	loadPath string
)

// ResolveLibPath finds libchdb.so: the configured path if given, then
// $CHDB_LIB_PATH, then .deps/chdb/libchdb.so in the working directory, next
// to the executable, or in any parent of either (so tests in sub-packages
// and binaries in build/ find the copy `make deps` fetched).
func ResolveLibPath(configured string) (string, error) {
	if configured != "" {
		if _, err := os.Stat(configured); err != nil {
			return "", fmt.Errorf("libchdb at configured path %q: %w (run `make deps` or fix the path)", configured, err)
		}
		return configured, nil
	}
	if p := os.Getenv(EnvLibPath); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("libchdb at %s=%q: %w (run `make deps` or fix the variable)", EnvLibPath, p, err)
		}
		return p, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			candidate := filepath.Join(dir, ".deps", "chdb", "libchdb.so")
			if _, err := os.Stat(candidate); err == nil {
				return candidate, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", ErrLibNotFound
}

// load opens libchdb once per process. chDB's own signal handlers are turned
// off before anything else runs: with them on, a Go panic recovered by the
// collector (or a SIGSEGV Go turns into a panic) would kill the process.
func load(path string) (*api, error) {
	loadOnce.Do(func() {
		loadPath = path
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			loadErr = fmt.Errorf("load libchdb from %s: %w", path, err)
			return
		}
		a := &api{}
		for name, fn := range map[string]any{
			"chdb_version":                     &a.version,
			"chdb_set_signal_handlers_enabled": &a.setSignalHandlers,
			"chdb_connect":                     &a.connect,
			"chdb_close_conn":                  &a.closeConn,
			"chdb_query_n":                     &a.queryN,
			"chdb_query_with_params_n":         &a.queryWithParamsN,
			"chdb_stream_query_with_params_n":  &a.streamQueryWithParamsN,
			"chdb_stream_fetch_result":         &a.streamFetch,
			"chdb_stream_cancel_query":         &a.streamCancel,
			"chdb_destroy_query_result":        &a.destroyResult,
			"chdb_stream_insert_with_params_n": &a.streamInsertWithParamsN,
			"chdb_stream_append":               &a.streamAppend,
			"chdb_stream_done":                 &a.streamDone,
			"chdb_stream_cancel_insert":        &a.streamCancelInsert,
			"chdb_stream_insert_error":         &a.streamInsertError,
			"chdb_destroy_insert_stream":       &a.destroyInsertStream,
			"chdb_result_buffer":               &a.resultBuffer,
			"chdb_result_length":               &a.resultLength,
			"chdb_result_elapsed":              &a.resultElapsed,
			"chdb_result_rows_read":            &a.resultRowsRead,
			"chdb_result_bytes_read":           &a.resultBytesRead,
			"chdb_result_storage_rows_read":    &a.resultStorageRowsRead,
			"chdb_result_storage_bytes_read":   &a.resultStorageBytesRead,
			"chdb_result_rows_written":         &a.resultRowsWritten,
			"chdb_result_bytes_written":        &a.resultBytesWritten,
			"chdb_result_error":                &a.resultError,
		} {
			if _, err := purego.Dlsym(h, name); err != nil {
				loadErr = fmt.Errorf("libchdb at %s lacks %s (need chDB 26.x from `make deps`): %w", path, name, err)
				return
			}
			purego.RegisterLibFunc(fn, h, name)
		}
		a.setSignalHandlers(0)
		loaded = a
	})
	if loadErr != nil {
		return nil, loadErr
	}
	if path != loadPath {
		return nil, fmt.Errorf("libchdb already loaded from %s; cannot load %s in the same process", loadPath, path)
	}
	return loaded, nil
}

// Version returns the version of the loaded library ("26.7.3").
func (e *Engine) Version() string { return cString(e.api.version()) }

// cString copies a NUL-terminated C string.
func cString(p unsafe.Pointer) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}

// cBytes views a C buffer without copying; valid until the owning result is destroyed.
func cBytes(p unsafe.Pointer, n uintptr) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(p), int(n))
}
