package mcp

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Read-only is ClickHouse's answer to readonly=1 and to the agent user's
// missing grants, not a filter of ours: every refusal below carries
// ClickHouse's own reason.
func TestReadOnlyIsEnforcedByClickHouse(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	out := filepath.Join(t.TempDir(), "exfil.csv")
	ctx := context.Background()
	count := func() uint64 {
		var n uint64
		require.NoError(t, writer(t, d.db).QueryRow(ctx, "SELECT count() FROM otel_logs").Scan(&n))
		return n
	}
	before := count()

	const readonly, denied = "read-only (readonly=1)", "ClickHouse denied access"
	for _, tc := range []struct{ sql, want, advice string }{
		{"INSERT INTO otel_logs (Body) VALUES ('x')", "Cannot execute query in readonly mode", readonly},
		{"ALTER TABLE otel_logs DELETE WHERE 1", "Cannot execute query in readonly mode", readonly},
		{"DROP TABLE otel_logs", "Cannot execute query in readonly mode", readonly},
		{"TRUNCATE TABLE otel_logs", "Cannot execute query in readonly mode", readonly},
		{"CREATE TABLE t (a Int) ENGINE = Memory", "Cannot execute query in readonly mode", readonly},
		{"SYSTEM DROP MARK CACHE", "necessary to have the grant SYSTEM DROP MARK CACHE", denied},
		{"SET readonly = 0", "Cannot modify 'readonly' setting in readonly mode", readonly},
		{"SELECT 1 SETTINGS readonly = 0", "Cannot modify 'readonly' setting in readonly mode", readonly},
		// The engine itself lets `= DEFAULT` through; the HTTP interface does not.
		{"INSERT INTO otel_logs (Body) SETTINGS readonly = DEFAULT VALUES ('x')", "Cannot modify 'readonly' setting in readonly mode", readonly},
		{"SELECT count() FROM otel_logs SETTINGS max_result_rows = 0", "Cannot modify 'max_result_rows' setting in readonly mode", readonly},
		{"SELECT 1; DROP TABLE otel_logs", "Multi-statements are not allowed", ""},
		{"INSERT INTO FUNCTION file('" + out + "', 'CSV', 'a String') SELECT Body FROM otel_logs", "necessary to have the grant WRITE ON FILE", denied},
		{"SELECT * FROM file('/etc/passwd', 'LineAsString')", "necessary to have the grant READ ON FILE", denied},
		{"SELECT file('/etc/passwd')", "necessary to have the grant READ ON FILE", denied},
		{"SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')", "necessary to have the grant READ ON URL", denied},
		{"SELECT * FROM executable('id', 'TSV', 'a String')", "Cannot execute query in readonly mode", readonly},
		{"SELECT 1 INTO OUTFILE '" + out + "'", "INTO OUTFILE is not allowed", ""},
		{"KILL QUERY WHERE 1", "necessary to have the grant KILL QUERY", denied},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			msg := callError(t, h, ToolRunSelectQuery, map[string]any{"sql": tc.sql})
			assert.Contains(t, msg, tc.want)
			if tc.advice != "" {
				assert.Contains(t, msg, tc.advice)
			}
			assert.NotContains(t, msg, "default:", "the message names the agent, not the engine's user")
		})
	}
	// The same statements through estimate_query are refused too.
	assert.Contains(t, callError(t, h, ToolEstimateQuery, map[string]any{"sql": "SELECT 1; DROP TABLE otel_logs"}), "Multi-statements are not allowed")

	assert.Equal(t, before, count(), "nothing was written")
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err), "no file was written")
	tables := call[ListTablesOutput](t, h, ToolListTables, map[string]any{"like": "otel_logs"})
	assert.Len(t, tables.Tables, 1)
}

