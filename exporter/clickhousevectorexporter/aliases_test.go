package clickhousevectorexporter

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/metadata"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
	"github.com/otelcol-agentic/otelcol-agentic/internal/vecattr"
	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor"
)

func bodies(bs ...string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "ledger")
	sl := rl.ScopeLogs().AppendEmpty()
	for _, b := range bs {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.Body().SetStr(b)
	}
	return ld
}

// failFirstReplacing refuses, once, a batch that carries a re-pointing:
// the exporter's first attempt at that batch failed (ClickHouse away,
// the collector killed), and the spool sends the batch again.
type failFirstReplacing struct {
	next   consumer.Logs
	failed bool
}

func (f *failFirstReplacing) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (f *failFirstReplacing) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	carries := false
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		if _, ok := recs.At(i).Attributes().Get(vecattr.TemplateReplaces); ok {
			carries = true
		}
	}
	if carries && !f.failed {
		f.failed = true
		return errors.New("ClickHouse away")
	}
	return f.next.ConsumeLogs(ctx, ld)
}

// The re-pointing of a template's older hashes is stored in the same push
// as the occurrences under its new hash, not buffered in memory: a batch
// whose first attempt failed stores it when sent again, every occurrence
// resolves to the template at once, without the miner's sync or shutdown,
// and a miner started afresh (the collector killed and started again)
// learns the wider template.
func TestAliasesAreStoredWithTheirOccurrences(t *testing.T) {
	ctx := context.Background()
	db := "vec_aliases"
	cfg := testConfig(t, db)
	exp, err := NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(ctx)) })

	pf := embeddingprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*embeddingprocessor.Config)
	pcfg.Logs.Templates.Store.Endpoint = chdbtest.HTTP(t).URL
	pcfg.Logs.Templates.Store.Database = db
	pcfg.Logs.Templates.Store.SyncInterval = time.Hour // no sync during the test
	flaky := &failFirstReplacing{next: exp}
	newProcessor := func() processor.Logs {
		p, err := pf.CreateLogs(ctx, processortest.NewNopSettings(pf.Type()), pcfg, flaky)
		require.NoError(t, err)
		require.NoError(t, p.Start(ctx, componenttest.NewNopHost()))
		return p
	}
	p := newProcessor()
	line := func(w string) string { return "lease on shard " + w + " lost to a newer owner" }
	require.NoError(t, p.ConsumeLogs(ctx, bodies(line("alpha"), line("beta"))))
	require.NoError(t, p.ConsumeLogs(ctx, bodies(line("gamma"))))
	// A fourth word makes the position a value: the wide template replaces
	// the three. The first attempt fails; the batch is sent again.
	generalising := bodies(line("delta"), line("alpha"))
	require.Error(t, p.ConsumeLogs(ctx, generalising))
	require.NoError(t, p.ConsumeLogs(ctx, generalising))

	wide := logtemplate.HashTemplate(line("<*>"))
	conn := openConn(t, cfg)
	resolved := func() map[uint64]uint64 {
		rows, err := conn.Query(ctx, `SELECT if(a.canonical_hash = 0, o.template_hash, a.canonical_hash) AS h, count()
			FROM logs_with_embeddings AS o LEFT JOIN log_template_canonical AS a USING (template_hash) GROUP BY h`)
		require.NoError(t, err)
		defer rows.Close()
		out := map[uint64]uint64{}
		for rows.Next() {
			var h, n uint64
			require.NoError(t, rows.Scan(&h, &n))
			out[h] = n
		}
		require.NoError(t, rows.Err())
		return out
	}
	// Before any sync or shutdown: nothing waits in memory.
	assert.Equal(t, map[uint64]uint64{wide: 5}, resolved(), "every occurrence resolves to the wide template")
	// The wide template is embedded as its own text.
	var vec []float32
	require.NoError(t, conn.QueryRow(ctx, "SELECT embedding FROM log_templates FINAL WHERE template_hash = ?", wide).Scan(&vec))
	assert.InDeltaSlice(t, embed.NewHash(384).EmbedOne(line("<*>")), vec, 1e-6, "the wide template's vector is its text's")
	var stored uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM logs_with_embeddings WHERE template_hash != ?", wide).Scan(&stored))
	assert.Equal(t, uint64(3), stored, "the three lines before the widening are stored under their own hashes")

	// The collector killed: this processor is dropped without its
	// shutdown; a new one learns the stored templates.
	p2 := newProcessor()
	require.NoError(t, p2.ConsumeLogs(ctx, bodies(line("epsilon"))))
	require.NoError(t, p2.Shutdown(ctx))
	require.NoError(t, p.Shutdown(ctx))
	assert.Equal(t, map[uint64]uint64{wide: 6}, resolved(), "the restarted miner gives the wide template at once")
	var aliases uint64
	require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM log_template_canonical WHERE canonical_hash = %d", wide)).Scan(&aliases))
	assert.Equal(t, uint64(3), aliases)
}

// A flood of unique error lines through the embedding processor and this
// exporter leaves log_templates bounded: the lines are stored, each under
// the overflow template once the budget of new templates is spent, while
// a recurring event keeps its template.
func TestUniqueFloodKeepsLogTemplatesBounded(t *testing.T) {
	ctx := context.Background()
	db := "vec_flood"
	cfg := testConfig(t, db)
	exp, err := NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(ctx)) })
	pf := embeddingprocessor.NewFactory()
	p, err := pf.CreateLogs(ctx, processortest.NewNopSettings(pf.Type()), pf.CreateDefaultConfig(), exp)
	require.NoError(t, err)
	require.NoError(t, p.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(ctx)) })

	const flood, batch = 200000, 10000
	words := []string{"amber", "basil", "cedar", "delta", "ember", "fjord", "grove", "heron", "indigo", "juniper", "kestrel", "lumen"}
	word := func(i int) string { // a word no other line has: letters only, so no mask takes it
		var b []byte
		for ; i > 0 || len(b) == 0; i /= 26 {
			b = append(b, byte('a'+i%26))
		}
		return string(b)
	}
	recurring := 0
	for lo := 0; lo < flood; lo += batch {
		var bs []string
		for i := lo; i < lo+batch; i++ {
			switch i % 3 {
			case 0: // an id as the whole message
				bs = append(bs, fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15))
			default: // words never seen before
				bs = append(bs, fmt.Sprintf("%s %s %s", word(i), words[i%len(words)], word(i+flood)))
			}
			if i%50 == 0 {
				bs = append(bs, fmt.Sprintf("payment %d declined: card expired", i))
				recurring++
			}
		}
		require.NoError(t, p.ConsumeLogs(ctx, bodies(bs...)))
	}
	conn := openConn(t, cfg)
	var templates, occurrences, overflowed, declined uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM log_templates FINAL").Scan(&templates))
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM logs_with_embeddings").Scan(&occurrences))
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM logs_with_embeddings WHERE template_hash = ?", logtemplate.OverflowHash).Scan(&overflowed))
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM logs_with_embeddings WHERE template = 'payment <*> declined: card expired'").Scan(&declined))
	t.Logf("%d unique lines and %d recurring: %d rows in log_templates, %d occurrences, %d under the overflow template", flood, recurring, templates, occurrences, overflowed)
	assert.Equal(t, uint64(flood+recurring), occurrences, "every line stored")
	def := logtemplate.DefaultMinerConfig()
	assert.LessOrEqual(t, templates, uint64(def.NewTemplates+(flood+recurring)/def.RefillEvery+2))
	assert.Greater(t, overflowed, uint64(flood/2))
	assert.Equal(t, uint64(recurring), declined, "the recurring event keeps its template")
}
