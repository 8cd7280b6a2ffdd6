package chhttp_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

// One result per query: the answer to a result of many blocks is the answer
// to the same rows as one block, in every output format the engine lists,
// and it is the engine's own (non-streamed) answer to the same statement.

// formatTable holds rows with every column type the OTel tables use, in
// several parts (so reads run in parallel), with values that need escaping
// in every format.
const formatTable = "fmt_src"

var (
	formatTableOnce sync.Once
	outputFormats   []string
)

// formatRows is how many rows formatTable holds, in formatParts parts.
const (
	formatRows  = 240
	formatParts = 4
)

func setupFormatTable(t testing.TB) []string {
	t.Helper()
	formatTableOnce.Do(func() {
		exec(t, `CREATE TABLE `+formatTable+` (
			Id UInt64,
			Timestamp DateTime64(9),
			TraceId String,
			SpanId String,
			SeverityText LowCardinality(String),
			SeverityNumber UInt8,
			ServiceName LowCardinality(String),
			Body String,
			Duration UInt64,
			Score Float64,
			Ratio Float32,
			Maybe Nullable(String),
			MaybeNum Nullable(Int64),
			Attrs Map(LowCardinality(String), String),
			`+"`Events.Timestamp`"+` Array(DateTime64(9)),
			`+"`Events.Name`"+` Array(LowCardinality(String)),
			`+"`Events.Attributes`"+` Array(Map(LowCardinality(String), String))
		) ENGINE = MergeTree ORDER BY (ServiceName, Timestamp) SETTINGS index_granularity = 16`,
			"SYSTEM STOP MERGES "+formatTable)
		per := formatRows / formatParts
		for p := range formatParts {
			exec(t, fmt.Sprintf(`INSERT INTO `+formatTable+` SELECT
				number AS Id,
				toDateTime64('2025-03-04 05:06:07', 9, 'UTC') + toIntervalNanosecond(number * 1000003) AS Timestamp,
				lower(hex(sipHash128(number))) AS TraceId,
				lower(hex(sipHash64(number))) AS SpanId,
				['INFO', 'WARN', 'ERROR', 'DEBUG'][number %% 4 + 1] AS SeverityText,
				[9, 13, 17, 5][number %% 4 + 1] AS SeverityNumber,
				['frontend', 'checkout', 'payment', 'inventory', 'cart'][number %% 5 + 1] AS ServiceName,
				['plain body ' || toString(number), 'quote '' and "double" and \\ backslash', 'tab	and
newline', 'unicode ✓ 결제 🚀', '', '<xml attr="1">&amp;</xml>', '[1,2]', 'a,b;c|d'][number %% 8 + 1] AS Body,
				number * 1234567 AS Duration,
				number / 7 AS Score,
				toFloat32(number) / 3 AS Ratio,
				if(number %% 3 = 0, NULL, 'maybe ' || toString(number)) AS Maybe,
				if(number %% 5 = 0, NULL, toInt64(number) - 100) AS MaybeNum,
				mapFromArrays(arraySlice(['http.method', 'http.status_code', 'rum.sessionId', 'k'' "q"'], 1, number %% 5),
				              arraySlice(['GET', toString(200 + number %% 3 * 100), 'sess-' || toString(number %% 7), 'v\t\n'], 1, number %% 5)) AS Attrs,
				arrayMap(i -> Timestamp + toIntervalMicrosecond(i), range(number %% 3)) AS `+"`Events.Timestamp`"+`,
				arrayMap(i -> ['exception', 'retry', 'log'][i + 1], range(number %% 3)) AS `+"`Events.Name`"+`,
				arrayMap(i -> map('exception.message', 'boom ' || toString(i), 'exception.type', 'Err'), range(number %% 3)) AS `+"`Events.Attributes`"+`
				FROM numbers(%d, %d)`, p*per, per))
		}
		body := query(t, "SELECT name FROM system.formats WHERE is_output ORDER BY name")
		outputFormats = strings.Fields(body)
	})
	require.NotEmpty(t, outputFormats)
	return outputFormats
}

// formatQuery is one point of the generated query space.
type formatQuery struct {
	cols     []string
	where    string
	grouped  bool // GROUP BY ServiceName, SeverityText, with aggregates
	totals   bool
	ordered  bool
	limit    int // 0: none
	offset   int
	extremes bool
	throwAt  int // >= 0: throwIf(Id = throwAt) in the selected columns
	format   string
	extra    string // settings the format needs
}

