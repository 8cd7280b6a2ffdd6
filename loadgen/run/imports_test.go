package run

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The load generator speaks to the shop only over HTTP: it shares the fault
// API's wire types through internal/faultapi and imports nothing of
// sampleapp (its tests may start a shop in-process).
func TestNoSampleappImport(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range af.Imports {
			assert.NotContains(t, imp.Path.Value, "/sampleapp", "%s imports %s", f, imp.Path.Value)
		}
	}
}
