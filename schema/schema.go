// Package schema holds the numbered SQL migrations of every table the
// distribution writes or reads, embedded in the binary and applied
// idempotently at start, against the embedded engine or a ClickHouse server.
package schema

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/search"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DefaultDatabase holds the tables unless a component's database key names
// another; every component and reader takes its default from here.
const DefaultDatabase = "agentic_otel"

// Options shape the rendered DDL.
type Options struct {
	Database string // default DefaultDatabase
	Dims     int    // vector dimension, default 384
	Cluster  string // ON CLUSTER name; tables become Replicated* when set
	// Sharded (with Cluster) renders each table as <name>_local, Replicated
	// on every shard, behind a Distributed table of the name the queries
	// read (see cluster.go).
	Sharded bool
	TTL     time.Duration // retention of every expiring table; 0 keeps data forever
	// Retention sets the retention per class of table; zero classes take TTL.
	Retention Retention
	// OwnsRetention makes Apply set the TTLs even when TTL and Retention are
	// zero (removing them). Without it a zero retention leaves the tables'
	// TTLs as they are, so that a writer that also applies the migrations
	// (the clickhouse_vector exporter) does not undo the store owner's.
	OwnsRetention bool
}

// Executor runs statements; both the embedded engine and clickhouse-go fit.
type Executor interface {
	Exec(ctx context.Context, sql string) error
	// QueryStrings returns the first column of a query's rows.
	QueryStrings(ctx context.Context, sql string) ([]string, error)
}

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string // as embedded, before rendering
}

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Migrations lists the embedded migrations in order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func (o Options) withDefaults() Options {
	if o.Database == "" {
		o.Database = DefaultDatabase
	}
	if o.Dims <= 0 {
		o.Dims = 384
	}
	return o
}

// templateData is what the migration templates see.
type templateData struct {
	opts Options
}

func (d templateData) DB() string { return quoteIdent(d.opts.Database) }

func (d templateData) Dims() int { return d.opts.Dims }

func (d templateData) OnCluster() string {
	if d.opts.Cluster == "" {
		return ""
	}
	return "ON CLUSTER " + quoteIdent(d.opts.Cluster)
}

// storageName is the name of the table that stores a table's rows: the
// table itself, or <table>_local behind a Distributed table when sharded.
func (d templateData) storageName(table string) string {
	if d.opts.Cluster != "" && d.opts.Sharded {
		return table + localSuffix
	}
	return table
}

// Engine renders a table engine, Replicated when a cluster is configured.
// The optional argument names a MergeTree variant, e.g. "ReplacingMergeTree(v)".
func (d templateData) Engine(table string, variant ...string) string {
	e := "MergeTree()"
	if len(variant) > 0 {
		e = variant[0]
	}
	if d.opts.Cluster == "" {
		return e
	}
	name, args, _ := strings.Cut(e, "(")
	args = strings.TrimSuffix(args, ")")
	zk := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s', '{replica}'", d.opts.Database, table)
	if args != "" {
		zk += ", " + args
	}
	return "Replicated" + name + "(" + zk + ")"
}

// Terms renders internal/search's term analyzer over a String expression,
// for the materialized search columns.
func (d templateData) Terms(expr string) string { return search.TermsSQL(expr) }

// TypeTerms renders the terms of the error class a String expression leads
// with.
func (d templateData) TypeTerms(expr string) string { return search.TypeTermsSQL(expr) }

// TTL renders nothing: a table's retention is not part of its CREATE
// statement but set after the migrations by ApplyRetention (retention.go),
// the one place that knows each table's, so that a change of configuration
// reaches the tables that exist. The hook stays in the migrations that
// named it, which are not rewritten once released.
func (d templateData) TTL(string) string { return "" }

