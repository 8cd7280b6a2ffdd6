package schema

import "context"

// Rows is a query's result set as clickhouse-go (driver.Rows) and
// database/sql (*sql.Rows) return it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Client is a ClickHouse client that runs statements and returns rows, as
// clickhouse-go's driver.Conn does.
type Client[R Rows] interface {
	Exec(ctx context.Context, query string, args ...any) error
	Query(ctx context.Context, query string, args ...any) (R, error)
}

// ClientExecutor runs migrations and schema checks through a client:
// schema.ClientExecutor[driver.Rows](conn). (The embedded engine has its own,
// chdb.Executor.)
func ClientExecutor[R Rows](c Client[R]) Executor { return clientExecutor[R]{c} }

type clientExecutor[R Rows] struct{ c Client[R] }

func (e clientExecutor[R]) Exec(ctx context.Context, sql string) error { return e.c.Exec(ctx, sql) }

func (e clientExecutor[R]) QueryStrings(ctx context.Context, sql string) ([]string, error) {
	rows, err := e.c.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
