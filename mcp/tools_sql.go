package mcp

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// ListTablesInput selects the tables to list.
type ListTablesInput struct {
	Database string `json:"database,omitempty" jsonschema:"database to list (default: the server's database, where the collector writes)"`
	Like     string `json:"like,omitempty" jsonschema:"only tables whose name matches this LIKE pattern, e.g. otel_%"`
}

// ListTablesOutput lists tables with their columns.
type ListTablesOutput struct {
	Database string      `json:"database"`
	Tables   []TableInfo `json:"tables"`
}

// TableInfo describes one table.
type TableInfo struct {
	Name       string       `json:"name"`
	Engine     string       `json:"engine"`
	Comment    string       `json:"comment,omitempty"`
	TotalRows  *uint64      `json:"total_rows,omitempty"`
	TotalBytes *uint64      `json:"total_bytes,omitempty"`
	Columns    []ColumnInfo `json:"columns"`
}

// ColumnInfo is a column's name, type and comment.
type ColumnInfo struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Comment string `json:"comment,omitempty"`
}

func (s *Server) listTables(ctx context.Context, _ *sdk.CallToolRequest, in ListTablesInput) (*sdk.CallToolResult, ListTablesOutput, error) {
	db := cmpOr(in.Database, s.cfg.ClickHouse.Database)
	p := params{}.str("db", db).str("like", in.Like)
	var tables []struct {
		Name       string  `ch:"name"`
		Engine     string  `ch:"engine"`
		Comment    string  `ch:"comment"`
		TotalRows  *uint64 `ch:"total_rows"`
		TotalBytes *uint64 `ch:"total_bytes"`
	}
	if err := s.db.selectInto(ctx, &tables, `SELECT name, engine, comment, total_rows, total_bytes FROM system.tables
		WHERE database = {db:String} AND NOT startsWith(name, '.inner') AND ({like:String} = '' OR name LIKE {like:String})
		ORDER BY name LIMIT 500`, p); err != nil {
		return nil, ListTablesOutput{}, err
	}
	if len(tables) == 0 {
		return nil, ListTablesOutput{}, userErrorf("database %s has no tables%s: the collector writes to %s (CLICKHOUSE_DATABASE); SHOW DATABASES through run_select_query lists the others",
			db, ifThen(in.Like != "", " matching "+in.Like), s.cfg.ClickHouse.Database)
	}
	var cols []struct {
		Table   string `ch:"table"`
		Name    string `ch:"name"`
		Type    string `ch:"type"`
		Comment string `ch:"comment"`
	}
	if err := s.db.selectInto(ctx, &cols, `SELECT table, name, type, comment FROM system.columns
		WHERE database = {db:String} AND ({like:String} = '' OR table LIKE {like:String})
		ORDER BY table, position LIMIT 20000`, p); err != nil {
		return nil, ListTablesOutput{}, err
	}
	byTable := map[string][]ColumnInfo{}
	for _, c := range cols {
		byTable[c.Table] = append(byTable[c.Table], ColumnInfo{Name: c.Name, Type: c.Type, Comment: c.Comment})
	}
	out := ListTablesOutput{Database: db}
	for _, t := range tables {
		out.Tables = append(out.Tables, TableInfo{Name: t.Name, Engine: t.Engine, Comment: t.Comment,
			TotalRows: t.TotalRows, TotalBytes: t.TotalBytes, Columns: orEmpty(byTable[t.Name])})
	}
	return nil, out, nil
}

// DescribeTableInput names the table.
type DescribeTableInput struct {
	Table    string `json:"table" jsonschema:"table name, e.g. otel_logs"`
	Database string `json:"database,omitempty" jsonschema:"its database (default: the server's database)"`
}

// DescribeTableOutput describes one table.
type DescribeTableOutput struct {
	Database     string         `json:"database"`
	Table        string         `json:"table"`
	Engine       string         `json:"engine"`
	Comment      string         `json:"comment,omitempty"`
	SortingKey   string         `json:"sorting_key,omitempty"`
	PrimaryKey   string         `json:"primary_key,omitempty"`
	PartitionKey string         `json:"partition_key,omitempty"`
	TotalRows    *uint64        `json:"total_rows,omitempty"`
	TotalBytes   *uint64        `json:"total_bytes,omitempty"`
	Columns      []ColumnDetail `json:"columns"`
	Indices      []IndexInfo    `json:"indices,omitempty"`
	Hint         string         `json:"hint"`
}

