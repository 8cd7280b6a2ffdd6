package mcp

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/tools.json from the running server")

// The tool list is an interface models and clients learn: a change to a
// name, description, annotation or schema must be deliberate. Run
// `go test ./mcp -run TestToolSchemaSnapshot -update` to accept one.
func TestToolSchemaSnapshot(t *testing.T) {
	h := connect(t, testConfig(t, "mcp_pool"), time.Now())
	list, err := h.cs.ListTools(context.Background(), nil)
	require.NoError(t, err)
	tools := list.Tools
	sort.Slice(tools, func(i, j int) bool { return tools[i].Name < tools[j].Name })
	got, err := json.MarshalIndent(tools, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	path := filepath.Join("testdata", "tools.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create %s", path)
	assert.JSONEq(t, string(want), string(got), "the tool list changed: run `go test ./mcp -run TestToolSchemaSnapshot -update` if that is intended")

	names := make([]string, len(tools))
	for i, tl := range tools {
		names[i] = tl.Name
		assert.True(t, tl.Annotations.ReadOnlyHint, tl.Name)
		require.NotNil(t, tl.Annotations.DestructiveHint, tl.Name)
		assert.False(t, *tl.Annotations.DestructiveHint, tl.Name)
		assert.NotNil(t, tl.OutputSchema, tl.Name)
		assert.Less(t, len(tl.Description), 800, tl.Name)
	}
	assert.Equal(t, []string{ToolAnalyzeRootCause, ToolCompareAttributes, ToolCompareWindows, ToolDescribeTable, ToolDetectAnomalousTraces, ToolDetectSessionAnomalies, ToolErrorSummary, ToolEstimateQuery,
		ToolFindSimilarErrors, ToolGetSession, ToolGetTrace, ToolListIncidents, ToolListTables, ToolMatchErrorPatterns, ToolRunSelectQuery}, names)
}

func TestNullArgumentsAndUnknownFieldsAreSafe(t *testing.T) {
	h, _ := onDataset(t, poolExhaustion)
	ctx := context.Background()
	// Arguments that are JSON null are no arguments.
	res, err := h.cs.CallTool(ctx, &sdk.CallToolParams{Name: ToolListTables, Arguments: nil})
	require.NoError(t, err)
	assert.False(t, res.IsError, resultText(res))
	// Wrong types are refused with the schema's reason.
	res, err = h.cs.CallTool(ctx, &sdk.CallToolParams{Name: ToolAnalyzeRootCause, Arguments: map[string]any{"k": "five"}})
	require.NoError(t, err)
	assert.True(t, res.IsError)
	assert.Contains(t, resultText(res), "k")
}