// Tool arguments are ClickHouse query parameters, never SQL text.
func TestInjectionThroughArgumentsIsHarmless(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	evil := "x' OR 1=1 --"

	sum := call[ErrorSummaryOutput](t, h, ToolErrorSummary, map[string]any{"service": evil, "window": "1h"})
	assert.Empty(t, sum.Services, "no service has that name")
	assert.Contains(t, sum.Notice, "no logs or requests")

	sim := call[FindSimilarErrorsOutput](t, h, ToolFindSimilarErrors, map[string]any{"text": "timed out acquiring connection from pool", "service": evil})
	assert.Empty(t, sim.Hits)

	rc := call[AnalyzeRootCauseOutput](t, h, ToolAnalyzeRootCause, map[string]any{"service": evil, "window": "30m"})
	assert.Zero(t, rc.Symptom.FailingTraces)

	an := call[DetectAnomalousTracesOutput](t, h, ToolDetectAnomalousTraces, map[string]any{"service": evil})
	assert.Empty(t, an.Top)

	lt := callError(t, h, ToolListTables, map[string]any{"like": "%' OR 1=1 --"})
	assert.Contains(t, lt, "has no tables")
	assert.Contains(t, callError(t, h, ToolListTables, map[string]any{"database": "system' OR '1'='1"}), "has no tables")
	assert.Contains(t, callError(t, h, ToolDescribeTable, map[string]any{"table": "otel_logs' OR '1'='1"}), "no table")
	assert.Contains(t, callError(t, h, ToolGetTrace, map[string]any{"trace_id": "' OR 1=1 --"}), "32 hex digits")
	se := call[GetSessionOutput](t, h, ToolGetSession, map[string]any{"session_id": "' OR 1=1 --"})
	assert.Nil(t, se.Session)
	assert.False(t, se.Replay.Available)

	// Backslashes, tabs and newlines stay data too.
	for _, s := range []string{`inventory\`, "inven\ttory", "inventory\n", `\'`} {
		sum := call[ErrorSummaryOutput](t, h, ToolErrorSummary, map[string]any{"service": s})
		assert.Empty(t, sum.Services, "%q", s)
	}
	_ = d
}

func TestResultBudgets(t *testing.T) {
	h, _ := onDataset(t, poolExhaustion)

	res := call[QueryResult](t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT number FROM numbers(3000000)"})
	assert.Len(t, res.Rows, 1000)
	assert.True(t, res.Truncated)
	assert.Contains(t, res.Notice, "result cut at 1000 rows")
	assert.Equal(t, float64(999), res.Rows[999][0])

	res = call[QueryResult](t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT number FROM numbers(3000000)", "max_rows": 10})
	assert.Len(t, res.Rows, 10)
	assert.True(t, res.Truncated)

	res = call[QueryResult](t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT number FROM numbers(1000)"})
	assert.Len(t, res.Rows, 1000)
	assert.False(t, res.Truncated, "exactly the limit is not a cut")

	// Wide rows hit the output budget before the row limit.
	res = call[QueryResult](t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT repeat('x', 10000) AS s FROM numbers(1000)"})
	assert.True(t, res.Truncated)
	assert.Less(t, len(res.Rows), 100)
	assert.Contains(t, res.Notice, "output budget")

	assert.Contains(t, callError(t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT 1", "max_rows": 5000}), "maximum")
}

func TestSlowQueryStopsAtTheTimeLimit(t *testing.T) {
	d := loadDataset(t, poolExhaustion)
	cfg := testConfig(t, d.db)
	cfg.Limits.MaxExecutionTime = 2 * time.Second
	h := connect(t, cfg, d.now)
	start := time.Now()
	msg := callError(t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT count() FROM numbers(5e9) WHERE sipHash64(number) = 0"})
	assert.Contains(t, msg, "ClickHouse stopped the query at the time limit (max_execution_time=2s)")
	assert.Contains(t, msg, "Timeout exceeded")
	assert.Contains(t, msg, "estimate_query")
	t.Logf("stopped after %s", time.Since(start))

	msg = callError(t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT sleepEachRow(0.5) FROM numbers(100)"})
	assert.Contains(t, msg, "time limit")
}

// The agent user's budgets hold whatever the query: rows read and memory,
// set by the collector and not raisable by the agent.
func TestAgentBudgets(t *testing.T) {
	h, _ := onDataset(t, poolExhaustion)
	msg := callError(t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT count() FROM numbers(1e12)"})
	assert.Contains(t, msg, "Limit for rows (controlled by 'max_rows_to_read' setting) exceeded")
	assert.Contains(t, msg, "touches more data than allowed")

	msg = callError(t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT length(groupArray(number)) FROM numbers(300000000)"})
	assert.Contains(t, msg, "memory limit exceeded")
	assert.Contains(t, msg, "ran out of memory")

	msg = callError(t, h, ToolRunSelectQuery, map[string]any{"sql": "SELECT length(groupArray(number)) FROM numbers(300000000) SETTINGS max_memory_usage = DEFAULT"})
	assert.Contains(t, msg, "Cannot modify 'max_memory_usage' setting in readonly mode")
}
