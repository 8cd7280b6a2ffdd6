package templatestore

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// loghubContent reads the Content column of one public Loghub 2k sample.
func loghubContent(t *testing.T, system string) []string {
	t.Helper()
	dir := os.Getenv("LOGHUB2K_DIR")
	if dir == "" {
		dir = "../../../shared/data/loghub2k"
	}
	fh, err := os.Open(filepath.Join(dir, system+"_2k.log_structured_corrected.csv"))
	if err != nil {
		t.Skipf("Loghub 2k data not found (%v): set LOGHUB2K_DIR", err)
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	require.NoError(t, err)
	ci := -1
	for i, h := range recs[0] {
		if h == "Content" {
			ci = i
		}
	}
	require.GreaterOrEqual(t, ci, 0)
	var out []string
	for _, rec := range recs[1:] {
		out = append(out, rec[ci])
	}
	return out
}

// collector is what one collector does with templates: the embedding
// processor's miner and store, and (standing in for the clickhouse_vector
// exporter) a log_templates row for each template hash new to it and the
// re-pointings its lines carry.
type collector struct {
	m        *logtemplate.Miner
	st       *Store
	stored   map[uint64]bool
	replaced map[uint64]int // hashes replaced, by template, already written
	rows     []string
}

func (c *collector) add(line string) uint64 {
	r := c.m.Add(line)
	if len(r.Replaces) > c.replaced[r.Hash] {
		c.st.Alias(r.Replaces, r.Hash)
		c.replaced[r.Hash] = len(r.Replaces)
	}
	if !c.stored[r.Hash] {
		c.stored[r.Hash] = true
		c.rows = append(c.rows, fmt.Sprintf("(%d, '%s', 'svc', 'ERROR', now64(9), [0,0,0,0,0,0,0,1])", r.Hash, strings.ReplaceAll(strings.ReplaceAll(r.Template, `\`, `\\`), `'`, `\'`)))
	}
	return r.Hash
}

func (c *collector) export(t *testing.T, ex schema.Executor, db string) {
	if len(c.rows) == 0 {
		return
	}
	require.NoError(t, ex.Exec(context.Background(), fmt.Sprintf(
		"INSERT INTO %s.log_templates (template_hash, template, service_name, severity_text, first_seen, embedding) VALUES %s", db, strings.Join(c.rows, ","))))
	c.rows = nil
}

// Two collectors fed disjoint halves of one stream (alternating chunks of
// three public Loghub systems), syncing through one database as they run,
// end with the same templates: every line gets the same hash from both,
// and every hash a line was stored under resolves (log_template_canonical)
// to that hash.
func TestTwoCollectorsOnHalvesAgree(t *testing.T) {
	lines := append(loghubContent(t, "HDFS"), loghubContent(t, "Zookeeper")...)
	lines = append(lines, loghubContent(t, "OpenSSH")...)
	// Plus an event whose variable word each half sees only two values of:
	// alone, each keeps them as constants; together they are four, a value.
	const chunk = 250
	names := []string{"alpha", "gamma", "beta", "delta"}
	for i := 0; i < 8; i++ {
		at := i*chunk + 7 // chunk i goes to collector i%2
		lines = slices.Insert(lines, at, "lease on shard "+names[i%4]+" lost to a newer owner")
	}
	ctx := context.Background()
	db := "templatestore_two"
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: db, Dims: 8})
	require.NoError(t, err)
	var cs [2]*collector
	for i := range cs {
		st, err := Open(Options{Endpoint: chdbtest.HTTP(t).URL, Database: db})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		cs[i] = &collector{m: logtemplate.NewMiner(logtemplate.MinerConfig{}), st: st, stored: map[uint64]bool{}, replaced: map[uint64]int{}}
	}
	storedAs := make([]uint64, len(lines))
	sync := func() {
		for _, c := range cs {
			c.export(t, ex, db)
		}
		for _, c := range cs {
			_, _, err := Sync(ctx, c.st, c.m, 20000)
			require.NoError(t, err)
		}
	}
	// The stream, then the same traffic once more (a stream goes on; the
	// aliases a sync finds are handed out with the next line).
	for pass := 0; pass < 2; pass++ {
		for lo := 0; lo < len(lines); lo += chunk {
			c := cs[(lo/chunk)%2]
			for i := lo; i < min(lo+chunk, len(lines)); i++ {
				h := c.add(lines[i])
				if pass == 0 {
					storedAs[i] = h
				}
			}
			sync()
		}
	}
	sync()

	canonical := map[uint64]uint64{}
	got, err := ex.QueryStrings(ctx, fmt.Sprintf("SELECT concat(toString(template_hash), ' ', toString(canonical_hash)) FROM %s.log_template_canonical", db))
	require.NoError(t, err)
	for _, g := range got {
		var a, b uint64
		_, err := fmt.Sscan(g, &a, &b)
		require.NoError(t, err)
		canonical[a] = b
	}
	disagree, unresolved := 0, 0
	for i, l := range lines {
		a, b := cs[0].m.Add(l), cs[1].m.Add(l)
		if a.Hash != b.Hash {
			disagree++
			if disagree < 5 {
				t.Logf("collectors disagree on %q: %q vs %q", l, a.Template, b.Template)
			}
		}
		h := storedAs[i]
		if c, ok := canonical[h]; ok {
			h = c
		}
		if h != a.Hash {
			unresolved++
			if unresolved < 5 {
				t.Logf("stored as %d, resolves to %d, now %q", storedAs[i], h, a.Template)
			}
		}
	}
	assert.Zero(t, disagree, "lines the two collectors template differently, of %d", len(lines))
	assert.Zero(t, unresolved, "lines whose stored hash does not resolve to their template now, of %d", len(lines))
	assert.NotEmpty(t, canonical, "the halves generalised templates the other had stored")
	t.Logf("%d lines, %d aliases, %d templates", len(lines), len(canonical), cs[0].m.Len())
}

// A sync after the first reads only the templates stored since the one
// before: its cost follows what arrived, not how many templates there are.
func TestSyncReadsOnlyNewTemplates(t *testing.T) {
	ctx := context.Background()
	db := "templatestore_since"
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: db, Dims: 8})
	require.NoError(t, err)
	insert := func(stored time.Time, templates ...string) {
		var rows []string
		at := stored.UTC().Format("2006-01-02 15:04:05.000")
		for _, tpl := range templates {
			rows = append(rows, fmt.Sprintf("(%d, '%s', 'svc', 'ERROR', '%s', [0,0,0,0,0,0,0,1], '%s')", logtemplate.HashTemplate(tpl), tpl, at, at))
		}
		require.NoError(t, ex.Exec(ctx, fmt.Sprintf(
			"INSERT INTO %s.log_templates (template_hash, template, service_name, severity_text, first_seen, embedding, stored) VALUES %s", db, strings.Join(rows, ","))))
	}
	var old []string
	for i := range 1000 {
		old = append(old, fmt.Sprintf("worker w%c%c stalled on queue <*>", 'a'+i%26, 'a'+i/26))
	}
	now := time.Now()
	insert(now.Add(-2*time.Minute), old...)
	insert(now.Add(-time.Minute), "disk <*> remounted read-only")
	st, err := Open(Options{Endpoint: chdbtest.HTTP(t).URL, Database: db, Overlap: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	m := logtemplate.NewMiner(logtemplate.MinerConfig{})
	sync := func() int {
		_, n, err := Sync(ctx, st, m, 10000)
		require.NoError(t, err)
		return n
	}
	assert.Equal(t, 1001, sync(), "the first sync reads what is stored")
	assert.Equal(t, 1, sync(), "then only the newest again (within the overlap), not the thousand before it")
	insert(now, "cache shard <*> evicted early", "ledger replay fell behind by <*>")
	assert.Equal(t, 3, sync(), "what was stored since the last sync, and the newest before it")
	assert.Equal(t, 2, sync())
	assert.Equal(t, "cache shard <*> evicted early", m.Add("cache shard 17 evicted early").Template, "learned")
}
