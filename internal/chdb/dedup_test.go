package chdb_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// A table's directory as a kill -9 between writing a token and committing
// its part leaves it: the token of block 4 names a part that is on disk
// only as tmp_insert_*; block 1 was merged into 1_3_1 (its own directory
// gone), block 2's part and its mutation are there, block 5 was dropped
// already, and the last record is torn.
func TestRepairDropsTokensOfPartsNeverCommitted(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	table := filepath.Join(data, "store", "abc", "abcdef01-0000-4000-8000-000000000001")
	for _, d := range []string{"20261207_1_3_1", "20261207_2_2_0_7", "tmp_insert_20261207_4_4_0", "detached/20261207_6_6_0", "deduplication_logs"} {
		require.NoError(t, os.MkdirAll(filepath.Join(table, d), 0o700))
	}
	logs := filepath.Join(table, "deduplication_logs")
	require.NoError(t, os.WriteFile(filepath.Join(logs, "deduplication_log_1.txt"), []byte(
		"1\t20261207_1_1_0\t20261207_tok-a_0\n"+
			"1\t20261207_2_2_0\t20261207_tok-b_0\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(logs, "deduplication_log_2.txt"), []byte(
		"1\t20261207_4_4_0\t20261207_tok-d_0\n"+
			"1\t20261207_5_5_0\t20261207_tok-e_0\n"+
			"2\t20261207_5_5_0\t20261207_tok-e_0\n"+
			"1\t20261207_6_6_0\t20261207_tok-f_0\n"+
			"1\t20261207_7_7_0\t2026"), 0o600))

	n, err := chdb.RepairDeduplicationLogs(data)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the tokens of blocks 4 (never committed) and 6 (detached)")
	b, err := os.ReadFile(filepath.Join(logs, "deduplication_log_2.txt"))
	require.NoError(t, err)
	assert.Equal(t, "1\t20261207_4_4_0\t20261207_tok-d_0\n"+
		"1\t20261207_5_5_0\t20261207_tok-e_0\n"+
		"2\t20261207_5_5_0\t20261207_tok-e_0\n"+
		"1\t20261207_6_6_0\t20261207_tok-f_0\n"+
		"2\t20261207_4_4_0\t20261207_tok-d_0\n"+
		"2\t20261207_6_6_0\t20261207_tok-f_0\n", string(b))

	n, err = chdb.RepairDeduplicationLogs(data)
	require.NoError(t, err)
	assert.Zero(t, n, "a second repair finds nothing")
	n, err = chdb.RepairDeduplicationLogs(t.TempDir())
	require.NoError(t, err)
	assert.Zero(t, n, "a data directory without tables")
}
