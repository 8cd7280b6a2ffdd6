package lexicon

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEveryConceptIsBilingualAndSourced(t *testing.T) {
	names := map[string]bool{}
	for _, c := range Concepts() {
		assert.Regexp(t, `^[a-z][a-z0-9_]*$`, c.Name)
		assert.False(t, names[c.Name], "concept %s twice", c.Name)
		names[c.Name] = true
		assert.NotEmpty(t, c.About, c.Name)
		langs := map[Lang]int{}
		seen := map[string]bool{}
		for _, s := range c.Spellings {
			langs[s.Lang]++
			assert.NotEmpty(t, strings.TrimSpace(s.Text), c.Name)
			assert.False(t, seen[strings.ToLower(s.Text)], "%s spells %q twice", c.Name, s.Text)
			seen[strings.ToLower(s.Text)] = true
			_, ok := SourceOf(s.Source)
			assert.True(t, ok, "%s: %q has no source", c.Name, s.Text)
			hangul := strings.ContainsFunc(s.Text, func(r rune) bool { return unicode.Is(unicode.Hangul, r) })
			assert.Equal(t, s.Lang == Korean, hangul, "%s: %q is marked %v", c.Name, s.Text, s.Lang)
			if s.Source == GlibcKo || s.Source == MDNKo || s.Source == DotNetKo || s.Source == WinsockKo || s.Source == KoIT {
				assert.Equal(t, Korean, s.Lang, "%s: %q comes from a Korean source", c.Name, s.Text)
			}
		}
		assert.Positive(t, langs[English], "%s has no English spelling", c.Name)
		assert.Positive(t, langs[Korean], "%s has no Korean spelling", c.Name)
	}
	for _, s := range Sources {
		assert.NotEmpty(t, s.Name)
		assert.NotEmpty(t, s.Where)
	}
	_, ok := Lookup("connection_refused")
	assert.True(t, ok)
	_, ok = Lookup("no_such_concept")
	assert.False(t, ok)
}

var identRE = regexp.MustCompile(`[a-z0-9_$]+`)

var errorClassRE = regexp.MustCompile(`[A-Z][A-Za-z0-9]*(?:Error|Exception|Failure|Fault)\b`)

// No spelling names one of the sample shop's error classes (or the load
// generator's), and no phrase of three words or more is taken from the
// shop's texts: the lexicon is general, so what the evaluation measures on
// the shop is not tuned to it. The shop's tests are left out of the texts:
// they quote the Go runtime ("integer divide by zero"), not the shop.
func TestNoSampleShop(t *testing.T) {
	var literals []string
	classes := map[string]bool{}
	for _, dir := range []string{"../../sampleapp", "../../loadgen"} {
		shop := dir == "../../sampleapp"
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.BasicLit:
					if x.Kind == token.STRING {
						if s, err := strconv.Unquote(x.Value); err == nil {
							if shop && !strings.HasSuffix(path, "_test.go") {
								literals = append(literals, strings.ToLower(s))
							}
							for _, c := range errorClassRE.FindAllString(s, -1) {
								classes[strings.ToLower(c)] = true
							}
						}
					}
				case *ast.Ident:
					if errorClassRE.MatchString(x.Name) {
						classes[strings.ToLower(x.Name)] = true
					}
				}
				return true
			})
			return nil
		})
		require.NoError(t, err)
	}
	require.NotEmpty(t, classes, "no error classes found in the sample shop: the check would prove nothing")
	require.True(t, classes["inventorydberror"], "the shop's InventoryDBError was not found: the scan is broken")
	for _, c := range Concepts() {
		for _, s := range c.Spellings {
			low := strings.ToLower(s.Text)
			for _, tok := range identRE.FindAllString(low, -1) {
				assert.False(t, classes[tok], "%s: %q names the sample shop's class %s", c.Name, s.Text, tok)
			}
			if len(strings.Fields(low)) < 3 {
				continue
			}
			for _, lit := range literals {
				assert.NotContains(t, lit, low, "%s: %q is taken from the sample shop's text %q", c.Name, s.Text, lit)
			}
		}
	}
}
