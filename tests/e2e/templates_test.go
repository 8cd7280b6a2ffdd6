package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
)

func shardErrors(names ...string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "worker")
	sl := rl.ScopeLogs().AppendEmpty()
	for i, n := range names {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetTraceID(pcommon.TraceID([16]byte{5, byte(i)}))
		lr.Body().SetStr("lease on shard " + n + " lost to a newer owner")
	}
	return ld
}

// The collector's templates outlive it: three words seen before a restart
// are learned from ClickHouse after it, so a fourth makes the position a
// value; the occurrences stored under the three old templates are
// re-pointed at the new one, and the similar-error query counts them all
// under it.
func TestCollectorTemplatesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	col := StartCollector(t, dir)
	PostLogs(t, col.OTLPHTTP, shardErrors("alpha", "beta", "gamma", "alpha"))
	col.Eventually(t, "SELECT count() FROM log_templates FINAL", func(s string) bool { return s == "3" })
	col.Stop(t)

	col = StartCollector(t, dir, "processors::embedding::logs::templates::store::sync_interval=1s")
	PostLogs(t, col.OTLPHTTP, shardErrors("delta"))
	wide := logtemplate.HashTemplate("lease on shard <*> lost to a newer owner")
	col.Eventually(t, "SELECT count() FROM log_template_canonical", func(s string) bool { return s == "3" })
	targets, err := col.Query(t.Context(), "SELECT DISTINCT canonical_hash FROM log_template_canonical")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(wide), targets)
	got := col.Eventually(t, fmt.Sprintf(`SELECT sum(occurrences) FROM log_template_stats AS s
		LEFT JOIN log_template_canonical AS a USING (template_hash)
		WHERE ifNull(nullIf(a.canonical_hash, 0), s.template_hash) = %d`, wide), func(s string) bool { return s == "5" })
	assert.Equal(t, "5", got, "four occurrences before the restart, one after, all under the wider template")
	col.Stop(t)
}

// A template's re-pointing is stored with the occurrences, not held in
// memory until a sync: the collector killed (SIGKILL) right after storing
// the line that widened a template leaves every occurrence resolving to
// the wide template, and after a restart new lines get it at once.
func TestCollectorKilledKeepsTemplateAliases(t *testing.T) {
	dir := t.TempDir()
	noSync := "processors::embedding::logs::templates::store::sync_interval=1h"
	col := StartCollector(t, dir, noSync)
	PostLogs(t, col.OTLPHTTP, shardErrors("alpha", "beta", "gamma"))
	col.Eventually(t, "SELECT count() FROM logs_with_embeddings", func(s string) bool { return s == "3" })
	PostLogs(t, col.OTLPHTTP, shardErrors("delta", "alpha"))
	col.Eventually(t, "SELECT count() FROM logs_with_embeddings", func(s string) bool { return s == "5" })
	wide := logtemplate.HashTemplate("lease on shard <*> lost to a newer owner")
	resolved := fmt.Sprintf(`SELECT count() FROM logs_with_embeddings AS o
		LEFT JOIN log_template_canonical AS a USING (template_hash)
		WHERE if(a.canonical_hash = 0, o.template_hash, a.canonical_hash) = %d`, wide)
	got, err := col.Query(t.Context(), resolved)
	require.NoError(t, err)
	assert.Equal(t, "5", got, "stored with the occurrences, before any sync")
	col.Kill(t)

	col = StartCollector(t, dir, noSync)
	PostLogs(t, col.OTLPHTTP, shardErrors("epsilon"))
	col.Eventually(t, "SELECT count() FROM logs_with_embeddings", func(s string) bool { return s == "6" })
	got, err = col.Query(t.Context(), resolved)
	require.NoError(t, err)
	assert.Equal(t, "6", got, "the restarted collector learned the wide template")
	col.Stop(t)
}
