package chdb_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

func newConn(t *testing.T) *chdb.Conn {
	t.Helper()
	c, err := chdbtest.Engine(t).NewConn(nil)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func text(t *testing.T, c *chdb.Conn, sql string, params ...chdb.Param) string {
	t.Helper()
	r, err := c.Query(sql, "TabSeparated", params...)
	require.NoError(t, err, sql)
	return string(r.Data)
}

func TestQueryParams(t *testing.T) {
	t.Parallel()
	c := newConn(t)
	// Values are read in TabSeparated escaping; SQL text never sees them.
	assert.Equal(t, "it\\'s ✓\\ttab\t42\n", text(t, c, "SELECT {s:String}, {n:UInt8}",
		chdb.Param{Name: "s", Value: `it's ✓\ttab`}, chdb.Param{Name: "n", Value: "42"}))
	_, err := c.Query("SELECT {n:UInt8}", "TabSeparated", chdb.Param{Name: "n", Value: "abc"})
	require.Error(t, err)
	assert.Equal(t, "1\n", text(t, c, "SELECT 1"))
}

func TestErrors(t *testing.T) {
	t.Parallel()
	c := newConn(t)
	_, err := c.Query("SELECT * FROM no_such_table_here", "TabSeparated")
	var ce *chdb.Error
	require.True(t, errors.As(err, &ce), "%T", err)
	assert.Equal(t, chdb.CodeUnknownTable, ce.Code)
	assert.Equal(t, "UNKNOWN_TABLE", ce.Name)
	assert.True(t, strings.HasPrefix(ce.Message, "Code: 60. DB::Exception: "), ce.Message)
	assert.Equal(t, "1\n", text(t, c, "SELECT 1"))
}

// A stream closed before its end cancels the query and frees the connection.
func TestStreamClosedEarly(t *testing.T) {
	t.Parallel()
	c := newConn(t)
	s, err := c.Stream("SELECT number FROM system.numbers SETTINGS max_block_size = 1000 -- closed-early", "TabSeparated")
	require.NoError(t, err)
	b, err := s.Next()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "0\n1\n"))
	s.Close()
	s.Close() // harmless twice
	assert.Equal(t, "2\n", text(t, c, "SELECT 2"))
	assert.Equal(t, "0\n", text(t, c, "SELECT count() FROM system.processes WHERE query LIKE '%closed-early%' AND query NOT LIKE '%processes%'"))
}

// An error after the first chunk arrives from Next, and leaves the
// connection usable.
func TestStreamErrorMidway(t *testing.T) {
	t.Parallel()
	c := newConn(t)
	s, err := c.Stream("SELECT throwIf(number = 50000, 'midway') FROM numbers(100000) SETTINGS max_block_size = 1000", "TabSeparated")
	require.NoError(t, err)
	var rows int
	for {
		b, err := s.Next()
		if err != nil {
			assert.Equal(t, 395, chdb.CodeOf(err))
			assert.Contains(t, err.Error(), "midway")
			break
		}
		require.NotNil(t, b, "the stream ended without the error")
		rows += strings.Count(string(b), "\n")
	}
	s.Close()
	assert.LessOrEqual(t, rows, 50000)
	assert.Equal(t, "3\n", text(t, c, "SELECT 3"))
}

// A statement that fails after it began formatting its output leaves nothing
// behind: the engine would hand that output to the next statement on the
// connection, at the front of its own.
func TestFailedQueryLeavesNoOutputBehind(t *testing.T) {
	t.Parallel()
	c := newConn(t)
	const failing = "SELECT number, throwIf(number = 5) FROM numbers(10) FORMAT JSON SETTINGS max_block_size = 2"
	_, err := c.Query(failing, "TabSeparated")
	require.Error(t, err)
	assert.Equal(t, 395, chdb.CodeOf(err))
	assert.Equal(t, "1\n", text(t, c, "SELECT 1"))

	s, err := c.Stream(failing, "TabSeparated")
	require.NoError(t, err)
	for {
		b, err := s.Next()
		if err != nil {
			break
		}
		require.NotNil(t, b, "the stream ended without the error")
	}
	s.Close()
	assert.Equal(t, "2\n", text(t, c, "SELECT 2"))
}

