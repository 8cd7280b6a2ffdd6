package search

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

// Stored templates are analysed by ClickHouse (migration 0009's
// materialized columns) and queries by Terms: on real log lines both must
// give the same terms, or a query word would miss the template that holds
// it. ClickHouse is the oracle here.
func TestTermsMatchClickHouse(t *testing.T) {
	texts := []string{
		"NullPointerException at com.shop.UserService.getUserById(UserService.java:42)",
		"HTTPServerError ipv4Addr get_user_by_id XMLHttpRequest IOError getHTTPResponseCode",
		"dial tcp <*>: connect: <IP> refused after <NUM>ms; <*> <**> <a-b.c:d> <not a placeholder>",
		"결제 시간초과가 발생했습니다: DB연결풀 고갈 (커넥션 10/10)",
		"Ünïcödé ÉCOLE naïveCafé straße ΑΒΓΔ δέλτα Привет мир",
		"1234567 12345 0x1f3a ord-00012 3.14159 v2.3.1",
		"", "   ", "<*>", "a b c",
	}
	texts = append(texts, shopBodies(t)...)
	texts = append(texts, loghubLines(t)...)
	e := chdbtest.Engine(t)
	ctx := context.Background()
	conn, err := e.Acquire(ctx)
	require.NoError(t, err)
	defer e.Release(conn)
	for start := 0; start < len(texts); start += 2000 {
		batch := texts[start:min(start+2000, len(texts))]
		b, err := json.Marshal(batch)
		require.NoError(t, err)
		res, err := conn.Query("SELECT "+TermsSQL("x")+" AS terms, "+TypeTermsSQL("x")+" AS type_terms FROM (SELECT arrayJoin(JSONExtract({texts:String}, 'Array(String)')) AS x)",
			"JSONEachRow", chdb.Param{Name: "texts", Value: strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`).Replace(string(b))})
		require.NoError(t, err)
		sc := bufio.NewScanner(strings.NewReader(string(res.Data)))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		i := 0
		for sc.Scan() {
			var row struct {
				Terms     []string `json:"terms"`
				TypeTerms []string `json:"type_terms"`
			}
			require.NoError(t, json.Unmarshal(sc.Bytes(), &row))
			text := batch[i]
			want := Terms(text)
			if !slices.Equal(want, row.Terms) && len(want)+len(row.Terms) > 0 {
				assert.Equal(t, want, row.Terms, "terms of %q", text)
			}
			wantType := TypeTerms(text)
			if !slices.Equal(wantType, row.TypeTerms) && len(wantType)+len(row.TypeTerms) > 0 {
				assert.Equal(t, wantType, row.TypeTerms, "type terms of %q", text)
			}
			i++
		}
		require.Equal(t, len(batch), i)
	}
	t.Logf("%d texts analysed alike by Go and ClickHouse", len(texts))
}

func shopBodies(t *testing.T) []string {
	f, err := os.Open(filepath.Join("..", "..", "demo", "searcheval", "testdata", "shop_errors.tsv"))
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		if fields := strings.SplitN(sc.Text(), "\t", 4); len(fields) == 4 && !strings.HasPrefix(fields[0], "#") {
			out = append(out, strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n").Replace(fields[3]))
		}
	}
	return out
}

// loghubLines are the Loghub 2k samples' lines when they are on this
// machine (LOGHUB2K_DIR or the shared data folder).
func loghubLines(t *testing.T) []string {
	dir := os.Getenv("LOGHUB2K_DIR")
	if dir == "" {
		for _, d := range []string{"../../../shared/data/loghub2k", "../../../../shared/data/loghub2k"} {
			if _, err := os.Stat(d); err == nil {
				dir = d
			}
		}
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*_2k.log_structured_corrected.csv"))
	if len(paths) == 0 {
		t.Log("Loghub samples not found: comparing on the shop's messages and the hand-picked texts only")
		return nil
	}
	var out []string
	for _, p := range paths {
		f, err := os.Open(p)
		require.NoError(t, err)
		r := csv.NewReader(f)
		header, err := r.Read()
		require.NoError(t, err)
		ci := slices.Index(header, "Content")
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			out = append(out, rec[ci])
		}
		f.Close()
	}
	return out
}
