package chhttp_test

import (
	"bytes"
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chhttp"
)

var (
	fuzzOnce   sync.Once
	fuzzServer *chhttp.Server
	fuzzErr    error
)

// fuzzTarget is a server with a small body limit over the shared engine, and
// a sink table that keeps nothing.
func fuzzTarget(t testing.TB) *chhttp.Server {
	fuzzOnce.Do(func() {
		e := chdbtest.Engine(t)
		if fuzzErr = e.Exec(t.Context(), "CREATE TABLE IF NOT EXISTS fuzz_sink (a UInt64, s String, m Map(String, String), v Array(Float32)) ENGINE = Null"); fuzzErr != nil {
			return
		}
		fuzzServer, fuzzErr = chhttp.New(e, chhttp.Config{MaxBodyBytes: 1 << 20, MaxConns: 2})
	})
	require.NoError(t, fuzzErr)
	return fuzzServer
}

// The statements the fuzzer's requests run: fixed and harmless, whatever
// the URL, headers and body say. The body is only ever INSERT data.
var fuzzStatements = []string{
	"INSERT INTO fuzz_sink FORMAT Native",
	"INSERT INTO fuzz_sink FORMAT RowBinary",
	"INSERT INTO fuzz_sink FORMAT CSV",
	"INSERT INTO fuzz_sink FORMAT TSV",
	"INSERT INTO fuzz_sink FORMAT JSONEachRow",
	"SELECT {p:String} AS p, {n:UInt8} AS n FORMAT TSV",
}

var fuzzContentTypes = []string{"", "text/plain", "application/octet-stream", "multipart/form-data; boundary=XyZ"}

func FuzzRequestDecoding(f *testing.F) {
	block := compress.NewWriter(compress.LevelZero, compress.LZ4)
	require.NoError(f, block.Compress([]byte("1,a\n2,b\n")))
	f.Add("", "", []byte("1,a,{},[]\n"), uint8(2))
	f.Add("decompress=1&max_block_size=10", "", append([]byte(nil), block.Data...), uint8(2))
	f.Add("param_p=x&param_n=7&compress=1&client_protocol_version=54460", "", []byte{}, uint8(5))
	f.Add("param_p=%FF%00&param_n=300", "", []byte{}, uint8(5))
	f.Add("enable_http_compression=1&wait_end_of_query=1", "gzip", []byte("\x1f\x8b\x08\x00garbage"), uint8(3))
	f.Add("no_such_setting=1", "br", []byte("\xff\xff"), uint8(4))
	f.Add("user=alice&password=secret", "zstd", []byte("\x28\xb5\x2f\xfd\x00"), uint8(0))
	f.Add("readonly=1&database=nope", "deflate", []byte("x\x9c"), uint8(1))
	f.Add("param_n=1", "", []byte("--XyZ\r\nContent-Disposition: form-data; name=\"param_p\"\r\n\r\nfrom form\r\n--XyZ--\r\n"), uint8(5+6*3))
	f.Add("t_structure=a+UInt8", "", []byte{}, uint8(5))
	f.Add("decompress=1", "gzip", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"), uint8(0))

	f.Fuzz(func(t *testing.T, rawQuery, contentEncoding string, body []byte, pick uint8) {
		srv := fuzzTarget(t)
		stmt := fuzzStatements[int(pick)%len(fuzzStatements)]
		ctype := fuzzContentTypes[int(pick)/len(fuzzStatements)%len(fuzzContentTypes)]
		if strings.HasPrefix(stmt, "SELECT") && !strings.HasPrefix(ctype, "multipart/") {
			// A body after a query parameter is more of the statement; only
			// INSERT bodies are data.
			body = nil
		}
		if strings.HasPrefix(ctype, "multipart/") && multipartHasQuery(ctype, body) {
			t.Skip("a multipart query field would replace the fixed statement")
		}
		q, _ := url.ParseQuery(rawQuery)
		q.Del("query")
		q.Set("query", stmt)
		req := httptest.NewRequest(http.MethodPost, "/?"+q.Encode(), bytes.NewReader(body))
		if contentEncoding != "" {
			req.Header.Set("Content-Encoding", contentEncoding)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				// A response broken off after a mid-stream exception.
				if r := recover(); r != nil && r != http.ErrAbortHandler {
					panic(r)
				}
			}()
			srv.ServeHTTP(rec, req)
		}()
		require.GreaterOrEqual(t, rec.Code, 200)
		require.Less(t, rec.Code, 600)
		if rec.Code != http.StatusOK {
			assert.NotEmpty(t, rec.Header().Get("X-ClickHouse-Exception-Code"))
			assert.True(t, strings.HasPrefix(rec.Body.String(), "Code: "), rec.Body.String())
		}
	})
}

// multipartHasQuery reports whether a multipart body carries a query field,
// read as the server reads it.
func multipartHasQuery(ctype string, body []byte) bool {
	_, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return false
		}
		if p.FormName() == "query" {
			return true
		}
		if _, err := bytes.NewBuffer(nil).ReadFrom(p); err != nil && !errors.Is(err, multipart.ErrMessageTooLarge) {
			return false
		}
	}
}
