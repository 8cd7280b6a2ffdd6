package schema_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// The "what changed" queries against the real engine: a baseline minute
// and a window minute of one service whose calls got ten times slower and
// half of them failing once version v2 ran, on every tier alike.
func TestCompareQueries(t *testing.T) {
	e := chdbtest.Engine(t)
	ex := chdb.Executor{Engine: e}
	ctx := context.Background()
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "cmp_test", Dims: 8})
	require.NoError(t, err)
	for _, stmt := range []string{
		// Seconds 0-59 are the baseline, 60-119 the window; GET /gone runs
		// in the baseline only.
		`INSERT INTO cmp_test.otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, ServiceName, Duration, StatusCode, ResourceAttributes, SpanAttributes)
		 SELECT toDateTime64('2026-01-01 00:00:00', 9) + toIntervalSecond(number), 't' || toString(number), 's1', '',
		        multiIf(number % 3 = 0, 'GET /a', number < 60 AND number % 3 = 1, 'GET /gone', 'GET /b'), 'svc',
		        1000000 * if(number >= 60, 10, 1) + number, if(number >= 60 AND number % 2 = 0, 'Error', 'Unset'),
		        map('service.version', if(number >= 60, 'v2', 'v1')), map('tier', ['gold', 'silver'][number % 2 + 1], 'order.id', toString(number))
		 FROM numbers(120)`,
		`INSERT INTO cmp_test.log_templates (template_hash, template, service_name, severity_text, first_seen, embedding) VALUES
			(1, 'chronic <*>', 'svc', 'ERROR', '2025-12-01 00:00:00', [1,0,0,0,0,0,0,0]),
			(2, 'brand new <*>', 'svc', 'ERROR', '2026-01-01 00:01:10', [0,1,0,0,0,0,0,0])`,
		`INSERT INTO cmp_test.logs_with_embeddings_in (Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, template, template_hash, embedding_model)
		 SELECT toDateTime64('2026-01-01 00:00:00', 9) + toIntervalSecond(number * 10), 't' || toString(number * 10), '', 'ERROR', 'svc', 'chronic', 'chronic <*>', 1, ''
		 FROM numbers(12)`,
		`INSERT INTO cmp_test.logs_with_embeddings_in (Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, template, template_hash, embedding_model)
		 SELECT toDateTime64('2026-01-01 00:01:10', 9) + toIntervalSecond(number), 't' || toString(70 + number), '', 'ERROR', 'svc', 'brand new', 'brand new <*>', 2, ''
		 FROM numbers(9)`,
	} {
		require.NoError(t, ex.Exec(ctx, stmt))
	}
	conn, err := e.Acquire(ctx)
	require.NoError(t, err)
	defer e.Release(conn)
	_, err = conn.Query("USE cmp_test", "TSV")
	require.NoError(t, err)
	run := func(name string, params map[string]string) []map[string]string {
		sql, err := schema.Query(name)
		require.NoError(t, err)
		var ps []chdb.Param
		for k, v := range params {
			ps = append(ps, chdb.Param{Name: k, Value: v})
		}
		r, err := conn.Query(sql, "TSVWithNames", ps...)
		require.NoError(t, err, name)
		lines := strings.Split(strings.TrimRight(string(r.Data), "\n"), "\n")
		head := strings.Split(lines[0], "\t")
		var out []map[string]string
		for _, l := range lines[1:] {
			row := map[string]string{}
			for i, f := range strings.Split(l, "\t") {
				row[head[i]] = f
			}
			out = append(out, row)
		}
		return out
	}
	p := map[string]string{"base_start": "2026-01-01 00:00:00", "start": "2026-01-01 00:01:00", "end": "2026-01-01 00:02:00",
		"service": "", "limit": "100"}

	ops := map[string]map[string]string{}
	for _, r := range run("compare_windows_spans", p) {
		ops[r["span_name"]] = r
	}
	require.Len(t, ops, 3)
	b := ops["GET /b"]
	assert.Equal(t, []string{"40", "20", "20", "0"}, []string{b["cur"], b["base"], b["cur_errors"], b["base_errors"]})
	assert.Equal(t, "0", b["mw_u"], "every window call is slower than every baseline call")
	pv, err := strconv.ParseFloat(b["mw_p"], 64)
	require.NoError(t, err)
	assert.Less(t, pv, 1e-6)
	gone := ops["GET /gone"]
	assert.Equal(t, []string{"0", "20", "1"}, []string{gone["cur"], gone["base"], gone["mw_p"]}, "one sample only: no test")

	tpl := map[string]map[string]string{}
	for _, r := range run("compare_windows_templates", p) {
		tpl[r["template"]] = r
	}
	require.Len(t, tpl, 2)
	assert.Equal(t, []string{"6", "6"}, []string{tpl["chronic <*>"]["cur"], tpl["chronic <*>"]["base"]})
	assert.Equal(t, []string{"9", "0"}, []string{tpl["brand new <*>"]["cur"], tpl["brand new <*>"]["base"]})
	p["service"] = "other"
	assert.Empty(t, run("compare_windows_templates", p), "the service filter")
	p["service"] = ""

	attrs := func(bad string) map[string]map[string]string {
		q := map[string]string{"bad": bad, "max_values": "50"}
		for k, v := range p {
			q[k] = v
		}
		out := map[string]map[string]string{}
		for _, r := range run("compare_attributes", q) {
			out[r["key"]+"="+r["value"]] = r
		}
		return out
	}
	errs := attrs("errors")
	assert.Equal(t, []string{"30", "30"}, []string{errs["="]["bad_with"], errs["="]["good_with"]}, "the totals row")
	assert.Equal(t, []string{"30", "30"}, []string{errs["resource.service.version=v2"]["bad_with"], errs["resource.service.version=v2"]["good_with"]})
	assert.Equal(t, []string{"30", "0"}, []string{errs["tier=gold"]["bad_with"], errs["tier=gold"]["good_with"]}, "even traces fail, and they are gold")
	for k := range errs {
		assert.False(t, strings.HasPrefix(k, "order.id="), "60 values: over max_values")
	}
	slow := attrs("slow")
	assert.Equal(t, []string{"60", "0"}, []string{slow["="]["bad_with"], slow["="]["good_with"]}, "every window root is ten times the baseline's p95")
}