// ColumnDetail is one column of describe_table.
type ColumnDetail struct {
	Name              string `json:"name"`
	Type              string `json:"type"`
	DefaultKind       string `json:"default_kind,omitempty"`
	DefaultExpression string `json:"default_expression,omitempty"`
	Comment           string `json:"comment,omitempty"`
	InSortingKey      bool   `json:"in_sorting_key,omitempty"`
}

// IndexInfo is a data-skipping or vector index.
type IndexInfo struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Expression string `json:"expression"`
}

func (s *Server) describeTable(ctx context.Context, _ *sdk.CallToolRequest, in DescribeTableInput) (*sdk.CallToolResult, DescribeTableOutput, error) {
	db := cmpOr(in.Database, s.cfg.ClickHouse.Database)
	if strings.TrimSpace(in.Table) == "" {
		return nil, DescribeTableOutput{}, userErrorf("table is required: call list_tables to see the tables")
	}
	p := params{}.str("db", db).str("t", in.Table)
	var t []struct {
		Engine       string  `ch:"engine"`
		Comment      string  `ch:"comment"`
		SortingKey   string  `ch:"sorting_key"`
		PrimaryKey   string  `ch:"primary_key"`
		PartitionKey string  `ch:"partition_key"`
		TotalRows    *uint64 `ch:"total_rows"`
		TotalBytes   *uint64 `ch:"total_bytes"`
	}
	if err := s.db.selectInto(ctx, &t, `SELECT engine, comment, sorting_key, primary_key, partition_key, total_rows, total_bytes
		FROM system.tables WHERE database = {db:String} AND name = {t:String}`, p); err != nil {
		return nil, DescribeTableOutput{}, err
	}
	if len(t) == 0 {
		return nil, DescribeTableOutput{}, userErrorf("no table %s in database %s: call list_tables to see the tables", in.Table, db)
	}
	out := DescribeTableOutput{Database: db, Table: in.Table, Engine: t[0].Engine, Comment: t[0].Comment,
		SortingKey: t[0].SortingKey, PrimaryKey: t[0].PrimaryKey, PartitionKey: t[0].PartitionKey,
		TotalRows: t[0].TotalRows, TotalBytes: t[0].TotalBytes}
	var cols []struct {
		Name         string `ch:"name"`
		Type         string `ch:"type"`
		DefaultKind  string `ch:"default_kind"`
		DefaultExpr  string `ch:"default_expression"`
		Comment      string `ch:"comment"`
		InSortingKey uint8  `ch:"is_in_sorting_key"`
	}
	if err := s.db.selectInto(ctx, &cols, `SELECT name, type, default_kind, default_expression, comment, is_in_sorting_key
		FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position`, p); err != nil {
		return nil, DescribeTableOutput{}, err
	}
	for _, c := range cols {
		out.Columns = append(out.Columns, ColumnDetail{Name: c.Name, Type: c.Type, DefaultKind: c.DefaultKind,
			DefaultExpression: c.DefaultExpr, Comment: c.Comment, InSortingKey: c.InSortingKey == 1})
	}
	out.Columns = orEmpty(out.Columns)
	var idx []struct {
		Name string `ch:"name"`
		Type string `ch:"type_full"`
		Expr string `ch:"expr"`
	}
	if err := s.db.selectInto(ctx, &idx, `SELECT name, type_full, expr FROM system.data_skipping_indices
		WHERE database = {db:String} AND table = {t:String} ORDER BY name`, p); err != nil {
		return nil, DescribeTableOutput{}, err
	}
	for _, i := range idx {
		out.Indices = append(out.Indices, IndexInfo{Name: i.Name, Type: i.Type, Expression: i.Expr})
	}
	out.Hint = "Filter on the leading sorting-key columns (" + cmpOr(out.SortingKey, "none") + ") and on a time range to keep queries fast."
	return nil, out, nil
}

