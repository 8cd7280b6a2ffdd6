package schema

import (
	"context"
	"strings"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// EngineExecutor runs migrations straight on the embedded engine.
type EngineExecutor struct{ Engine *chdb.Engine }

// Exec implements Executor.
func (e EngineExecutor) Exec(ctx context.Context, sql string) error { return e.Engine.Exec(ctx, sql) }

// QueryStrings implements Executor.
func (e EngineExecutor) QueryStrings(ctx context.Context, sql string) ([]string, error) {
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
