package chdb

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The embedded engine is clickhouse-local inside, and clickhouse-local trusts
// whoever runs it: file() reads any path, INTO OUTFILE writes anywhere, the
// one user it knows holds every grant. Open therefore starts it with a server
// configuration of its own (written into the data directory at every start)
// that confines it as far as the engine itself can:
//
//   - its only user (every connection is this user) holds the grants a
//     collector's writer needs and none of the SOURCES: file(), url(), s3(),
//     remote(), mysql() … and the File, URL … table engines and the
//     Filesystem database are refused by the engine with ACCESS_DENIED;
//   - user_files_path and user_scripts_path are directories of the data
//     directory; executable() runs only scripts an operator put into the
//     latter (none by default), as on a ClickHouse server;
//   - a server-wide memory cap (max_server_memory_usage) and a per-query one
//     (max_memory_usage) that no statement can raise, unset or set to zero;
//   - settings that name files, URLs or the SQL dialect cannot be changed.
//
// What clickhouse-local does not check at all (the scalar file() function,
// INTO OUTFILE, FROM INFILE) is refused by the HTTP interface (internal/chhttp).

// Memory bounds the engine's memory.
type Memory struct {
	// MaxServerMemoryUsage caps all the engine's allocations together, in
	// bytes; as on a ClickHouse server, the smaller of it and the share of
	// the machine (MaxServerMemoryUsageToRAMRatio) applies, and 0 leaves
	// the share alone.
	MaxServerMemoryUsage uint64
	// MaxServerMemoryUsageToRAMRatio is the cap as a share of the machine's
	// memory (the cgroup limit when there is one); default 0.5.
	MaxServerMemoryUsageToRAMRatio float64
	// MaxMemoryUsage caps one statement, in bytes: every statement runs with
	// it, and no setting can raise it; 0 means half the server-wide cap.
	MaxMemoryUsage uint64
}

// DefaultServerMemoryRatio is the share of the machine's memory the engine
// may use when nothing else is configured.
const DefaultServerMemoryRatio = 0.5

// Resolve fills in the defaults from the machine's memory.
func (m Memory) Resolve() Memory {
	if m.MaxServerMemoryUsageToRAMRatio <= 0 {
		m.MaxServerMemoryUsageToRAMRatio = DefaultServerMemoryRatio
	}
	if m.MaxMemoryUsage == 0 {
		server := uint64(float64(MachineMemory()) * m.MaxServerMemoryUsageToRAMRatio)
		if m.MaxServerMemoryUsage != 0 {
			server = min(server, m.MaxServerMemoryUsage)
		}
		m.MaxMemoryUsage = max(server/2, 64<<20)
	}
	return m
}

// engineGrants are the privileges of the engine's only user: what the
// collector's exporters, the schema migrations and the HTTP interface's
// admin need — including the SYSTEM statements an admin runs on the tables
// (merges, TTL merges, moves, flushing the logs) — and
// nothing that reaches files, URLs, other servers, programs, the process
// (SHUTDOWN, RELOAD) or access control.
const engineGrants = "SHOW, SELECT, INSERT, ALTER, CREATE DATABASE, CREATE TABLE, CREATE VIEW, " +
	"CREATE TEMPORARY TABLE, DROP, TRUNCATE, OPTIMIZE, KILL QUERY, " +
	"SYSTEM MERGES, SYSTEM TTL MERGES, SYSTEM MOVES, SYSTEM FLUSH LOGS ON *.*"

// FixedSettings cannot be changed by any statement: each names a file, a
// URL or credentials the engine would use without the checks a server
// makes, or changes how SQL is parsed (which the HTTP interface relies on).
var FixedSettings = []string{
	"dialect", "polyglot_dialect", "allow_experimental_kusto_dialect", "allow_experimental_prql_dialect",
	"allow_experimental_polyglot_dialect", "implicit_select",
	"format_schema", "format_schema_source", "format_template_resultset", "format_template_row",
	"output_format_schema", "input_format_record_errors_file_path", "format_avro_schema_registry_url",
	"url_base", "into_outfile_create_parent_directories",
	"allow_experimental_ai_functions", "ai_function_text_default_credentials", "ai_function_embedding_default_credentials",
}

// writeServerConfig writes config.xml and users.xml for the engine on
// dataPath into dataPath/config and returns the path of config.xml.
func writeServerConfig(dataPath string, m Memory) (string, error) {
	abs, err := filepath.Abs(dataPath)
	if err != nil {
		return "", fmt.Errorf("resolve the data path: %w", err)
	}
	dir := filepath.Join(abs, "config")
	for _, d := range []string{dir, filepath.Join(abs, "user_files"), filepath.Join(abs, "user_scripts")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return "", fmt.Errorf("create %s: %w", d, err)
		}
	}
	m = m.Resolve()

	var users bytes.Buffer
	users.WriteString("<clickhouse>\n  <profiles>\n    <default>\n")
	fmt.Fprintf(&users, "      <max_memory_usage>%d</max_memory_usage>\n", m.MaxMemoryUsage)
	users.WriteString("      <constraints>\n")
	fmt.Fprintf(&users, "        <max_memory_usage><min>1</min><max>%d</max></max_memory_usage>\n", m.MaxMemoryUsage)
	for _, s := range FixedSettings {
		fmt.Fprintf(&users, "        <%s><const/></%s>\n", s, s)
	}
	users.WriteString("      </constraints>\n    </default>\n  </profiles>\n")
	users.WriteString("  <users>\n    <default>\n      <password></password>\n")
	users.WriteString("      <networks><ip>::/0</ip></networks>\n      <profile>default</profile>\n      <quota>default</quota>\n")
	fmt.Fprintf(&users, "      <grants><query>GRANT %s</query></grants>\n", engineGrants)
	users.WriteString("    </default>\n  </users>\n  <quotas><default></default></quotas>\n</clickhouse>\n")

	usersPath := filepath.Join(dir, "users.xml")
	var cfg bytes.Buffer
	cfg.WriteString("<clickhouse>\n")
	fmt.Fprintf(&cfg, "  <user_files_path>%s/</user_files_path>\n", xmlText(filepath.Join(abs, "user_files")))
	fmt.Fprintf(&cfg, "  <user_scripts_path>%s/</user_scripts_path>\n", xmlText(filepath.Join(abs, "user_scripts")))
	fmt.Fprintf(&cfg, "  <max_server_memory_usage>%d</max_server_memory_usage>\n", m.MaxServerMemoryUsage)
	fmt.Fprintf(&cfg, "  <max_server_memory_usage_to_ram_ratio>%s</max_server_memory_usage_to_ram_ratio>\n",
		strconv.FormatFloat(m.MaxServerMemoryUsageToRAMRatio, 'f', -1, 64))
	fmt.Fprintf(&cfg, "  <users_config>%s</users_config>\n", xmlText(usersPath))
	cfg.WriteString("</clickhouse>\n")

	if err := writeFileAtomic(usersPath, users.Bytes()); err != nil {
		return "", err
	}
	cfgPath := filepath.Join(dir, "config.xml")
	if err := writeFileAtomic(cfgPath, cfg.Bytes()); err != nil {
		return "", err
	}
	return cfgPath, nil
}

func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// MachineMemory is the memory this process may use: the machine's, or the
// cgroup's limit when that is lower.
func MachineMemory() uint64 {
	total := memTotal()
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (total == 0 || n < total) {
			total = n
		}
	}
	if total == 0 {
		total = 4 << 30 // unknown: assume a small machine
	}
	return total
}

func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
