package demo

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

// The demo's template count and its similar-error sample read templates as
// they are now: one that generalised into another is not counted or
// sampled again.
func TestDemoReadersResolveTemplateAliases(t *testing.T) {
	ctx := context.Background()
	db := "demo_alias"
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: db, Dims: 4})
	require.NoError(t, err)
	for _, stmt := range []string{
		`INSERT INTO log_templates (template_hash, template, example_body, first_seen, embedding) VALUES
			(31, 'lease lost on shard alpha', 'lease lost on shard alpha', now64(9), [0,0,0,1]),
			(32, 'lease lost on shard <*>', 'lease lost on shard beta', now64(9), [0,0,0,1]),
			(41, 'disk quota exceeded on <*>', 'disk quota exceeded on /var', now64(9), [0,0,1,0])`,
		`INSERT INTO log_template_aliases VALUES (31, 32, now64(9))`,
	} {
		require.NoError(t, ex.Exec(ctx, "USE "+db+"; "+stmt))
	}
	counts, err := ex.QueryStrings(ctx, "USE "+db+"; "+storeCountsSQL+" FORMAT TabSeparated")
	require.NoError(t, err)
	require.Len(t, counts, 1)
	assert.Equal(t, []string{"0", "0", "0", "2", "0"}, strings.Fields(counts[0]), "two templates, not three")
	sample, err := ex.QueryStrings(ctx, "USE "+db+"; "+similarSampleSQL)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"lease lost on shard <*>\tlease lost on shard beta", "disk quota exceeded on <*>\tdisk quota exceeded on /var"}, sample, fmt.Sprint(sample))
}
