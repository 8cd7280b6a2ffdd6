package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/faultapi"
	"github.com/otelcol-agentic/otelcol-agentic/loadgen/run"
	"github.com/otelcol-agentic/otelcol-agentic/mcp"
)

// A fault the user sees: the cart page's request for the cart fails, the
// page shows an error banner, and the shoppers give up. Browsers walk the
// shop through the built collector; the MCP server's session scan, reading
// the collector's tables as the agent user, names the sessions the ground
// truth lists as hurt.
func TestUserVisibleFaultIsFoundWithTheAffectedSessions(t *testing.T) {
	col, shop := collectorAndShop(t)
	cfg := browserLoad(t, shop, 2, 5)
	cfg.JourneyMix = map[string]int{run.Normal: 1}
	cfg.Patterns = map[string]map[string]int{run.Normal: {"purchase": 1}}
	cfg.Duration = run.Duration(35 * time.Second)
	cfg.Scenarios = []run.Scenario{{Name: "cart_page_error", RootCause: "frontend_service_cart_read_error",
		Windows: []run.FixedWindow{{Start: 0, Duration: run.Duration(time.Hour)}},
		Inject:  []faultapi.Spec{{Type: faultapi.ErrorRate, Service: "frontend", Route: "GET /cart/{id}", Probability: 1}}}}
	var out bytes.Buffer
	_, err := run.Run(t.Context(), cfg, &out)
	require.NoError(t, err, out.String())
	t.Log(out.String())
	require.NoError(t, shop.Flush(t.Context()))

	var hurt []string
	for _, r := range readTruthRecords(t, cfg.GroundTruth) {
		if r["kind"] != run.KindFaultWindow {
			continue
		}
		// The recorded sessions among those whose request failed.
		failed := map[string]bool{}
		for _, s := range r["error_sessions"].([]any) {
			failed[s.(string)] = true
		}
		for _, s := range r["affected_browser_sessions"].([]any) {
			if failed[s.(string)] {
				hurt = append(hurt, s.(string))
			}
		}
	}
	require.NotEmpty(t, hurt, "the browsers' cart pages ran into the fault")
	// The hurt sessions' pages reported the error they showed, and their
	// session rows are stored.
	for _, sid := range hurt {
		p := map[string]string{"sid": sid}
		eventually(t, col, "the page's error span of session "+sid, `SELECT count() FROM otel_traces
			WHERE ResourceAttributes['rum.sessionId'] = {sid:String} AND SpanAttributes['component'] = 'error'`,
			p, func(s string) bool { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n > 0 })
		eventually(t, col, "the otel_sessions row of "+sid, `SELECT count() FROM otel_sessions FINAL WHERE SessionId = {sid:String}`,
			p, func(s string) bool { return strings.TrimSpace(s) == "1" })
	}

	// The analysis, from telemetry only.
	host, port, err := net.SplitHostPort(col.ClickHTTP)
	require.NoError(t, err)
	mcfg := mcp.DefaultConfig()
	mcfg.ClickHouse.Host = host
	mcfg.ClickHouse.Port, err = strconv.Atoi(port)
	require.NoError(t, err)
	mcfg.ClickHouse.User = "agent"
	mcfg.ClickHouse.Password = col.As("agent").Password
	srv, err := mcp.New(mcfg)
	require.NoError(t, err)
	defer srv.Close()
	ctx := context.Background()
	ct, st := sdk.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	require.NoError(t, err)
	defer ss.Close()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "shop-test", Version: "1"}, nil).Connect(ctx, ct, nil)
	require.NoError(t, err)
	defer cs.Close()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcp.ToolDetectSessionAnomalies, Arguments: map[string]any{"window": "15m", "k": 100}})
	require.NoError(t, err)
	require.False(t, res.IsError)
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	var found mcp.DetectSessionAnomaliesOutput
	require.NoError(t, json.Unmarshal(b, &found))
	t.Logf("session scan: %d sessions, %d anomalous, by kind %v", found.Sessions, found.Anomalous, found.ByKind)
	flagged := map[string]mcp.SessionAnomaly{}
	for _, a := range found.Top {
		flagged[a.SessionID] = a
	}
	for _, sid := range hurt {
		a, ok := flagged[sid]
		if assert.True(t, ok, "hurt session %s is flagged", sid) {
			assert.Contains(t, a.Kinds, mcp.SessionErrorShown, "%s: %v", sid, a.Reasons)
			assert.Contains(t, a.Kinds, mcp.SessionFailedRequests, "%s: %v", sid, a.Reasons)
			assert.NotEmpty(t, a.ExampleTraceID)
		}
	}
	for sid := range flagged {
		assert.True(t, slices.Contains(hurt, sid), "flagged session %s was not hurt by the fault", sid)
	}
}

func readTruthRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m))
		out = append(out, m)
	}
	return out
}
