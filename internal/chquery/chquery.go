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
	"strings"
)

// Query runs sql against addr (host:port) in database db, binding params
// as {name:Type} parameters, and returns the answer without its final
// newline. A non-200 answer is an error carrying ClickHouse's message.
func Query(ctx context.Context, addr, db, sql string, params map[string]string) (string, error) {
	q := url.Values{"database": {db}}
	for k, v := range params {
		q.Set("param_"+k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/?"+q.Encode(), strings.NewReader(sql))
	if err != nil {
		return "", err
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
