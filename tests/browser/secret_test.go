package browser

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// typingPage records typed text in clear (maskAllInputs off, passwords
// too), copies what is typed into a value attribute as some frameworks do,
// and is large enough that its full snapshot is sent in chunks.
var typingPage = template.Must(template.New("typing").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Checkout</title>
<script src="/rrweb.js"></script>
<script>window.RRWEB_CONFIG = {endpoint: {{.Endpoint}}, service: {{.Service}}, mask: false, transport: {{.Transport}}};</script>
<script src="/recorder.js"></script>
</head><body>
<h1>Checkout</h1>
<label>Name <input id="text" type="text"></label>
<label>Password <input id="pw" type="password"></label>
<label>Note <textarea id="ta"></textarea></label>
<div id="ce" contenteditable="true">Gift message:</div>
<p id="later">Comment:</p>
<script>
  const text = document.getElementById('text');
  text.addEventListener('input', () => text.setAttribute('value', text.value));
</script>
<section id="specs">{{range .Specs}}<p class="spec">{{.}}</p>{{end}}</section>
</body></html>`))

// The property: a secret typed into every kind of field of a page that
// records without masking, through both ways of sending (plain rrweb
// batches and the HyperDX recorder's OTLP logs, its large snapshot in
// chunks), is in no table of the database afterwards. The recording did
// carry it: the browser sent it.
func TestTypedSecretIsStoredNowhere(t *testing.T) {
	node, dir := prerequisites(t)
	var p *pipeline
	specs := make([]string, 6000)
	for i := range specs {
		specs[i] = fmt.Sprintf("Specification %d: aluminium arm, warm white LED, 2700 K, 806 lm, dimmable — Prüfzeichen ✓", i+1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/typing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		require.NoError(t, typingPage.Execute(w, map[string]any{
			"Endpoint": p.receiverURL, "Service": service, "Transport": r.URL.Query().Get("transport"), "Specs": specs,
		}))
	})
	for path, file := range map[string]string{"/rrweb.js": "node_modules/rrweb/dist/rrweb.umd.min.cjs", "/recorder.js": "recorder.js"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			http.ServeFile(w, r, filepath.Join(dir, file))
		})
	}
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	page := httptest.NewServer(mux)
	t.Cleanup(page.Close)
	p = startPipeline(t, "browser_secret", false, page.URL)

	const secret = "Zq7-typed-secret-9Xw"
	for _, transport := range []string{"rrweb", "otlp"} {
		t.Run(transport, func(t *testing.T) {
			var rec struct {
				SessionID      string   `json:"sessionId"`
				SentWithSecret int      `json:"sentWithSecret"`
				Problems       []string `json:"problems"`
			}
			runNode(t, node, dir, &rec, "type", page.URL+"/typing?transport="+transport, secret)
			require.Empty(t, rec.Problems)
			require.NotEmpty(t, rec.SessionID)
			require.Positive(t, rec.SentWithSecret, "the browser recorded the secret in clear: the receiver had to mask it")

			raw, chunked := p.replayEvents(t, service, rec.SessionID)
			require.NotEmpty(t, raw)
			assert.Positive(t, chunked, "the full snapshot came in chunks")
			all := make([]string, len(raw))
			for i, r := range raw {
				all[i] = string(r)
			}
			stored := strings.Join(all, "\n")
			// What the typing became: masked input events, a masked value
			// attribute, masked text in the editable elements.
			masked := strings.Repeat("*", len(secret))
			assert.Contains(t, stored, `"source":5`, "input events were stored")
			assert.Contains(t, stored, masked)
			assert.Regexp(t, `"attributes":\[\{"attributes":\{"value":"\*+"\}`, stored, "the copied value attribute, masked")
		})
	}

	// No table holds the secret, in any column.
	waitFor(t, "the session summaries", func() bool {
		return strings.TrimSpace(p.query(t, "SELECT count() FROM otel_sessions FINAL FORMAT TSV", nil)) == "2"
	})
	tables := strings.Fields(p.query(t, `SELECT name FROM system.tables WHERE database = {db:String} AND engine NOT LIKE '%View' ORDER BY name FORMAT TSV`,
		map[string]string{"db": p.db}))
	require.Contains(t, tables, "hyperdx_sessions")
	require.Contains(t, tables, "session_replay_events")
	for _, tbl := range tables {
		dump := p.query(t, "SELECT * FROM "+tbl+" FORMAT TSVRaw", nil)
		assert.NotContains(t, dump, secret, "table %s", tbl)
		t.Logf("%s: %d bytes, no secret", tbl, len(dump))
	}
}
