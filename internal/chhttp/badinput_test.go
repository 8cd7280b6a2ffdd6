package chhttp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ClickHouse/ch-go/compress"
	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

// Bad input is answered with a ClickHouse error, and neither the server nor
// the pooled connection that served it is worse for it.

var settingsSeq atomic.Uint64

// ownSettings returns settings no other test sends, so that the bad request
// and the health check after it are served by the same pooled connection.
func ownSettings() url.Values {
	return url.Values{"max_block_size": {strconv.FormatUint(60000+settingsSeq.Add(1), 10)}}
}

func with(p url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// nativeBlock encodes rows of (UInt32, String) as a Native block, as
// clickhouse-go does for an insert.
func nativeBlock(t testing.TB, rows int) []byte {
	t.Helper()
	b := proto.NewBlock()
	require.NoError(t, b.AddColumn("a", column.Type("UInt32")))
	require.NoError(t, b.AddColumn("s", column.Type("String")))
	for i := 0; i < rows; i++ {
		require.NoError(t, b.Append(uint32(i), fmt.Sprintf("row %d", i)))
	}
	var buf chproto.Buffer
	require.NoError(t, b.Encode(&buf, 0))
	return buf.Buf
}

func compressBlocks(t testing.TB, data []byte, method compress.Method) []byte {
	t.Helper()
	w := compress.NewWriter(compress.LevelZero, method)
	require.NoError(t, w.Compress(data))
	return append([]byte(nil), w.Data...)
}

func newTable(t testing.TB) string {
	t.Helper()
	tbl := tableName("bad")
	exec(t, "CREATE TABLE "+tbl+" (a UInt32, s String) ENGINE = MergeTree ORDER BY a")
	return tbl
}

func TestBadSQL(t *testing.T) {
	t.Parallel()
	p := ownSettings()
	res, body := post(t, p, "SELEC 1", nil)
	requireCHError(t, res, body, 62)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "SYNTAX_ERROR")
	requireHealthy(t, p)

	res, body = post(t, p, "SELECT * FROM no_such_table_at_all", nil)
	requireCHError(t, res, body, 60)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	requireHealthy(t, p)

	res, body = post(t, p, "SELECT no_such_function(1)", nil)
	requireCHError(t, res, body, 46)
	res, body = post(t, p, "SELECT 1 FORMAT NoSuchFormat", nil)
	requireCHError(t, res, body, 73)
	requireHealthy(t, p)
}

