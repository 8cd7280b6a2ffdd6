package schema

import (
	"fmt"
	"regexp"
	"strings"
)

// Rendering for a sharded ClickHouse cluster (Options.Cluster with
// Options.Sharded). The migrations are written for one server; a sharded
// cluster stores each table's rows in <table>_local, a Replicated table on
// every shard, and reads and writes them through a Distributed table of the
// table's own name, so the named queries (schema/queries) and HyperDX run
// unchanged. The rewrite is mechanical and done here, statement by
// statement, so that the migrations stay one text:
//
//   - CREATE TABLE t (… MergeTree …) becomes CREATE TABLE t_local and a
//     Distributed t over it, sharded by shardingKeys[t];
//   - ALTER TABLE t becomes ALTER TABLE t_local (indexes, settings, TTLs
//     live with the parts), and its column changes also reach t;
//   - a materialized view over a stored table reads t_local (it fires on
//     the shard the rows were written to) and writes the target's _local
//     table: its aggregates are per shard and read through the Distributed
//     target, summed as they are on one server. A view over a Null input
//     table (the exporter's *_in tables) writes the Distributed target, which
//     spreads its rows by the target's sharding key;
//   - views, INSERT … SELECT and everything else read the Distributed names.
//
// Every rendered statement is checked by ClickHouse's own parser in
// cluster_test.go.

// shardingKeys are the Distributed tables' sharding keys, chosen for the
// queries the tools run: a trace's spans, logs and embedding on one shard
// (get_trace, the waterfall, detect_anomalous_traces group by TraceId), a
// session's rows on one shard, and every table that collapses rows by key
// (Replacing/Aggregating/Summing) sharded by that key, so that versions of a
// row meet in one shard's merges. Logs without a trace are spread at random.
var shardingKeys = map[string]string{
	"otel_logs":                          "if(TraceId = '', rand(), cityHash64(TraceId))",
	"otel_traces":                        "cityHash64(TraceId)",
	"otel_traces_trace_id_ts":            "cityHash64(TraceId)",
	"hyperdx_sessions":                   "cityHash64(ResourceAttributes['rum.sessionId'])",
	"otel_sessions":                      "cityHash64(SessionId)",
	"session_replay_events":              "cityHash64(SessionId)",
	"log_templates":                      "template_hash",
	"logs_with_embeddings":               "if(TraceId = '', rand(), cityHash64(TraceId))",
	"traces_with_embeddings":             "cityHash64(TraceId)",
	"error_patterns":                     "cityHash64(service_name, error_signature)",
	"log_template_stats":                 "template_hash",
	"log_template_aliases":               "template_hash",
	"otel_logs_kv_rollup_15m":            "cityHash64(ColumnIdentifier, Key, Value)",
	"otel_logs_key_rollup_15m":           "cityHash64(ColumnIdentifier, Key)",
	"otel_traces_kv_rollup_15m":          "cityHash64(ColumnIdentifier, Key, Value)",
	"otel_traces_key_rollup_15m":         "cityHash64(ColumnIdentifier, Key)",
	"otel_metrics_gauge":                 "cityHash64(ServiceName, MetricName, Attributes)",
	"otel_metrics_sum":                   "cityHash64(ServiceName, MetricName, Attributes)",
	"otel_metrics_histogram":             "cityHash64(ServiceName, MetricName, Attributes)",
	"otel_metrics_exponential_histogram": "cityHash64(ServiceName, MetricName, Attributes)",
	"otel_metrics_summary":               "cityHash64(ServiceName, MetricName, Attributes)",
}

// localSuffix names the table that stores a sharded table's rows on a shard.
const localSuffix = "_local"

// ShardingKey returns the sharding key of a table's Distributed table, or
// "" for a table that is not sharded.
func ShardingKey(table string) string { return shardingKeys[table] }