// Render returns a migration's statements with options applied.
func Render(m Migration, opts Options) ([]string, error) {
	opts = opts.withDefaults()
	t, err := template.New(m.Name).Option("missingkey=error").Parse(m.SQL)
	if err != nil {
		return nil, fmt.Errorf("parse migration %04d_%s: %w", m.Version, m.Name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, templateData{opts}); err != nil {
		return nil, fmt.Errorf("render migration %04d_%s: %w", m.Version, m.Name, err)
	}
	stmts := splitStatements(b.String())
	if opts.Cluster == "" || !opts.Sharded {
		return stmts, nil
	}
	var out []string
	for _, s := range stmts {
		sharded, err := templateData{opts}.shard(s)
		if err != nil {
			return nil, fmt.Errorf("render migration %04d_%s for a sharded cluster: %w", m.Version, m.Name, err)
		}
		out = append(out, sharded...)
	}
	return out, nil
}

// splitStatements splits on semicolons that end a line; the migrations are
// written so that no statement has one inside a string at a line end.
func splitStatements(sql string) []string {
	var out []string
	for _, part := range strings.Split(sql, ";\n") {
		var kept []string
		for _, line := range strings.Split(part, "\n") {
			if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "--") {
				continue
			}
			kept = append(kept, line)
		}
		stmt := strings.TrimSuffix(strings.TrimSpace(strings.Join(kept, "\n")), ";")
		if stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}

// Apply creates the database, runs every migration not yet recorded in
// <db>.schema_migrations and then gives each table the retention opts ask
// for (ApplyRetention; with a zero retention only when opts.OwnsRetention). Each statement is idempotent (IF NOT EXISTS), so a
// run interrupted half-way is simply repeated.
func Apply(ctx context.Context, ex Executor, opts Options) ([]int, error) {
	opts = opts.withDefaults()
	d := templateData{opts}
	if err := ex.Exec(ctx, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s %s", d.DB(), d.OnCluster())); err != nil {
		return nil, fmt.Errorf("create database %s: %w", opts.Database, err)
	}
	if err := ex.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.schema_migrations %s (
    version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3), dims UInt32
) ENGINE = %s ORDER BY version`, d.DB(), d.OnCluster(), d.Engine("schema_migrations", "ReplacingMergeTree(applied_at)"))); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, err := ex.QueryStrings(ctx, fmt.Sprintf("SELECT toString(version) FROM %s.schema_migrations FINAL", d.DB()))
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, r := range rows {
		v, _ := strconv.Atoi(r)
		done[v] = true
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		stmts, err := Render(m, opts)
		if err != nil {
			return applied, err
		}
		for i, s := range stmts {
			if err := ex.Exec(ctx, s); err != nil {
				return applied, fmt.Errorf("migration %04d_%s, statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := ex.Exec(ctx, fmt.Sprintf("INSERT INTO %s.schema_migrations (version, name, dims) VALUES (%d, %s, %d)",
			d.DB(), m.Version, quoteString(m.Name), opts.Dims)); err != nil {
			return applied, fmt.Errorf("record migration %04d_%s: %w", m.Version, m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	if opts.OwnsRetention || opts.TTL != 0 || opts.Retention != (Retention{}) {
		if _, err := ApplyRetention(ctx, ex, opts); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// VectorDims reads the dimension of a table's vector index, so writers can
// refuse to start when it differs from their embedder's.
func VectorDims(ctx context.Context, ex Executor, database, table string) (int, error) {
	rows, err := ex.QueryStrings(ctx, fmt.Sprintf(
		"SELECT type_full FROM system.data_skipping_indices WHERE database = %s AND table = %s AND type = 'vector_similarity' LIMIT 1",
		quoteString(database), quoteString(table)))
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, ErrNoVectorIndex
	}
	// type_full looks like vector_similarity('hnsw', 'cosineDistance', 384[, …]).
	args := strings.Split(strings.TrimSuffix(strings.SplitN(rows[0], "(", 2)[1], ")"), ",")
	if len(args) < 3 {
		return 0, fmt.Errorf("unexpected vector index definition %q", rows[0])
	}
	return strconv.Atoi(strings.TrimSpace(args[2]))
}

// ErrNoVectorIndex is returned by VectorDims for a table without one.
var ErrNoVectorIndex = errors.New("table has no vector_similarity index")

func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