func TestBadNativeInsert(t *testing.T) {
	t.Parallel()
	p := ownSettings()
	tbl := newTable(t)
	block := nativeBlock(t, 1000)
	ins := with(p, "query", "INSERT INTO "+tbl+" FORMAT Native")

	res, body := post(t, ins, string(block[:len(block)-100]), nil)
	requireCHError(t, res, body, 33) // CANNOT_READ_ALL_DATA
	requireHealthy(t, p)
	assert.Equal(t, "0\n", query(t, "SELECT count() FROM "+tbl))

	// The same block whole, and block-compressed as clickhouse-go sends it.
	res, body = post(t, ins, string(block), nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	res, body = post(t, with(ins, "decompress", "1"), string(compressBlocks(t, block, compress.LZ4)), nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "2000\n", query(t, "SELECT count() FROM "+tbl))
}

func TestBadCompressedBlock(t *testing.T) {
	t.Parallel()
	p := ownSettings()
	tbl := newTable(t)
	good := compressBlocks(t, nativeBlock(t, 500), compress.ZSTD)
	ins := with(p, "query", "INSERT INTO "+tbl+" FORMAT Native", "decompress", "1")

	for name, mutate := range map[string]func([]byte) []byte{
		"payload byte":     func(b []byte) []byte { b[len(b)-10] ^= 0x55; return b },
		"checksum byte":    func(b []byte) []byte { b[3] ^= 1; return b },
		"truncated":        func(b []byte) []byte { return b[:len(b)/2] },
		"unknown method":   func(b []byte) []byte { b[16] = 0x77; return b },
		"oversized header": func(b []byte) []byte { b[17], b[18], b[19], b[20] = 0xff, 0xff, 0xff, 0x7f; return b },
		"not a block":      func([]byte) []byte { return []byte("1,hello\n") },
		// Cut right after the header: the payload read ends at a clean EOF,
		// which must not pass for the end of the body.
		"header only": func(b []byte) []byte { return b[:25] },
	} {
		bad := mutate(append([]byte(nil), good...))
		res, body := post(t, ins, string(bad), nil)
		require.NotEqual(t, http.StatusOK, res.StatusCode, name)
		code := res.Header.Get("X-ClickHouse-Exception-Code")
		assert.Contains(t, []string{"40", "271"}, code, "%s: %s", name, body)
		if name == "payload byte" || name == "checksum byte" {
			assert.Equal(t, "40", code, "%s: %s", name, body)
			assert.Contains(t, body, "CHECKSUM_DOESNT_MATCH")
		}
		assert.True(t, strings.HasPrefix(body, "Code: "+code+". DB::Exception: "), body)
	}
	requireHealthy(t, p)
	assert.Equal(t, "0\n", query(t, "SELECT count() FROM "+tbl))

	// Two good blocks then a bad one: nothing of a failed body is kept
	// partially committed in a way that breaks the next request.
	body := append(append(append([]byte(nil), good...), good...), good[:30]...)
	res, rb := post(t, ins, string(body), nil)
	requireCHError(t, res, rb, 271)
	requireHealthy(t, p)
}

func TestBadContentEncoding(t *testing.T) {
	t.Parallel()
	p := ownSettings()
	tbl := newTable(t)
	ins := with(p, "query", "INSERT INTO "+tbl+" FORMAT CSV")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(strings.Repeat("1,abc\n", 10000)))
	require.NoError(t, zw.Close())
	broken := gz.Bytes()
	broken = append(append([]byte(nil), broken[:len(broken)/2]...), bytes.Repeat([]byte{0xAA}, 64)...)

	res, body := post(t, ins, string(broken), http.Header{"Content-Encoding": {"gzip"}})
	requireCHError(t, res, body, 354) // ZLIB_INFLATE_FAILED
	res, body = post(t, ins, "definitely not gzip", http.Header{"Content-Encoding": {"gzip"}})
	requireCHError(t, res, body, 354)
	res, body = post(t, ins, "\x28\xb5\x2f\xfd garbage", http.Header{"Content-Encoding": {"zstd"}})
	requireCHError(t, res, body, 561)
	res, body = post(t, ins, "1,abc\n", http.Header{"Content-Encoding": {"snappy-pop"}})
	requireCHError(t, res, body, 48)
	requireHealthy(t, p)
	assert.Equal(t, "0\n", query(t, "SELECT count() FROM "+tbl))
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	srv := smallServer(t, 1<<20)
	tbl := newTable(t)
	ins := url.Values{"query": {"INSERT INTO " + tbl + " FORMAT CSV"}}
	big := strings.Repeat("1,abcdefghijklmnopqrstuvwxyz\n", 50000) // 1.4 MiB

	res, body := do(t, srv.URL, http.MethodPost, ins, strings.NewReader(big), nil)
	requireCHError(t, res, body, 307)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)

	// A small gzip body that expands beyond the limit.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(big))
	require.NoError(t, zw.Close())
	require.Less(t, gz.Len(), 1<<20)
	res, body = do(t, srv.URL, http.MethodPost, ins, &gz, http.Header{"Content-Encoding": {"gzip"}})
	requireCHError(t, res, body, 307)

	// A compressed block announcing more than the limit is refused before
	// its payload is read.
	blk := compressBlocks(t, []byte(big), compress.LZ4)
	res, body = do(t, srv.URL, http.MethodPost, with(ins, "decompress", "1"), bytes.NewReader(blk[:25]), nil)
	requireCHError(t, res, body, 307)

	// Just under the limit is fine, and the server still serves.
	res, body = do(t, srv.URL, http.MethodPost, ins, strings.NewReader(big[:900_000-900_000%29]), nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	res, body = do(t, srv.URL, http.MethodPost, nil, strings.NewReader("SELECT count() FROM "+tbl), nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, fmt.Sprintf("%d\n", 900_000/29), body)
}