var (
	createTable = regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS (\S+)\.(\w+) (ON CLUSTER \S+) `)
	alterTable  = regexp.MustCompile(`^ALTER TABLE (\S+)\.(\w+) `)
	createMV    = regexp.MustCompile(`^CREATE MATERIALIZED VIEW IF NOT EXISTS \S+ ON CLUSTER \S+\s+TO (\S+)\.(\w+)`)
	fromTable   = regexp.MustCompile(`FROM (\S+)\.(\w+)`)
	columnAlter = regexp.MustCompile(`\b(ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN\b`)
	// columnClause is an ALTER clause a Distributed table takes too.
	columnClause = regexp.MustCompile(`^(ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN\b`)
	alterHead    = regexp.MustCompile(`^ALTER TABLE \S+ ON CLUSTER \S+\s+`)
)

// shard rewrites one rendered statement for a sharded cluster.
func (d templateData) shard(stmt string) ([]string, error) {
	switch {
	case createTable.MatchString(stmt):
		m := createTable.FindStringSubmatch(stmt)
		db, table, on := m[1], m[2], m[3]
		if !strings.Contains(stmt, "MergeTree(") {
			return []string{stmt}, nil // Null input tables live on every node
		}
		key, ok := shardingKeys[table]
		if !ok {
			return nil, fmt.Errorf("table %s has no sharding key: add one to schema/cluster.go's shardingKeys", table)
		}
		local := strings.Replace(stmt, db+"."+table+" ", db+"."+table+localSuffix+" ", 1)
		dist := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s %s AS %s.%s%s\nENGINE = Distributed(%s, %s, %s, %s)",
			db, table, on, db, table, localSuffix, quoteString(d.opts.Cluster), quoteString(d.opts.Database),
			quoteString(table+localSuffix), key)
		return []string{local, dist}, nil
	case alterTable.MatchString(stmt):
		m := alterTable.FindStringSubmatch(stmt)
		db, table := m[1], m[2]
		if _, ok := shardingKeys[table]; !ok {
			return []string{stmt}, nil
		}
		local := strings.Replace(stmt, db+"."+table+" ", db+"."+table+localSuffix+" ", 1)
		if !columnAlter.MatchString(stmt) {
			return []string{local}, nil
		}
		// The Distributed table gets the column changes alone.
		head, clauses := alterClauses(stmt)
		var cols []string
		for _, c := range clauses {
			if columnClause.MatchString(c) {
				cols = append(cols, c)
			}
		}
		if len(cols) == 0 {
			return []string{local}, nil
		}
		return []string{local, head + "\n    " + strings.Join(cols, ",\n    ")}, nil
	case createMV.MatchString(stmt):
		m := createMV.FindStringSubmatch(stmt)
		db, target := m[1], m[2]
		sources := fromTable.FindAllStringSubmatch(stmt, -1)
		stored := false
		for _, s := range sources {
			if _, ok := shardingKeys[s[2]]; ok {
				stored = true
			}
		}
		if !stored {
			return []string{stmt}, nil // over a Null input: write the Distributed target
		}
		out := fromTable.ReplaceAllStringFunc(stmt, func(s string) string {
			f := fromTable.FindStringSubmatch(s)
			if _, ok := shardingKeys[f[2]]; ok {
				return "FROM " + f[1] + "." + f[2] + localSuffix
			}
			return s
		})
		if _, ok := shardingKeys[target]; ok {
			out = strings.Replace(out, "TO "+db+"."+target, "TO "+db+"."+target+localSuffix, 1)
		}
		return []string{out}, nil
	}
	return []string{stmt}, nil
}

// RenderAll renders every migration's statements in order, followed by
// the retention ALTERs opts ask for: the whole schema as a DBA would run it
// by hand on a cluster (Apply, by contrast, skips what is recorded done and
// alters only the TTLs that differ).
func RenderAll(opts Options) ([]string, error) {
	opts = opts.withDefaults()
	d := templateData{opts}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	out := []string{fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s %s", d.DB(), d.OnCluster())}
	for _, m := range ms {
		stmts, err := Render(m, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, stmts...)
	}
	for _, t := range TTLs(opts) {
		if t.TTL != "" {
			out = append(out, retentionStatement(d, t))
		}
	}
	return out, nil
}

// alterClauses splits an ALTER TABLE … ON CLUSTER … statement into its
// head and its clauses (split at the commas outside parentheses and
// quotes), each trimmed. A trailing SETTINGS belongs to the last clause.
func alterClauses(stmt string) (head string, clauses []string) {
	loc := alterHead.FindStringIndex(stmt)
	if loc == nil {
		return stmt, nil
	}
	head, body := strings.TrimSpace(stmt[:loc[1]]), stmt[loc[1]:]
	depth, quote, start := 0, byte(0), 0
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '`' || c == '"':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == ',' && depth == 0:
			clauses = append(clauses, strings.TrimSpace(body[start:i]))
			start = i + 1
		}
	}
	return head, append(clauses, strings.TrimSpace(body[start:]))
}