var formatColumns = []string{
	"Id", "Timestamp", "TraceId", "SpanId", "SeverityText", "SeverityNumber", "ServiceName", "Body",
	"Duration", "Score", "Ratio", "Maybe", "MaybeNum", "Attrs", "`Events.Timestamp`", "`Events.Name`",
	"`Events.Attributes`", "Attrs['http.status_code'] AS status", "toDateTime(Timestamp) AS ts",
	"Duration / 1e6 AS ms", "toString(Id) AS sid",
}

var formatWheres = []string{"", "Id % 3 = 1", "ServiceName = 'payment'", "Id > 1000000", "Body LIKE '%quote%'", "Maybe IS NULL"}

// genFormatQuery draws a query from the space.
func genFormatQuery(r *rand.Rand, format string) formatQuery {
	q := formatQuery{format: format, throwAt: -1, where: formatWheres[r.IntN(len(formatWheres))]}
	if r.IntN(4) == 0 {
		q.grouped = true
		q.totals = r.IntN(2) == 0
		q.ordered = true
	} else {
		n := 1 + r.IntN(5)
		if r.IntN(5) == 0 {
			n = 1 // single-column formats (RawBLOB, Npy, LineAsString …)
		}
		perm := r.Perm(len(formatColumns))
		for _, i := range perm[:n] {
			q.cols = append(q.cols, formatColumns[i])
		}
		q.ordered = r.IntN(3) != 0
		if r.IntN(6) == 0 {
			q.throwAt = r.IntN(formatRows)
		}
	}
	if q.ordered && r.IntN(3) == 0 {
		q.limit = 1 + r.IntN(40)
		if r.IntN(2) == 0 {
			q.offset = r.IntN(20)
		}
	}
	q.extremes = r.IntN(4) == 0
	return q
}

// variant is how the rows are cut into blocks.
type variant int

const (
	fewBlocks   variant = iota // the engine's default block size
	manyBlocks                 // one row per block
	unionBlocks                // the rows from two reads of the parts, UNION ALL
)

var variants = []variant{fewBlocks, manyBlocks, unionBlocks}

func (v variant) String() string { return [...]string{"few blocks", "many blocks", "UNION ALL"}[v] }

func (q formatQuery) sql(v variant) string { return q.formatted(v, q.format) }

// selectSQL is the statement without its FORMAT and SETTINGS clauses.
func (q formatQuery) selectSQL(v variant) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if q.grouped {
		b.WriteString("ServiceName, SeverityText, count() AS n, sum(Duration) AS d, max(Timestamp) AS last, arraySort(groupUniqArray(SeverityNumber)) AS nums")
	} else {
		b.WriteString(strings.Join(q.cols, ", "))
		if q.throwAt >= 0 {
			fmt.Fprintf(&b, ", throwIf(Id = %d, 'thrown after some blocks') AS t", q.throwAt)
		}
	}
	if v == unionBlocks {
		b.WriteString(" FROM (SELECT * FROM " + formatTable + " WHERE Id % 2 = 0 UNION ALL SELECT * FROM " + formatTable + " WHERE Id % 2 = 1)")
	} else {
		b.WriteString(" FROM " + formatTable)
	}
	if q.where != "" {
		b.WriteString(" WHERE " + q.where)
	}
	switch {
	case q.grouped:
		b.WriteString(" GROUP BY ServiceName, SeverityText")
		if q.totals {
			b.WriteString(" WITH TOTALS")
		}
		b.WriteString(" ORDER BY ServiceName, SeverityText")
	case q.ordered:
		// Not the table's sort key: the whole input is sorted.
		b.WriteString(" ORDER BY Id")
	}
	if q.limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", q.limit)
		if q.offset > 0 {
			fmt.Fprintf(&b, " OFFSET %d", q.offset)
		}
	}
	return b.String()
}