// Strings are bytes in ClickHouse: invalid UTF-8 is stored and returned as sent.
func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	tbl := newTable(t)
	res, body := post(t, url.Values{"query": {"INSERT INTO " + tbl + " FORMAT TSV"}}, "1\t\xff\xfe ok \xc3\x28\n", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "FFFE206F6B20C328\n", query(t, "SELECT hex(s) FROM "+tbl+" WHERE a = 1"))

	conn := openClickHouseGo(t, clickhouse.CompressionLZ4, nil)
	ctx := context.Background()
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+tbl)
	require.NoError(t, err)
	require.NoError(t, batch.Append(uint32(2), "\x80\x81 bin \xed\xa0\x80"))
	require.NoError(t, batch.Send())
	var s string
	require.NoError(t, conn.QueryRow(ctx, "SELECT s FROM "+tbl+" WHERE a = 2").Scan(&s))
	assert.Equal(t, "\x80\x81 bin \xed\xa0\x80", s)

	// JSON output carries the bytes too, unless asked to validate them.
	res, body = post(t, nil, "SELECT s FROM "+tbl+" ORDER BY a FORMAT JSONEachRow", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, "\xff\xfe ok")
	res, body = post(t, url.Values{"output_format_json_validate_utf8": {"1"}}, "SELECT s FROM "+tbl+" ORDER BY a FORMAT JSONEachRow", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.True(t, utf8.ValidString(body), body)
}

// A failure while an INSERT streams (a parse error in a later chunk of a
// large body) leaves the connection usable.
func TestInsertFailsMidStream(t *testing.T) {
	t.Parallel()
	p := ownSettings()
	tbl := newTable(t)
	body := strings.Repeat("1,abcdefghij\n", 100000) + "oops,not a number\n" + strings.Repeat("2,x\n", 1000)
	res, rb := post(t, with(p, "query", "INSERT INTO "+tbl+" FORMAT CSV"), body, nil)
	requireCHError(t, res, rb, 27)
	requireHealthy(t, p)
}

// A client that goes away in the middle of sending an INSERT.
func TestInsertClientGoesAway(t *testing.T) {
	t.Parallel()
	p := ownSettings()
	tbl := newTable(t)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	u := chdbtest.HTTP(t).URL + "/?" + with(p, "query", "INSERT INTO "+tbl+" FORMAT CSV").Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, pr)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = res.Body.Close()
		}
		done <- err
	}()
	for i := 0; i < 100; i++ {
		_, err := pw.Write([]byte(strings.Repeat("3,abc\n", 1000)))
		require.NoError(t, err)
	}
	cancel()
	_ = pw.CloseWithError(errors.New("client gone"))
	require.Error(t, <-done)
	requireHealthy(t, p)
}

// readPartial reads an answer that may be broken off: after a mid-stream
// exception the server closes the connection without ending the body.
func readPartial(t testing.TB, params url.Values, sql string, hdr http.Header) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, chdbtest.HTTP(t).URL+"/?"+params.Encode(), strings.NewReader(sql))
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header[k] = v
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

