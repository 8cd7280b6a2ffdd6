package schema_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

var (
	ddl          = regexp.MustCompile(`^(CREATE|ALTER|DROP)\b`)
	createdName  = regexp.MustCompile("^CREATE (?:TABLE|VIEW|MATERIALIZED VIEW) IF NOT EXISTS `obs`\\.(\\w+)")
	referenced   = regexp.MustCompile("`obs`\\.(\\w+)")
	engineClause = regexp.MustCompile(`ENGINE = (\w+)`)
	mvSource     = regexp.MustCompile("FROM `obs`\\.(\\w+)")
	mvTarget     = regexp.MustCompile("TO `obs`\\.(\\w+)")
)

// Every migration, and the retention after them, rendered for a cluster —
// replicated on one shard, and sharded behind Distributed tables — is
// accepted by ClickHouse's own parser, and holds together: every DDL
// statement runs ON CLUSTER, every stored table is Replicated, every name
// a statement reads or writes was created before it, and on a sharded
// cluster the views over stored tables stay on their shard.
func TestEveryMigrationRendersForACluster(t *testing.T) {
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	retention := schema.Retention{Raw: 7 * 24 * time.Hour, Vectors: 30 * 24 * time.Hour}
	for _, sharded := range []bool{false, true} {
		name := map[bool]string{false: "replicated", true: "sharded"}[sharded]
		t.Run(name, func(t *testing.T) {
			stmts, err := schema.RenderAll(schema.Options{Database: "obs", Cluster: "prod", Sharded: sharded, Retention: retention})
			require.NoError(t, err)
			created := map[string]bool{}
			distributed := map[string]bool{}
			for _, s := range stmts {
				// The engine's parser: EXPLAIN AST fails on any statement it cannot parse.
				_, err := ex.QueryStrings(ctx, "EXPLAIN AST "+s)
				require.NoError(t, err, "ClickHouse cannot parse:\n%s", s)

				if ddl.MatchString(s) {
					assert.Contains(t, s, "ON CLUSTER `prod`", "DDL runs on every node:\n%s", s)
				}
				if m := engineClause.FindStringSubmatch(s); m != nil && strings.Contains(m[1], "MergeTree") {
					assert.True(t, strings.HasPrefix(m[1], "Replicated"), "stored tables are replicated:\n%s", s)
				}
				own := ""
				if m := createdName.FindStringSubmatch(s); m != nil {
					own = m[1]
				}
				for _, r := range referenced.FindAllStringSubmatch(s, -1) {
					if r[1] != own && !strings.HasPrefix(s, "DROP") {
						assert.True(t, created[r[1]], "%s is read or written before it is created:\n%s", r[1], s)
					}
				}
				if own != "" {
					created[own] = true
				}
				if strings.Contains(s, "ENGINE = Distributed(") {
					distributed[own] = true
					assert.True(t, created[own+"_local"], "a Distributed table follows its local table")
					assert.Contains(t, s, schema.ShardingKey(own), "sharded by the key chosen for %s", own)
				}
				if strings.HasPrefix(s, "CREATE MATERIALIZED VIEW") && sharded {
					src := mvSource.FindStringSubmatch(s)[1]
					dst := mvTarget.FindStringSubmatch(s)[1]
					if strings.HasSuffix(src, "_local") {
						assert.True(t, strings.HasSuffix(dst, "_local"), "a view over a shard's rows writes that shard's table:\n%s", s)
					} else {
						assert.True(t, distributed[dst], "a view over an input table writes the Distributed table:\n%s", s)
					}
				}
				if sharded && strings.HasPrefix(s, "ALTER TABLE") && !strings.HasSuffix(referenced.FindStringSubmatch(s)[1], "_local") {
					assert.NotRegexp(t, `\bINDEX\b|SETTING|\bTTL\b|MATERIALIZE (COLUMN|INDEX)`, s, "a Distributed table takes column changes alone:\n%s", s)
				}
				if strings.Contains(s, "MODIFY TTL") || strings.Contains(s, "MODIFY SETTING") || strings.Contains(s, "ADD INDEX") {
					target := referenced.FindStringSubmatch(s)[1]
					assert.Equal(t, sharded, strings.HasSuffix(target, "_local"), "indexes, settings and TTLs belong to the stored table:\n%s", s)
				}
			}
			for _, table := range []string{"otel_logs", "otel_traces", "logs_with_embeddings", "traces_with_embeddings", "log_templates", "error_patterns", "otel_sessions"} {
				assert.True(t, created[table], table)
				assert.Equal(t, sharded, distributed[table], "%s is Distributed only when sharded", table)
			}
		})
	}
}

// A table a migration creates without a sharding key cannot be rendered
// for a sharded cluster unnoticed: every stored table has one.
func TestEveryStoredTableHasAShardingKey(t *testing.T) {
	stmts, err := schema.RenderAll(schema.Options{Database: "obs"})
	require.NoError(t, err)
	for _, s := range stmts {
		m := createdName.FindStringSubmatch(s)
		if m == nil || !strings.Contains(s, "MergeTree") {
			continue
		}
		assert.NotEmpty(t, schema.ShardingKey(m[1]), "%s has no sharding key", m[1])
	}
}