// Stats tell what was read from storage apart from what the result holds,
// as ClickHouse's read_rows and result_rows do.
func TestQueryStats(t *testing.T) {
	t.Parallel()
	c := newConn(t)
	res, err := c.Query("SELECT sum(number) FROM numbers(1000)", "TabSeparated")
	require.NoError(t, err)
	assert.Equal(t, "499500\n", string(res.Data))
	assert.Equal(t, uint64(1000), res.RowsRead)
	assert.Equal(t, uint64(8000), res.BytesRead)
	assert.Equal(t, uint64(1), res.ResultRows)
	assert.Equal(t, uint64(0), res.RowsWritten)
}

func TestInsert(t *testing.T) {
	t.Parallel()
	c := newConn(t)
	text(t, c, "CREATE TABLE chdb_insert_test (a UInt32, s String) ENGINE = MergeTree ORDER BY a")
	t.Cleanup(func() { _, _ = c.Query("DROP TABLE chdb_insert_test", "TabSeparated") })

	ins, err := c.Insert("INSERT INTO chdb_insert_test", "CSV")
	require.NoError(t, err)
	require.NoError(t, ins.Append([]byte("1,a\n2,")))
	require.NoError(t, ins.Append([]byte("b\n")))
	st, err := ins.Done()
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.RowsWritten)

	// Cancelled: nothing is written, and the connection goes on.
	ins, err = c.Insert("INSERT INTO chdb_insert_test", "CSV")
	require.NoError(t, err)
	require.NoError(t, ins.Append([]byte("3,c\n")))
	ins.Cancel()
	ins.Cancel()

	// Bad data fails at Done at the latest.
	ins, err = c.Insert("INSERT INTO chdb_insert_test", "CSV")
	require.NoError(t, err)
	err = ins.Append([]byte("4,d\nnot a number,e\n"))
	if err == nil {
		_, err = ins.Done()
	} else {
		ins.Cancel()
	}
	assert.Equal(t, chdb.CodeCannotParseInput, chdb.CodeOf(err), "%v", err)
	_, err = ins.Done()
	assert.Error(t, err, "Done after the end")

	assert.Equal(t, "1\ta\n2\tb\n", text(t, c, "SELECT a, s FROM chdb_insert_test ORDER BY a"))
	_, err = c.Insert("INSERT INTO no_such_table_here", "CSV")
	assert.Equal(t, chdb.CodeUnknownTable, chdb.CodeOf(err))
	assert.Equal(t, "4\n", text(t, c, "SELECT 4"))
}

// A query blocked inside the engine is stopped by KILL QUERY from another
// connection: the HTTP interface relies on it when a client goes away.
func TestKillFromAnotherConnection(t *testing.T) {
	t.Parallel()
	c, killer := newConn(t), newConn(t)
	text(t, c, "SET log_comment = 'chdb-kill-test'")
	done := make(chan error, 1)
	go func() {
		_, err := c.Query("SELECT count() FROM numbers(1000000000000) WHERE number % 11 = 5", "TabSeparated")
		done <- err
	}()
	running := func() bool {
		return text(t, killer, "SELECT count() FROM system.processes WHERE Settings['log_comment'] = 'chdb-kill-test'") == "1\n"
	}
	for deadline := time.Now().Add(30 * time.Second); !running(); time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the query never showed in system.processes")
	}
	text(t, killer, "KILL QUERY WHERE Settings['log_comment'] = 'chdb-kill-test' ASYNC")
	err := <-done
	assert.Equal(t, chdb.CodeQueryWasCancelled, chdb.CodeOf(err), "%v", err)
	assert.Equal(t, "5\n", text(t, c, "SELECT 5"))
}

func TestClosed(t *testing.T) {
	t.Parallel()
	c, err := chdbtest.Engine(t).NewConn(nil)
	require.NoError(t, err)
	c.Close()
	c.Close()
	_, err = c.Query("SELECT 1", "TabSeparated")
	assert.ErrorIs(t, err, chdb.ErrClosed)
	_, err = c.Stream("SELECT 1", "TabSeparated")
	assert.ErrorIs(t, err, chdb.ErrClosed)
	_, err = c.Insert("INSERT INTO x", "CSV")
	assert.ErrorIs(t, err, chdb.ErrClosed)
}