func TestMidStreamException(t *testing.T) {
	t.Parallel()
	// 1.6 MB of output come before the error: more than the response buffer.
	const late = "SELECT throwIf(number = 800000, 'boom') FROM numbers(1000000) SETTINGS max_block_size = 1000"
	checkTail := func(t *testing.T, res *http.Response, body []byte) {
		t.Helper()
		tag := res.Header.Get("X-ClickHouse-Exception-Tag")
		require.Len(t, tag, 16)
		s := string(body)
		i := strings.Index(s, "\r\n__exception__\r\n"+tag+"\r\n")
		require.GreaterOrEqual(t, i, 0, "no exception block in %q", s[max(0, len(s)-300):])
		assert.True(t, strings.HasSuffix(s, tag+"\r\n__exception__\r\n"), "%q", s[max(0, len(s)-300):])
		msg := s[i+len("\r\n__exception__\r\n"+tag+"\r\n"):]
		assert.True(t, strings.HasPrefix(msg, "Code: 395. DB::Exception: "), msg)
		assert.Contains(t, msg, "boom")
		// Everything before it is whole rows.
		assert.True(t, strings.HasSuffix(s[:i], "0\n"))
	}

	t.Run("TabSeparated", func(t *testing.T) {
		res, body, err := readPartial(t, url.Values{"default_format": {"TabSeparated"}}, late, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		// The response is broken off so that it cannot pass for a whole one.
		require.Error(t, err)
		checkTail(t, res, body)
	})
	t.Run("gzip", func(t *testing.T) {
		res, body, _ := readPartial(t, url.Values{"enable_http_compression": {"1"}}, late, http.Header{"Accept-Encoding": {"gzip"}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
		zr, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err, "the gzip stream is complete up to the exception")
		checkTail(t, res, plain)
	})
	t.Run("compress=1", func(t *testing.T) {
		res, body, _ := readPartial(t, url.Values{"compress": {"1"}}, late, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		plain, err := io.ReadAll(compress.NewReader(bytes.NewReader(body)))
		if err != nil {
			// ch-go's reader reports the end of the data as an error.
			require.ErrorIs(t, err, io.EOF)
		}
		checkTail(t, res, plain)
	})
	t.Run("small response buffer", func(t *testing.T) {
		// The brief's example: with the default 1 MiB response buffer the
		// error comes before anything was sent, and is an HTTP error.
		const early = "SELECT throwIf(number = 100000, 'boom') FROM numbers(200000) SETTINGS max_block_size = 1000"
		res, body := post(t, nil, early, nil)
		requireCHError(t, res, body, 395)
		assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
		res, pb, err := readPartial(t, url.Values{"http_response_buffer_size": {"1"}}, early, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Error(t, err)
		checkTail(t, res, pb)
	})
	requireHealthy(t, nil)
}

func processes(t testing.TB, marker string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(query(t,
		"SELECT count() FROM system.processes WHERE query LIKE '%"+marker+"%' AND query NOT LIKE '%system.processes%'")))
	require.NoError(t, err)
	return n
}

// A client that goes away while its query streams: the query ends, and
// the server keeps serving.
func TestClientGoesAwayWhileStreaming(t *testing.T) {
	t.Parallel()
	p := ownSettings()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := chdbtest.HTTP(t).URL + "/?" + with(p, "max_block_size", "1000").Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u,
		strings.NewReader("SELECT number FROM system.numbers WHERE number != 1234567 /* stream-away */"))
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	buf := make([]byte, 64<<10)
	_, err = io.ReadFull(res.Body, buf)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(buf, []byte("0\n1\n2\n")))
	cancel()
	_ = res.Body.Close()

	eventually(t, 30*time.Second, func() bool { return processes(t, "stream-away") == 0 }, "the streaming query still runs")
	requireHealthy(t, p)
}

// A client that goes away while its query computes inside the engine,
// producing no output: only a KILL QUERY from another connection stops it.
func TestClientGoesAwayWhileComputing(t *testing.T) {
	t.Parallel()
	p := ownSettings()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := chdbtest.HTTP(t).URL + "/?" + p.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u,
		strings.NewReader("SELECT count() FROM numbers(1000000000000) WHERE number % 7 = 3 /* compute-away */"))
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
		}
	}()
	eventually(t, 30*time.Second, func() bool { return processes(t, "compute-away") == 1 }, "the query never started")
	cancel()
	<-done
	eventually(t, 30*time.Second, func() bool { return processes(t, "compute-away") == 0 }, "the query was not killed")
	requireHealthy(t, p)
}

// A client that goes away at any moment, also before its statement has
// started in the engine (while it waits for a connection or is checked):
// no statement is left running.
func TestClientGoesAwayAtAnyMoment(t *testing.T) {
	t.Parallel()
	p := ownSettings()
	u := chdbtest.HTTP(t).URL + "/?" + p.Encode()
	var wg sync.WaitGroup
	for i := range 24 {
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u,
			strings.NewReader(fmt.Sprintf("SELECT count() FROM numbers(1000000000000) WHERE number %% 7 = %d /* away-at-any-moment */", i)))
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
			}
		}()
		// From at once to well after the statement started.
		time.Sleep(time.Duration(i%8) * time.Duration(i%8) * time.Millisecond)
		cancel()
	}
	wg.Wait()
	eventually(t, 30*time.Second, func() bool { return processes(t, "away-at-any-moment") == 0 }, "a statement outlived its client")
	requireHealthy(t, p)
}
