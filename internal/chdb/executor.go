package chdb

import (
	"context"
	"strings"
)

// Executor runs migrations and schema checks straight on the embedded engine:
// it has the method set of schema.Executor, so the schema package needs no
// link to the engine.
type Executor struct{ Engine *Engine }

// Exec runs one statement.
func (e Executor) Exec(ctx context.Context, sql string) error { return e.Engine.Exec(ctx, sql) }

// QueryStrings returns the first column of a query's rows.
func (e Executor) QueryStrings(ctx context.Context, sql string) ([]string, error) {
	r, err := e.Engine.Query(ctx, sql, "TabSeparatedRaw")
	if err != nil {
		return nil, err
	}
	s := strings.TrimRight(string(r.Data), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}