// RunSelectQueryInput is one read-only statement.
type RunSelectQueryInput struct {
	SQL     string `json:"sql" jsonschema:"one read-only statement (SELECT, WITH … SELECT, SHOW, DESCRIBE, EXPLAIN, EXISTS); unqualified tables are in the server's database"`
	MaxRows int    `json:"max_rows,omitempty" jsonschema:"rows to return at most (default and ceiling: the server's limit, 1000 unless configured)"`
}

// QueryResult is a query's answer.
type QueryResult struct {
	Columns   []ResultColumn `json:"columns"`
	Rows      [][]any        `json:"rows"`
	RowCount  int            `json:"row_count"`
	Truncated bool           `json:"truncated"`
	Notice    string         `json:"notice,omitempty"`
	ElapsedMs float64        `json:"elapsed_ms"`
}

// ResultColumn is a result column's name and ClickHouse type.
type ResultColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func (s *Server) runSelectQuery(ctx context.Context, _ *sdk.CallToolRequest, in RunSelectQueryInput) (*sdk.CallToolResult, QueryResult, error) {
	if strings.TrimSpace(in.SQL) == "" {
		return nil, QueryResult{}, userErrorf("sql is empty: send one SELECT statement")
	}
	limit := s.cfg.Limits.MaxRows
	if in.MaxRows > 0 && in.MaxRows < limit {
		limit = in.MaxRows
	}
	res, err := s.runQuery(ctx, in.SQL, limit)
	return nil, res, err
}

// runQuery runs sql under the result budget: ClickHouse stops producing
// rows past max_result_rows/max_result_bytes ('break': the result is cut,
// not failed), and reading stops at limit rows or MaxOutputBytes of JSON.
func (s *Server) runQuery(ctx context.Context, sql string, limit int) (QueryResult, error) {
	start := time.Now()
	rows, err := s.db.query(ctx, sql, nil, clickhouse.Settings{
		"max_result_rows":      limit,
		"max_result_bytes":     s.cfg.Limits.MaxResultBytes,
		"result_overflow_mode": "break",
	})
	if err != nil {
		return QueryResult{}, err
	}
	defer rows.Close()
	res := QueryResult{Rows: [][]any{}}
	types := rows.ColumnTypes()
	dest := make([]any, len(types))
	for i, ct := range types {
		res.Columns = append(res.Columns, ResultColumn{Name: ct.Name(), Type: ct.DatabaseTypeName()})
		st := ct.ScanType()
		if st == nil {
			st = reflect.TypeFor[any]()
		}
		dest[i] = reflect.New(st).Interface()
	}
	budget := s.cfg.Limits.MaxOutputBytes
	used := 0
	for rows.Next() {
		if len(res.Rows) >= limit {
			res.Truncated = true
			res.Notice = fmt.Sprintf("result cut at %d rows (max_result_rows with result_overflow_mode='break'); more rows exist. Aggregate (GROUP BY, count(), uniq()), add ORDER BY … LIMIT, or narrow the WHERE to see what matters", limit)
			break
		}
		if err := rows.Scan(dest...); err != nil {
			return QueryResult{}, userErrorf("read the result: %s", s.db.scrub(err.Error()))
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = jsonValue(reflect.ValueOf(d).Elem())
		}
		b, err := json.Marshal(row)
		if err != nil {
			return QueryResult{}, userErrorf("encode row %d: %v", len(res.Rows)+1, err)
		}
		if used+len(b) > budget && len(res.Rows) > 0 {
			res.Truncated = true
			res.Notice = fmt.Sprintf("result cut at %d rows: the answer reached the %d-byte output budget. Select fewer or narrower columns (embedding vectors are large), or aggregate", len(res.Rows), budget)
			break
		}
		used += len(b)
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return QueryResult{}, s.db.explain(err)
	}
	if !res.Truncated && int64(used) >= s.cfg.Limits.MaxResultBytes*9/10 {
		res.Truncated = true
		res.Notice = fmt.Sprintf("the result may be cut: it is close to max_result_bytes (%d). Aggregate or add LIMIT", s.cfg.Limits.MaxResultBytes)
	}
	res.RowCount = len(res.Rows)
	res.ElapsedMs = float64(time.Since(start).Microseconds()) / 1000
	if res.Columns == nil {
		res.Columns = []ResultColumn{}
	}
	return res, nil
}