// formatted is the statement with its FORMAT and SETTINGS clauses.
func (q formatQuery) formatted(v variant, format string) string {
	var b strings.Builder
	b.WriteString(q.selectSQL(v))
	b.WriteString(" FORMAT " + format)
	// Pretty formats squash blocks that arrive within a time of each other;
	// the query condition cache lets a second run read less than the first;
	// rows_before_limit_at_least is a lower bound that depends on the block
	// size unless asked to be exact.
	settings := []string{
		"output_format_pretty_squash_consecutive_ms = 600000", "output_format_pretty_squash_max_wait_ms = 600000",
		"use_query_condition_cache = 0", "exact_rows_before_limit = 1",
	}
	switch {
	case q.ordered:
		settings = append(settings, "max_threads = 4")
	case v == unionBlocks:
		// Without ORDER BY, the two reads must come one after the other.
		settings = append(settings, "max_threads = 1")
	default:
		// Without ORDER BY, parallel reads would change the order of rows.
		settings = append(settings, "max_threads = 1")
	}
	if v == manyBlocks {
		settings = append(settings, "max_block_size = 1")
	}
	if q.extremes {
		settings = append(settings, "extremes = 1")
	}
	if q.extra != "" {
		settings = append(settings, q.extra)
	}
	b.WriteString(" SETTINGS " + strings.Join(settings, ", "))
	return b.String()
}

// answer is what a client received, or what the engine returned.
type answer struct {
	status int
	code   string
	body   string
}

func (a answer) ok() bool { return a.status == http.StatusOK }

func (a answer) String() string {
	return fmt.Sprintf("status %d code %q body %.600q", a.status, a.code, a.body)
}

// httpAnswer runs sql through the HTTP interface.
func httpAnswer(t testing.TB, sql string) answer {
	t.Helper()
	res, body := post(t, url.Values{}, sql, nil)
	return answer{status: res.StatusCode, code: res.Header.Get("X-Clickhouse-Exception-Code"), body: body}
}

var (
	oracleOnce sync.Once
	oracleConn *chdb.Conn
	oracleMu   sync.Mutex
)

// engineAnswer runs sql as one whole statement on an engine connection of
// its own: the engine's own, non-streamed answer.
func engineAnswer(t testing.TB, sql string, params ...chdb.Param) answer {
	t.Helper()
	oracleOnce.Do(func() {
		c, err := chdbtest.Engine(t).NewConn(nil)
		require.NoError(t, err)
		oracleConn = c
	})
	oracleMu.Lock()
	defer oracleMu.Unlock()
	res, err := oracleConn.Query(sql, "TabSeparated", params...)
	if err != nil {
		var ce *chdb.Error
		require.ErrorAs(t, err, &ce)
		return answer{status: -1, code: strconv.Itoa(ce.Code), body: ce.Message}
	}
	return answer{status: http.StatusOK, body: string(res.Data)}
}

// blockFramed formats carry the block boundaries in their bytes: a Native
// block, an Arrow record batch, a Buffers block per block of the result. In
// ClickHouse too the bytes depend on how the result was cut, and with
// parallel reads even from run to run; what must not change is the rows.
var blockFramed = map[string]bool{"Native": true, "Arrow": true, "ArrowStream": true, "Buffers": true}

// Time is the only thing that may change between two runs of one statement;
// Avro files also carry a random sync marker. What the engine read
// (read_bytes: the in-memory size of the blocks read) depends on the block
// size in ClickHouse itself, and a UNION ALL reads the table twice.
var (
	elapsedRe   = regexp.MustCompile(`("elapsed": ?)[0-9.e+-]+|("elapsed_ns":")[0-9]+|(<elapsed>)[0-9.e+-]+`)
	bytesReadRe = regexp.MustCompile(`("bytes_read": ?"?)[0-9]+|(<bytes_read>)[0-9]+`)
	rowsReadRe  = regexp.MustCompile(`("(?:rows_read|read_rows|total_rows_to_read)": ?"?)[0-9]+|(<rows_read>)[0-9]+`)
	readBytesRe = regexp.MustCompile(`("read_bytes":")[0-9]+`)
)

