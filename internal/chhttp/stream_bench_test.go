package chhttp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

// benchRows is how many otel_logs rows BenchmarkStreamOtelLogs reads
// (CHHTTP_BENCH_ROWS overrides the 10M).
func benchRows(tb testing.TB) int {
	if v := os.Getenv("CHHTTP_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(tb, err, "CHHTTP_BENCH_ROWS")
		return n
	}
	return 10_000_000
}

var (
	streamTableOnce sync.Once
	streamTable     string
)

// fillOtelLogs creates an otel_logs table (the contrib exporter's schema)
// holding rows shaped like the sample shop's logs.
func fillOtelLogs(b *testing.B, rows int) string {
	streamTableOnce.Do(func() {
		e := chdbtest.Engine(b)
		ctx := context.Background()
		tbl := tableName("otel_logs_stream")
		require.NoError(b, e.Exec(ctx, fmt.Sprintf(otelLogsTable, tbl)))
		const step = 1_000_000
		start := time.Now()
		for from := 0; from < rows; from += step {
			n := min(step, rows-from)
			require.NoError(b, e.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (%s) SELECT
				toDateTime64('2025-06-01 12:00:00', 9, 'UTC') + toIntervalMicrosecond(number * 997) AS Timestamp,
				lower(hex(sipHash128(number))) AS TraceId,
				substring(lower(hex(sipHash128(number, 1))), 1, 16) AS SpanId,
				1 AS TraceFlags,
				['INFO', 'WARN', 'ERROR', 'DEBUG'][number %% 4 + 1] AS SeverityText,
				[9, 13, 17, 5][number %% 4 + 1] AS SeverityNumber,
				['checkout', 'cart', 'frontend', 'payment', 'shipping'][number %% 5 + 1] AS ServiceName,
				concat(ServiceName, ' handled request ', substring(TraceId, 1, 8), ' for user ', toString(number %% 100000),
				       ' in ', toString(number %% 2000), 'ms: order ', substring(SpanId, 1, 12)) AS Body,
				'https://opentelemetry.io/schemas/1.26.0',
				map('service.name', ServiceName, 'service.version', '1.4.2', 'host.name', concat('node-', toString(number %% 12)),
				    'k8s.namespace.name', 'shop', 'k8s.pod.name', concat(ServiceName, '-7d9f-', toString(number %% 40)),
				    'telemetry.sdk.language', 'go', 'deployment.environment.name', 'prod'),
				'', 'go.opentelemetry.io/contrib/bridges/otelslog', '0.9.0', map(),
				map('http.method', 'POST', 'http.route', concat('/api/', ServiceName), 'http.status_code', toString(200 + 100 * (number %% 4)),
				    'user.id', toString(number %% 100000), 'duration_ms', toString(number %% 2000)),
				''
				FROM numbers(%d, %d)`, tbl, otelLogsColumns, from, n)))
			b.Logf("filling %s: %d of %d rows (%s)", tbl, from+n, rows, time.Since(start).Round(time.Second))
		}
		streamTable = tbl
	})
	require.NotEmpty(b, streamTable)
	return streamTable
}

// BenchmarkStreamOtelLogs streams SELECT * FROM otel_logs through the HTTP
// interface and, in the same run, through the engine's own streaming read
// (chdb_stream_query, in process, no HTTP), in interleaved pairs; it reports
// both rates and the median of the per-pair ratios (http/direct).
func BenchmarkStreamOtelLogs(b *testing.B) {
	rows := benchRows(b)
	tbl := fillOtelLogs(b, rows)
	e := chdbtest.Engine(b)
	srv := chdbtest.HTTP(b)
	sql := "SELECT * FROM " + tbl

	direct := func(b *testing.B, format string) (int64, time.Duration) {
		conn, err := e.NewConn(nil)
		require.NoError(b, err)
		defer conn.Close()
		start := time.Now()
		s, err := conn.Stream(sql+" FORMAT "+format, "TabSeparated")
		require.NoError(b, err)
		defer s.Close()
		var n int64
		for {
			chunk, err := s.Next()
			require.NoError(b, err)
			if chunk == nil {
				break
			}
			n += int64(len(chunk))
		}
		return n, time.Since(start)
	}
	overHTTP := func(b *testing.B, format string, extra url.Values) (int64, time.Duration) {
		p := url.Values{"default_format": {format}}
		for k, v := range extra {
			p[k] = v
		}
		start := time.Now()
		res, err := http.Post(srv.URL+"/?"+p.Encode(), "text/plain", strings.NewReader(sql))
		require.NoError(b, err)
		defer res.Body.Close()
		require.Equal(b, http.StatusOK, res.StatusCode)
		n, err := readAll(res.Body)
		require.NoError(b, err)
		return n, time.Since(start)
	}

	// Wall time on a shared machine moves with its load; the CPU time the
	// process spent (engine, interface and the client together) does less.
	timed := func(run func() (int64, time.Duration)) (int64, time.Duration, time.Duration) {
		before := cpuTime()
		n, wall := run()
		return n, wall, cpuTime() - before
	}
	for _, c := range []struct {
		name, format string
		extra        url.Values
	}{
		{"JSONEachRow", "JSONEachRow", nil},
		{"Native", "Native", nil},
		// What clickhouse-go asks for: Native for its protocol revision,
		// which the interface re-frames block by block.
		{"Native_clickhouse-go", "Native", url.Values{"client_protocol_version": {"54460"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var ratios, cpuRatios []float64
			var directBytes, httpBytes int64
			var directTime, httpTime time.Duration
			for i := 0; i < b.N; i++ {
				// Alternate which goes first, so neither always runs on a
				// warmer cache.
				var dn, hn int64
				var dt, ht, dc, hc time.Duration
				d := func() (int64, time.Duration) { return direct(b, c.format) }
				h := func() (int64, time.Duration) { return overHTTP(b, c.format, c.extra) }
				if i%2 == 0 {
					dn, dt, dc = timed(d)
					hn, ht, hc = timed(h)
				} else {
					hn, ht, hc = timed(h)
					dn, dt, dc = timed(d)
				}
				cpuRatios = append(cpuRatios, dc.Seconds()/hc.Seconds())
				if c.extra == nil {
					require.Equal(b, dn, hn, "the interface sent other bytes than the engine's streaming read")
				}
				directBytes, httpBytes = directBytes+dn, httpBytes+hn
				directTime, httpTime = directTime+dt, httpTime+ht
				ratios = append(ratios, dt.Seconds()/ht.Seconds())
			}
			slices.Sort(ratios)
			slices.Sort(cpuRatios)
			b.ReportMetric(cpuRatios[len(cpuRatios)/2], "cpu_direct/http")
			b.ReportMetric(float64(rows)*float64(b.N)/directTime.Seconds(), "direct_rows/s")
			b.ReportMetric(float64(rows)*float64(b.N)/httpTime.Seconds(), "http_rows/s")
			b.ReportMetric(float64(directBytes)/directTime.Seconds()/1e6, "direct_MB/s")
			b.ReportMetric(float64(httpBytes)/httpTime.Seconds()/1e6, "http_MB/s")
			b.ReportMetric(ratios[len(ratios)/2], "http/direct")
			b.Logf("%s: %d rows, %.2f GB per read; per-pair rate ratios http/direct %.3f; CPU time direct/http %.3f", c.name, rows, float64(httpBytes)/float64(b.N)/1e9, ratios, cpuRatios)
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readAll reads a response as a client that streams it would: in large
// reads (io.Discard would read it 8 KiB at a time).
func readAll(r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// rssSampler follows the process's resident memory while a result streams.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Int64
}

func residentBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func sampleRSS() *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	s.peak.Store(residentBytes())
	go func() {
		defer close(s.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				if r := residentBytes(); r > s.peak.Load() {
					s.peak.Store(r)
				}
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() int64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

// BenchmarkResultMemory streams large results through the HTTP interface to
// a client that reads as fast as it can, and reports how far the process's
// resident memory (the engine's and the interface's together) rose above
// where it stood before; in the same run, the engine's own streaming read of
// the same statement (in process, no HTTP) for comparison. A 1 GB and a
// 5 GB TabSeparated result show whether memory grows with the result.
func BenchmarkResultMemory(b *testing.B) {
	e := chdbtest.Engine(b)
	srv := chdbtest.HTTP(b)
	settle := func() int64 {
		// Hand freed memory back, so that each measurement starts level.
		require.NoError(b, e.Exec(context.Background(), "SYSTEM JEMALLOC PURGE"))
		runtime.GC()
		debug.FreeOSMemory()
		return residentBytes()
	}
	overHTTP := func(b *testing.B, sql string) int64 {
		res, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader(sql))
		require.NoError(b, err)
		defer res.Body.Close()
		n, err := readAll(res.Body)
		require.NoError(b, err)
		require.Equal(b, http.StatusOK, res.StatusCode)
		return n
	}
	direct := func(b *testing.B, sql string) int64 {
		conn, err := e.NewConn(nil)
		require.NoError(b, err)
		defer conn.Close()
		s, err := conn.Stream(sql, "TabSeparated")
		require.NoError(b, err)
		defer s.Close()
		var n int64
		for {
			chunk, err := s.Next()
			require.NoError(b, err)
			if chunk == nil {
				return n
			}
			n += int64(len(chunk))
		}
	}
	for _, c := range []struct {
		name, sql string
	}{
		// ~500 bytes a row.
		{"TSV_1GB", "SELECT number, repeat('x', 480) AS s, toString(number * 7) AS t FROM numbers(2000000) FORMAT TabSeparated"},
		{"TSV_5GB", "SELECT number, repeat('x', 480) AS s, toString(number * 7) AS t FROM numbers(10000000) FORMAT TabSeparated"},
		// ~118 bytes a row in JSON's layout.
		{"JSON_1GB", "SELECT number, repeat('x', 70) AS s FROM numbers(8500000) FORMAT JSON"},
	} {
		for _, how := range []struct {
			name string
			run  func(*testing.B, string) int64
		}{{"http", overHTTP}, {"engine_stream", direct}} {
			b.Run(c.name+"/"+how.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					before := settle()
					s := sampleRSS()
					start := time.Now()
					n := how.run(b, c.sql)
					took := time.Since(start)
					peak := s.finish()
					b.ReportMetric(float64(n)/1e9, "GB")
					b.ReportMetric(float64(peak-before)/(1<<20), "rss_rise_MiB")
					b.ReportMetric(float64(n)/took.Seconds()/1e6, "MB/s")
				}
			})
		}
	}
}
