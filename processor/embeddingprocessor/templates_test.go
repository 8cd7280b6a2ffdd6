package embeddingprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
	"github.com/otelcol-agentic/otelcol-agentic/internal/vecattr"
	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor/internal/metadata"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func errorLogs(bodies ...string) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for _, b := range bodies {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.Body().SetStr(b)
	}
	return ld
}

// The logs processor learns the templates stored before it started (a
// restart, or another collector), so a line gets the stored wider
// template; a template it widens while running is written to
// log_template_aliases, so readers count the older hashes as the newer.
func TestLogsTemplatesSurviveRestartAndAliasesAreStored(t *testing.T) {
	ctx := context.Background()
	db := "embedding_templates"
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: db, Dims: 8})
	require.NoError(t, err)
	require.NoError(t, ex.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.log_templates (template_hash, template, service_name, severity_text, first_seen, embedding) VALUES
		(%d, 'job failed on <*> after <*> retries', 'svc', 'ERROR', now64(9), [0,0,0,0,0,0,0,1])`, db, logtemplate.HashTemplate("job failed on <*> after <*> retries"))))

	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Logs.Templates.Store.Endpoint = chdbtest.HTTP(t).URL
	cfg.Logs.Templates.Store.Database = db
	cfg.Logs.Templates.Store.SyncInterval = time.Hour
	sink := new(consumertest.LogsSink)
	p, err := f.CreateLogs(ctx, processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(ctx, componenttest.NewNopHost()))

	require.NoError(t, p.ConsumeLogs(ctx, errorLogs(
		"job failed on alpha after 3 retries",
		"lease on shard alpha lost to a newer owner",
		"lease on shard beta lost to a newer owner",
		"lease on shard gamma lost to a newer owner",
		"lease on shard delta lost to a newer owner",
	)))
	require.NoError(t, p.Shutdown(ctx))
	recs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	tpl := func(i int) string {
		v, ok := recs.At(i).Attributes().Get(vecattr.Template)
		require.True(t, ok)
		return v.Str()
	}
	assert.Equal(t, "job failed on <*> after <*> retries", tpl(0), "the stored template, not a new one with alpha")
	assert.Equal(t, "lease on shard alpha lost to a newer owner", tpl(1))
	assert.Equal(t, "lease on shard <*> lost to a newer owner", tpl(4), "a fourth word is a value")

	// The re-pointing rides on the record (the exporter stores it with
	// the occurrences), and the miner's shutdown writes it too.
	v, ok := recs.At(4).Attributes().Get(vecattr.TemplateReplaces)
	require.True(t, ok, "the first record of the wide template carries the hashes it replaces")
	_, olds, err := vecattr.DecodeReplaces(v.Bytes().AsRaw())
	require.NoError(t, err)
	assert.ElementsMatch(t, []uint64{logtemplate.HashTemplate(tpl(1)), logtemplate.HashTemplate(tpl(2)), logtemplate.HashTemplate(tpl(3))}, olds)
	for i := 0; i < 4; i++ {
		_, ok := recs.At(i).Attributes().Get(vecattr.TemplateReplaces)
		assert.False(t, ok, "record %d's template replaces nothing", i)
	}
	got, err := ex.QueryStrings(ctx, fmt.Sprintf("SELECT toString(canonical_hash) FROM %s.log_template_canonical ORDER BY template_hash", db))
	require.NoError(t, err)
	want := fmt.Sprint(logtemplate.HashTemplate("lease on shard <*> lost to a newer owner"))
	assert.Equal(t, []string{want, want, want}, got, "alpha, beta and gamma's hashes re-pointed at shutdown")
}