func normalize(format, body string) string {
	body = elapsedRe.ReplaceAllString(body, "${1}${2}${3}0")
	if strings.HasSuffix(format, "WithProgress") {
		// A progress record goes out whenever the engine reports progress
		// while rows are written, in ClickHouse too; the last one, after
		// the rows, is the total.
		lines := strings.SplitAfter(body, "\n")
		last := -1
		for i, l := range lines {
			if strings.HasPrefix(l, `{"progress":`) {
				last = i
			}
		}
		kept := lines[:0]
		for i, l := range lines {
			if i == last || !strings.HasPrefix(l, `{"progress":`) {
				kept = append(kept, l)
			}
		}
		body = strings.Join(kept, "")
	}
	if strings.HasPrefix(format, "Avro") && len(body) > 16 {
		marker := body[len(body)-16:]
		body = strings.ReplaceAll(body, marker, strings.Repeat("\x00", 16))
	}
	return body
}

func normalizeReads(format, body string, rows bool) string {
	body = normalize(format, body)
	body = bytesReadRe.ReplaceAllString(body, "${1}${2}0")
	body = readBytesRe.ReplaceAllString(body, "${1}0")
	if rows {
		body = rowsReadRe.ReplaceAllString(body, "${1}${2}0")
	}
	return body
}

// decoded reads a block-framed answer back with the engine's own reader.
func decoded(t testing.TB, q formatQuery, body string) string {
	t.Helper()
	desc := engineAnswer(t, "DESCRIBE ("+q.selectSQL(fewBlocks)+") FORMAT TSV")
	require.True(t, desc.ok(), "%v", desc)
	var cols []string
	for _, line := range strings.Split(strings.TrimSuffix(desc.body, "\n"), "\n") {
		f := strings.Split(line, "\t")
		cols = append(cols, "`"+f[0]+"` "+f[1])
	}
	format := q.format
	// A parameter's value is read as TabSeparated text reads a field.
	escaped := strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n", "\r", "\\r", "\x00", "\\0").Replace(body)
	a := engineAnswer(t, "SELECT * FROM format("+format+", {s:String}, {d:String}) FORMAT TSVWithNamesAndTypes",
		chdb.Param{Name: "s", Value: strings.Join(cols, ", ")}, chdb.Param{Name: "d", Value: escaped})
	if !a.ok() && a.code == "10" && strings.Contains(a.body, "There are only columns: .") {
		// The reader finds no block at all (an empty Native answer, an
		// Arrow stream with a schema and no batch): no rows.
		return "no rows"
	}
	require.True(t, a.ok(), "read %s back: %v", format, a)
	return a.body
}

// checkFormatQuery runs q in every variant through the HTTP interface and
// as the engine's own whole statement, and compares.
func checkFormatQuery(t testing.TB, q formatQuery) {
	t.Helper()
	f := q.format
	var h, e [3]answer
	for _, v := range variants {
		h[v] = httpAnswer(t, q.sql(v))
		e[v] = engineAnswer(t, q.sql(v))
	}
	// The answer is the engine's own answer to the statement: an error is
	// answered with its code and message.
	for _, v := range variants {
		hv, ev := h[v], e[v]
		if !ev.ok() {
			require.False(t, hv.ok(), "%s (%v): the engine fails but HTTP answers 200\n%s\nengine: %v", f, v, q.sql(v), ev)
			if racingErrors(q, ev, hv) {
				continue
			}
			require.Equal(t, ev.code, hv.code, "%s (%v): %s\nhttp: %v", f, v, q.sql(v), hv)
			require.Equal(t, exceptionText(ev.body), exceptionText(hv.body), "%s (%v): %s", f, v, q.sql(v))
			continue
		}
		require.True(t, hv.ok(), "%s (%v): the engine answers, HTTP fails\n%s\nhttp: %v", f, v, q.sql(v), hv)
		if blockFramed[f] {
			require.Equal(t, decoded(t, q, ev.body), decoded(t, q, hv.body), "%s (%v): %s", f, v, q.sql(v))
			continue
		}
		require.Equal(t, normalize(f, ev.body), normalize(f, hv.body), "%s (%v): HTTP is not the engine's answer\n%s\n%s", f, v, q.sql(v), diffAt(normalize(f, ev.body), normalize(f, hv.body)))
	}
	// The same rows cut into many blocks, or read twice and put together,
	// give the same answer.
	for _, v := range []variant{manyBlocks, unionBlocks} {
		if v == unionBlocks && (!q.ordered || q.throwAt >= 0) {
			// Without ORDER BY the two reads interleave in no particular
			// order; with a throwIf, the plan decides which rows it sees.
			continue
		}
		a, b := h[fewBlocks], h[v]
		if !a.ok() || !b.ok() {
			require.Equal(t, a.ok(), b.ok(), "%s: %v and %v disagree on failing\n%s\n%v\n%v", f, fewBlocks, v, q.sql(v), a, b)
			if racingErrors(q, a, b) {
				continue
			}
			require.Equal(t, exceptionText(a.body), exceptionText(b.body), "%s: %v and %v fail differently\n%s", f, fewBlocks, v, q.sql(v))
			continue
		}
		if blockFramed[f] {
			require.Equal(t, decoded(t, q, a.body), decoded(t, q, b.body), "%s: %v and %v hold different rows\n%s", f, fewBlocks, v, q.sql(v))
			continue
		}
		x, y := normalizeReads(f, a.body, v == unionBlocks), normalizeReads(f, b.body, v == unionBlocks)
		require.Equal(t, x, y, "%s: %v and %v differ\n%s\n%s", f, fewBlocks, v, q.sql(v), diffAt(x, y))
	}
}

