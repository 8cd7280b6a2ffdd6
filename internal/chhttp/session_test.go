package chhttp_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func inSession(id string, extra ...string) url.Values {
	v := url.Values{"session_id": {id}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func sessionQuery(t *testing.T, id, sql string, extra ...string) string {
	t.Helper()
	res, body := post(t, inSession(id, extra...), sql, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", sql, body)
	return strings.TrimSpace(body)
}

// As clickhouse-connect uses them: SET and temporary tables last across the
// requests of one session, and only there.
func TestSessionsKeepStateBetweenRequests(t *testing.T) {
	sessionQuery(t, "s-a", "SET max_threads = 3")
	assert.Equal(t, "3", sessionQuery(t, "s-a", "SELECT getSetting('max_threads')"))
	assert.NotEqual(t, "3", sessionQuery(t, "s-b", "SELECT getSetting('max_threads')"), "another session")
	assert.NotEqual(t, "3", strings.TrimSpace(query(t, "SELECT getSetting('max_threads')")), "no session")

	sessionQuery(t, "s-a", "CREATE TEMPORARY TABLE tmp_s (x UInt8)")
	sessionQuery(t, "s-a", "INSERT INTO tmp_s VALUES (1), (2)")
	assert.Equal(t, "2", sessionQuery(t, "s-a", "SELECT count() FROM tmp_s"))
	res, body := post(t, inSession("s-b"), "SELECT count() FROM tmp_s", nil)
	requireCHError(t, res, body, 60)

	// A URL setting of one request does not stick to the session's next.
	assert.Equal(t, "5", sessionQuery(t, "s-a", "SELECT getSetting('max_block_size')", "max_block_size", "5"))
	assert.NotEqual(t, "5", sessionQuery(t, "s-a", "SELECT getSetting('max_block_size')"))

	res, body = get(t, inSession("s-a", "query", "SELECT 1"), nil)
	requireCHError(t, res, body, 48)
	res, body = post(t, inSession("s-none", "session_check", "1"), "SELECT 1", nil)
	requireCHError(t, res, body, 372)
	res, body = post(t, inSession("s-a", "session_timeout", "x"), "SELECT 1", nil)
	requireCHError(t, res, body, 36)
	requireHealthy(t, nil)
}

// One request at a time per session: a second one while the first runs is
// refused with SESSION_IS_LOCKED, and the session goes on afterwards.
func TestSessionIsLockedWhileInUse(t *testing.T) {
	var wg sync.WaitGroup
	wg.Go(func() {
		sessionQuery(t, "s-lock", "SELECT sleep(2) SETTINGS log_comment = 'session-lock-test'")
	})
	require.Eventually(t, func() bool {
		return strings.TrimSpace(query(t, "SELECT count() FROM system.processes WHERE query LIKE '%session-lock-test%' AND query NOT LIKE '%system.processes%'")) == "1"
	}, 10e9, 20e6)
	res, body := post(t, inSession("s-lock"), "SELECT 1", nil)
	requireCHError(t, res, body, 373)
	wg.Wait()
	assert.Equal(t, "1", sessionQuery(t, "s-lock", "SELECT 1"))
}
