package chdb_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

func engineError(t *testing.T, c *chdb.Conn, sql string) *chdb.Error {
	t.Helper()
	_, err := c.Query(sql, "TabSeparated")
	var ce *chdb.Error
	require.True(t, errors.As(err, &ce), "%s: want an engine error, got %v", sql, err)
	return ce
}

// The engine runs as a confined server: its one user holds no source
// grants, and its paths are directories of the data directory.
func TestEngineIsConfined(t *testing.T) {
	t.Parallel()
	c := newConn(t)
	data, err := filepath.Abs(chdbtest.Engine(t).DataPath())
	require.NoError(t, err)
	assert.Equal(t, data+"/user_files/\t"+data+"/user_scripts/\n",
		text(t, c, "SELECT getServerSetting('user_files_path'), getServerSetting('user_scripts_path')"))

	for sql, grant := range map[string]string{
		"SELECT * FROM file('/etc/passwd', 'LineAsString')":                                      "READ ON FILE",
		"SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')":                               "READ ON URL",
		"SELECT * FROM remote('127.0.0.1:9000', system.one)":                                     "READ ON REMOTE",
		"SELECT * FROM s3('http://127.0.0.1:1/bucket/key', 'LineAsString')":                      "READ ON S3",
		"INSERT INTO FUNCTION file('" + t.TempDir() + "/x', 'LineAsString') SELECT 'x'":          "WRITE ON FILE",
		"SELECT * FROM default.`/etc/passwd`":                                                    "READ ON FILE",
		"CREATE TABLE confined_file (s String) ENGINE = File(LineAsString, '/etc/passwd')":       "TABLE ENGINE ON File",
		"CREATE TABLE confined_url (s String) ENGINE = URL('http://127.0.0.1:1/', LineAsString)": "TABLE ENGINE ON URL",
		"CREATE DATABASE confined_fs ENGINE = Filesystem('/etc')":                                "TABLE ENGINE ON Filesystem",
		"SYSTEM DROP MARK CACHE":                 "SYSTEM DROP MARK CACHE ON *.*",
		"CREATE USER mallory":                    "CREATE USER ON mallory",
		"CREATE FUNCTION confined_f AS (x) -> x": "CREATE FUNCTION ON *.*",
		"CREATE DICTIONARY confined_d (s String) PRIMARY KEY s SOURCE(NULL()) LAYOUT(FLAT()) LIFETIME(0)": "CREATE DICTIONARY ON default.confined_d",
	} {
		ce := engineError(t, c, sql)
		assert.Equal(t, 497, ce.Code, "%s: %s", sql, ce.Message)
		assert.Contains(t, ce.Message, "necessary to have the grant "+grant, sql)
	}
	// executable() runs only what an operator put into user_scripts (nothing).
	ce := engineError(t, c, "SELECT * FROM executable('id', 'TSV', 'x String')")
	assert.Contains(t, ce.Message, "does not exist inside user scripts folder "+data+"/user_scripts/")
}

// Settings that name files or change the dialect are fixed, and the
// per-query memory cap can be neither raised nor unset.
func TestEngineFixedSettings(t *testing.T) {
	t.Parallel()
	c := newConn(t)
	for _, name := range chdb.FixedSettings {
		// A valid value other than the current one: the engine does not
		// check a setting set to the value it has.
		value := "'/etc/passwd'"
		switch strings.TrimSpace(text(t, c, "SELECT type FROM system.settings WHERE name = {n:String}", chdb.Param{Name: "n", Value: name})) {
		case "Bool":
			value = "NOT " + strings.TrimSpace(text(t, c, "SELECT value FROM system.settings WHERE name = {n:String}", chdb.Param{Name: "n", Value: name}))
			value = map[string]string{"NOT 0": "1", "NOT 1": "0"}[value]
		case "Dialect":
			value = "'prql'"
		}
		if name == "format_schema_source" {
			value = "'string'"
		}
		ce := engineError(t, c, "SET "+name+" = "+value)
		assert.Equal(t, 452, ce.Code, "%s: %s", name, ce.Message)
		assert.Contains(t, ce.Message, "Setting "+name+" should not be changed")
	}
	capBytes := strconv.FormatUint(chdbtest.Memory.MaxMemoryUsage, 10)
	assert.Equal(t, capBytes+"\n", text(t, c, "SELECT getSetting('max_memory_usage')"))
	for _, v := range []string{"0", strconv.FormatUint(chdbtest.Memory.MaxMemoryUsage+1, 10)} {
		ce := engineError(t, c, "SELECT 1 SETTINGS max_memory_usage = "+v)
		assert.Equal(t, 452, ce.Code, ce.Message)
	}
	assert.Equal(t, strconv.FormatUint(chdbtest.Memory.MaxServerMemoryUsage, 10)+"\n",
		text(t, c, "SELECT getServerSetting('max_server_memory_usage')"))
	ce := engineError(t, c, "SELECT length(groupArray(number)) FROM numbers(1250000000) SETTINGS max_memory_usage = 100000000")
	assert.Equal(t, 241, ce.Code, ce.Message)
	assert.Contains(t, ce.Message, "Query memory limit exceeded")
}

// The configuration is written into the data directory at every start,
// readable by the collector's user only.
func TestServerConfigFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(chdbtest.Engine(t).DataPath(), "config")
	for _, f := range []string{"config.xml", "users.xml"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), f)
	}
	b, err := os.ReadFile(filepath.Join(dir, "users.xml"))
	require.NoError(t, err)
	assert.NotContains(t, strings.ToUpper(string(b)), "SOURCES")
	assert.NotContains(t, string(b), "<access_management>")
}

func TestMemoryDefaults(t *testing.T) {
	t.Parallel()
	m := chdb.Memory{MaxServerMemoryUsage: 8 << 30}.Resolve()
	assert.Equal(t, uint64(4<<30), m.MaxMemoryUsage, "half the server-wide cap")
	m = chdb.Memory{}.Resolve()
	assert.InDelta(t, float64(chdb.MachineMemory())/4, float64(m.MaxMemoryUsage), float64(1<<20), "a quarter of the machine")
	assert.InDelta(t, chdb.DefaultServerMemoryRatio, m.MaxServerMemoryUsageToRAMRatio, 0)
	assert.Greater(t, chdb.MachineMemory(), uint64(256<<20))
}