// exceptionWrapping is what an exception's message gains as it is passed
// on: a code prefix, the version, the code's name. How often depends on the
// thread that caught it (a formatting thread wraps it once more).
var exceptionWrapping = regexp.MustCompile(`Code: \d+\. DB::Exception: |\.? \(version [^)]*\)|\. \([A-Z_]+\)|\n$`)

// exceptionText is an exception's own message.
func exceptionText(msg string) string { return exceptionWrapping.ReplaceAllString(msg, "") }

// codeThrowIf is FUNCTION_THROW_IF_VALUE_IS_NON_ZERO.
const codeThrowIf = "395"

// racingErrors reports two failures of a query that throws mid-stream in a
// format that refuses its columns: which of the two errors comes first
// depends on which pipeline thread gets there first, in ClickHouse as here.
func racingErrors(q formatQuery, a, b answer) bool {
	return q.throwAt >= 0 && a.code != b.code && (a.code == codeThrowIf || b.code == codeThrowIf)
}

// formatExtras are the settings some formats need to format anything.
var formatExtras = map[string]string{
	"Template":        "format_template_row_format = 'id=${Id:Quoted} body=${Body:JSON}', format_template_resultset_format = 'rows: ${data} n=${rows} ${rows_before_limit}'",
	"CustomSeparated": "format_custom_field_delimiter = '<F>', format_custom_row_before_delimiter = '<R>', format_custom_result_before_delimiter = '<B>', format_custom_result_after_delimiter = '<A>'",
}

// formatQueriesPerFormat is how many generated queries TestFormatsOneResult
// runs in each format; the fuzz target draws as many more as it is given time.
const formatQueriesPerFormat = 4

func TestFormatsOneResult(t *testing.T) {
	t.Parallel()
	formats := setupFormatTable(t)
	r := rand.New(rand.NewPCG(15, 2025))
	for _, f := range formats {
		qs := make([]formatQuery, formatQueriesPerFormat)
		for i := range qs {
			qs[i] = genFormatQueryFor(r, f)
		}
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			for _, q := range qs {
				checkFormatQuery(t, q)
			}
		})
	}
}

// genFormatQueryFor draws a query and gives it what its format needs.
func genFormatQueryFor(r *rand.Rand, format string) formatQuery {
	q := genFormatQuery(r, format)
	q.extra = formatExtras[format]
	if format == "Template" && !q.grouped {
		q.cols = []string{"Id", "Body"}
	}
	return q
}

// FuzzFormatsOneResult draws queries from the same space: any format, any
// columns, filters, limits, totals, extremes and errors thrown mid-stream.
func FuzzFormatsOneResult(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, uint8(i*13))
	}
	f.Fuzz(func(t *testing.T, seed uint64, format uint8) {
		formats := setupFormatTable(t)
		r := rand.New(rand.NewPCG(seed, uint64(format)))
		checkFormatQuery(t, genFormatQueryFor(r, formats[int(format)%len(formats)]))
	})
}

func diffAt(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(a) && i == len(b) {
		return "same"
	}
	from := max(0, i-80)
	return fmt.Sprintf("first difference at byte %d (lengths %d, %d): %q | %q", i, len(a), len(b), a[from:min(len(a), i+80)], b[from:min(len(b), i+80)])
}
