package layers_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/otelcol-agentic/otelcol-agentic/"

// graph is the module's own import graph as `go list` sees it, without test
// files: package -> the module packages it imports directly.
type graph map[string][]string

var (
	loadOnce sync.Once
	loaded   graph
	loadErr  error
)

func load(t *testing.T) graph {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = list() })
	require.NoError(t, loadErr)
	require.NotEmpty(t, loaded, "go list listed no package of the module")
	return loaded
}

func list() (graph, error) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list ./... from the repository root: %w: %s", err, stderr.String())
	}
	g := graph{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], module) {
			continue
		}
		p := strings.TrimPrefix(f[0], module)
		g[p] = nil
		for _, d := range f[1:] {
			if strings.HasPrefix(d, module) {
				g[p] = append(g[p], strings.TrimPrefix(d, module))
			}
		}
	}
	return g, sc.Err()
}

// path returns a chain of imports from one package to the first package that
// matches, or nil when there is none.
func (g graph) path(from string, match func(string) bool) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, d := range g[p] {
			if _, seen := prev[d]; seen {
				continue
			}
			prev[d] = p
			if match(d) {
				var chain []string
				for q := d; q != ""; q = prev[q] {
					chain = append([]string{q}, chain...)
				}
				return chain
			}
			queue = append(queue, d)
		}
	}
	return nil
}

func under(dirs ...string) func(string) bool {
	return func(p string) bool {
		for _, d := range dirs {
			if p == d || strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}
}

// component returns the component folder a package belongs to
// ("exporter/clickhousevectorexporter"), or "" for a package outside one.
func component(p string) string {
	f := strings.SplitN(p, "/", 3)
	switch f[0] {
	case "exporter", "receiver", "processor", "extension", "connector":
		if len(f) >= 2 {
			return f[0] + "/" + f[1]
		}
	}
	return ""
}

var components = []string{"exporter", "receiver", "processor", "extension", "connector"}

func TestSharedPackagesDoNotReachIntoComponentsOrPrograms(t *testing.T) {
	g := load(t)
	upper := under(append(components, "mcp", "demo", "loadgen", "sampleapp", "tests")...)
	for p := range g {
		if !under("internal", "schema")(p) {
			continue
		}
		chain := g.path(p, upper)
		require.Nilf(t, chain, "shared package %s reaches a component or program (%s): move what both need into internal/ or schema/",
			p, strings.Join(chain, " -> "))
	}
}

func TestComponentsDoNotImportEachOther(t *testing.T) {
	g := load(t)
	for p := range g {
		own := component(p)
		if own == "" {
			continue
		}
		chain := g.path(p, func(d string) bool { c := component(d); return c != "" && c != own })
		require.Nilf(t, chain, "component package %s reaches another component (%s): a type two components need lives in internal/",
			p, strings.Join(chain, " -> "))
	}
}

func TestProductionCodeDoesNotImportTestSupport(t *testing.T) {
	g := load(t)
	for p := range g {
		if under("tests")(p) {
			continue
		}
		chain := g.path(p, under("tests", "internal/chdbtest"))
		require.Nilf(t, chain, "%s links test support (%s): only _test.go files may import it", p, strings.Join(chain, " -> "))
	}
}

// The engine binding is linked only where the engine is hosted or served.
func TestReadersDoNotLinkTheEngineBinding(t *testing.T) {
	g := load(t)
	engine := under("internal/chdb")
	for _, p := range []string{"schema", "mcp", "mcp/cmd/agentic-mcp", "exporter/clickhousevectorexporter"} {
		require.Containsf(t, g, p, "package %s is gone: update this test's list", p)
		chain := g.path(p, engine)
		require.Nilf(t, chain, "%s links the chDB binding (%s): speak to the engine through schema.Executor or over HTTP",
			p, strings.Join(chain, " -> "))
	}
}

// Pending: loadgen -> sampleapp (loadgen/run imports sampleapp/faults for the
// fault API's wire types) goes with issue 22; once it has, a test here asserts
// that loadgen reaches no package under sampleapp/.