// jsonValue makes a scanned ClickHouse value JSON-friendly: NaN and ±Inf
// become strings, float32 keeps its short form, text-marshalable values
// (times, UUIDs, IPs, decimals, big integers) become strings, and long
// float vectors (embeddings) are summarised.
func jsonValue(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return jsonValue(v.Elem())
	}
	if v.CanInterface() {
		if t, ok := v.Interface().(time.Time); ok {
			return t.UTC().Format(time.RFC3339Nano)
		}
		if m, ok := v.Interface().(encoding.TextMarshaler); ok {
			if b, err := m.MarshalText(); err == nil {
				return string(b)
			}
		}
		if v.CanAddr() {
			if m, ok := v.Addr().Interface().(encoding.TextMarshaler); ok {
				if b, err := m.MarshalText(); err == nil {
					return string(b)
				}
			}
		}
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		bits := 64
		if v.Kind() == reflect.Float32 {
			bits = 32
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, bits))
	case reflect.Slice, reflect.Array:
		if k := v.Type().Elem().Kind(); (k == reflect.Float32 || k == reflect.Float64) && v.Len() > 16 {
			return fmt.Sprintf("<vector of %d floats>", v.Len())
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonValue(v.Index(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			out[fmt.Sprint(jsonValue(it.Key()))] = jsonValue(it.Value())
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				out[t.Field(i).Name] = jsonValue(v.Field(i))
			}
		}
		return out
	}
	if v.CanInterface() {
		return v.Interface()
	}
	return fmt.Sprint(v)
}

// EstimateQueryInput is the statement to estimate.
type EstimateQueryInput struct {
	SQL string `json:"sql" jsonschema:"the SELECT to estimate, as you would send it to run_select_query"`
}

// EstimateQueryOutput is EXPLAIN ESTIMATE's answer.
type EstimateQueryOutput struct {
	Estimates []Estimate `json:"estimates"`
	TotalRows uint64     `json:"total_rows"`
	Advice    string     `json:"advice"`
}

// Estimate is what one table contributes to a query.
type Estimate struct {
	Database string `json:"database"`
	Table    string `json:"table"`
	Parts    uint64 `json:"parts"`
	Rows     uint64 `json:"rows"`
	Marks    uint64 `json:"marks"`
}

func (s *Server) estimateQuery(ctx context.Context, _ *sdk.CallToolRequest, in EstimateQueryInput) (*sdk.CallToolResult, EstimateQueryOutput, error) {
	if strings.TrimSpace(in.SQL) == "" {
		return nil, EstimateQueryOutput{}, userErrorf("sql is empty: send the SELECT to estimate")
	}
	var rows []struct {
		Database string `ch:"database"`
		Table    string `ch:"table"`
		Parts    uint64 `ch:"parts"`
		Rows     uint64 `ch:"rows"`
		Marks    uint64 `ch:"marks"`
	}
	// The statement is still parsed and checked by ClickHouse as a whole:
	// EXPLAIN of anything but a SELECT is refused there, under readonly=1.
	if err := s.db.selectInto(ctx, &rows, "EXPLAIN ESTIMATE "+in.SQL, nil); err != nil {
		return nil, EstimateQueryOutput{}, err
	}
	out := EstimateQueryOutput{Estimates: []Estimate{}}
	for _, r := range rows {
		out.Estimates = append(out.Estimates, Estimate(r))
		out.TotalRows += r.Rows
	}
	switch {
	case len(rows) == 0:
		out.Advice = "no MergeTree table is read (system tables, table functions and constants are not estimated): run it."
	case out.TotalRows > 500_000_000:
		out.Advice = fmt.Sprintf("heavy: %d rows would be read; it will likely hit the %s time limit. Narrow the time range on Timestamp and filter on ServiceName.", out.TotalRows, s.cfg.Limits.MaxExecutionTime)
	case out.TotalRows > 20_000_000:
		out.Advice = fmt.Sprintf("moderate: %d rows would be read; fine for aggregations, add filters before listing rows.", out.TotalRows)
	default:
		out.Advice = fmt.Sprintf("light: %d rows would be read.", out.TotalRows)
	}
	return nil, out, nil
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

func ifThen(c bool, s string) string {
	if c {
		return s
	}
	return ""
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
