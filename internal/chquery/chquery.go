// Package chquery runs one SQL statement over ClickHouse's HTTP interface
// and returns the TabSeparated answer: the small client the demo and the
// end-to-end tests share for reading what the collector stored.
package chquery

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Client reaches one ClickHouse HTTP interface as one user.
type Client struct {
	Addr     string // host:port
	Database string
	User     string // empty: ClickHouse's "default"
	Password string
}

// Query runs sql against addr (host:port) in database db as user
// "default", binding params as {name:Type} parameters.
func Query(ctx context.Context, addr, db, sql string, params map[string]string) (string, error) {
	return Client{Addr: addr, Database: db}.Query(ctx, sql, params)
}

// Query runs sql, binding params as {name:Type} parameters, and returns
// the answer without its final newline. A non-200 answer is an error
// carrying ClickHouse's message. Credentials go in headers, never in the
// URL.
func (c Client) Query(ctx context.Context, sql string, params map[string]string) (string, error) {
	q := url.Values{"database": {c.Database}}
	for k, v := range params {
		q.Set("param_"+k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.Addr+"/?"+q.Encode(), strings.NewReader(sql))
	if err != nil {
		return "", err
	}
	if c.User != "" {
		req.Header.Set("X-ClickHouse-User", c.User)
		req.Header.Set("X-ClickHouse-Key", c.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// Secret reads a password the collector generated into its data directory
// (otelcol-config.yaml: ${secretfile:<data>/secrets/<name>}).
func Secret(dataDir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "secrets", name))
	if err != nil {
		return "", fmt.Errorf("read the %s password the collector generates at its first start: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
