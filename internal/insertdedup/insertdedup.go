// Package insertdedup carries a ClickHouse insert deduplication token in a
// context: the spool connector names each delivery by the spool positions
// it holds, and every insert made for that delivery carries the name, so
// that ClickHouse drops an insert sent again after a failed attempt or a
// crash. clickhouse-go reads query settings from the context; a writer that
// sets settings of its own (clickhouse.WithSettings replaces them all) adds
// the token's with Settings.
package insertdedup

import (
	"context"
	"maps"

	"github.com/ClickHouse/clickhouse-go/v2"
)

type tokenKey struct{}

// WithToken returns ctx carrying token, as clickhouse-go query settings
// and for Token and Settings.
func WithToken(ctx context.Context, token string) context.Context {
	ctx = context.WithValue(ctx, tokenKey{}, token)
	return clickhouse.Context(ctx, clickhouse.WithSettings(Settings(ctx, nil)))
}

// Token returns the token ctx carries, or "".
func Token(ctx context.Context) string {
	t, _ := ctx.Value(tokenKey{}).(string)
	return t
}

// Settings returns s (copied) with the settings that make ClickHouse
// deduplicate an insert by ctx's token: a synchronous insert (its parts
// carry the token, numbered by block, whatever else arrives at the same
// time), deduplicated, in the tables of materialized views too. Without a
// token it returns a copy of s.
func Settings(ctx context.Context, s clickhouse.Settings) clickhouse.Settings {
	out := maps.Clone(s)
	if out == nil {
		out = clickhouse.Settings{}
	}
	if t := Token(ctx); t != "" {
		out["async_insert"] = 0
		out["insert_deduplicate"] = 1
		out["insert_deduplication_token"] = t
		out["deduplicate_blocks_in_dependent_materialized_views"] = 1
	}
	return out
}
