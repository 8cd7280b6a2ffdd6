// Package templatestore keeps the online template miner's state in
// ClickHouse beside the templates: the templates themselves (log_templates,
// written with their vectors by the clickhouse_vector exporter) and the
// re-pointing of hashes that generalised into another template
// (log_template_aliases). The exporter writes a re-pointing with the
// occurrences of the batch whose records carry it; this package writes
// those that learning finds. At start a miner learns the stored templates
// again; every sync it learns the templates other collectors stored and
// writes the re-pointings that finds, so collectors that share a database
// converge on one template set.
package templatestore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
)

// Options locate the ClickHouse that holds the templates.
type Options struct {
	Endpoint    string // ClickHouse's HTTP interface, http(s)://host:port
	Username    string
	Password    string
	Database    string
	DialTimeout time.Duration
	// MaxAliases bounds the aliases held while ClickHouse is unreachable;
	// the oldest are dropped past it (a later re-learning finds the merge
	// again).
	MaxAliases int
	// Overlap is how far before the last template read a sync reads again
	// (default 5s): a row whose insert was under way during the last sync
	// may carry an earlier time than rows read then.
	Overlap time.Duration
}

// Store reads templates from and writes aliases to one database.
type Store struct {
	conn    driver.Conn
	max     int
	overlap time.Duration

	// since is the stored time of the newest template read: a sync reads
	// templates stored after it (less the overlap). Zero until a read of
	// all templates succeeded.
	since time.Time

	mu      sync.Mutex
	pending []alias
	dropped uint64
}

type alias struct {
	old, canonical uint64
	at             time.Time
}

// Open connects to the database; it does not check that the tables exist
// (the exporter or the chdb extension creates them, possibly later).
func Open(o Options) (*Store, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("template store endpoint %q: %w", o.Endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("template store endpoint %q must be an http:// or https:// URL of ClickHouse's HTTP interface", o.Endpoint)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.MaxAliases <= 0 {
		o.MaxAliases = 100000
	}
	if o.Overlap <= 0 {
		o.Overlap = 5 * time.Second
	}
	opts := &clickhouse.Options{
		Addr:        []string{u.Host},
		Protocol:    clickhouse.HTTP,
		Auth:        clickhouse.Auth{Database: o.Database, Username: o.Username, Password: o.Password},
		DialTimeout: o.DialTimeout,
	}
	if u.Scheme == "https" {
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open ClickHouse at %s: %w", u.Host, err)
	}
	return &Store{conn: conn, max: o.MaxAliases, overlap: o.Overlap}, nil
}

// Close closes the connection; aliases not flushed are lost (they are
// found again when the templates are learned at the next start).
func (s *Store) Close() error { return s.conn.Close() }

// Alias records that occurrences stored under the hashes old belong to the
// template canonical from now on. It only buffers; Flush writes.
func (s *Store) Alias(old []uint64, canonical uint64) {
	if len(old) == 0 {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range old {
		if h != canonical {
			s.pending = append(s.pending, alias{old: h, canonical: canonical, at: now})
		}
	}
	if over := len(s.pending) - s.max; over > 0 {
		s.pending = slices.Delete(s.pending, 0, over)
		s.dropped += uint64(over)
	}
}

// Flush writes the buffered aliases. On failure they stay buffered.
func (s *Store) Flush(ctx context.Context) (int, error) {
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	err := s.insert(ctx, batch)
	if err != nil {
		s.mu.Lock()
		s.pending = append(batch, s.pending...)
		s.mu.Unlock()
		return 0, err
	}
	return len(batch), nil
}

func (s *Store) insert(ctx context.Context, as []alias) error {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO log_template_aliases (template_hash, canonical_hash, updated)")
	if err != nil {
		return fmt.Errorf("prepare template alias insert: %w", err)
	}
	for _, a := range as {
		if err := b.Append(a.old, a.canonical, a.at); err != nil {
			_ = b.Abort()
			return fmt.Errorf("template alias row: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d template aliases: %w", len(as), err)
	}
	return nil
}

// Templates returns the stored templates that no alias re-points, at most
// limit of them, those seen last first, and when the newest of them was
// stored.
func (s *Store) Templates(ctx context.Context, limit int) ([]string, time.Time, error) {
	return s.read(ctx, fmt.Sprintf(`SELECT template, max(stored) AS s FROM log_templates
		WHERE template_hash NOT IN (SELECT template_hash FROM log_template_canonical)
		GROUP BY template ORDER BY max(first_seen) DESC, template LIMIT %d`, max(limit, 0)))
}

// StoredSince returns the templates stored after since, at most limit of
// them, the first stored first, and when the last of them was stored. It
// reads only the parts of log_templates that hold such rows (the minmax
// index on stored), so its cost follows the number of new templates.
// Templates re-pointed since are not left out (that would read every
// alias): learning one makes it join the template it became, if known,
// and the newer template, stored later, is learned after it.
func (s *Store) StoredSince(ctx context.Context, since time.Time, limit int) ([]string, time.Time, error) {
	ts, newest, err := s.read(ctx, fmt.Sprintf(`SELECT template, min(stored) AS s FROM log_templates
		WHERE stored > fromUnixTimestamp64Milli(%d)
		GROUP BY template ORDER BY s, template LIMIT %d`, since.UnixMilli(), max(limit, 0)))
	slices.Reverse(ts) // newest first, as Templates
	return ts, newest, err
}

func (s *Store) read(ctx context.Context, query string) ([]string, time.Time, error) {
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read the stored templates: %w", err)
	}
	defer rows.Close()
	var (
		out    []string
		newest time.Time
	)
	for rows.Next() {
		var (
			t  string
			at time.Time
		)
		if err := rows.Scan(&t, &at); err != nil {
			return nil, time.Time{}, err
		}
		out = append(out, t)
		if at.After(newest) {
			newest = at
		}
	}
	return out, newest, rows.Err()
}

// Sync teaches the miner the stored templates (oldest first, so that the
// newest are the last evicted), then writes the re-pointings that learning
// (or lines since the last sync) found, with any left from a failed sync.
// The first sync reads the newest limit templates; every later one only
// those stored since the one before, so a sync costs what arrived since,
// not what is stored. It returns how many aliases were written and
// templates read.
func Sync(ctx context.Context, s *Store, m *logtemplate.Miner, limit int) (aliases, templates int, err error) {
	var (
		ts     []string
		newest time.Time
		terr   error
	)
	s.mu.Lock()
	since := s.since
	s.mu.Unlock()
	if since.IsZero() {
		ts, newest, terr = s.Templates(ctx, limit)
	} else {
		ts, newest, terr = s.StoredSince(ctx, since.Add(-s.overlap), limit)
	}
	for i := len(ts) - 1; i >= 0; i-- {
		m.Learn(ts[i])
	}
	if terr == nil {
		s.mu.Lock()
		if newest.After(s.since) {
			s.since = newest
		} else if s.since.IsZero() {
			// Nothing stored yet: from the start of time.
			s.since = time.Unix(0, 1)
		}
		s.mu.Unlock()
	}
	for _, a := range m.Aliases() {
		s.Alias(a.Old, a.Canonical)
	}
	aliases, ferr := s.Flush(ctx)
	return aliases, len(ts), errors.Join(ferr, terr)
}

// Dropped is the number of aliases dropped because too many were waiting.
func (s *Store) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}
