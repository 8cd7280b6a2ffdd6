package embed

// An offline replay of make eval's similar-error score over the error
// templates of a kept eval run, so the hash embedder can be tuned in
// seconds. Skipped unless EMBED_SIMILAR_REPLAY names a file of
//
//	template_hash <TAB> template <TAB> example_body [<TAB> service]
//
// lines (SELECT template_hash, template, any(example_body), any(service_name)
// FROM log_templates FINAL GROUP BY template_hash, template FORMAT
// TabSeparated, on a kept eval run). Every template
// with an error type is asked for, as find_similar_errors does: the example
// body is normalised to its template and embedded, the stored templates'
// vectors are ranked by cosine distance, those within max_distance are
// kept, k = 10. precision@10 is the share of hits whose error type (demo's
// ErrorType: the leading exception token) is the query's.
// EMBED_SIMILAR_MAX_DISTANCE sets the cut-off (default 0.5, find_similar_
// errors' default for such queries), EMBED_SIMILAR_UNTYPED=1 strips the
// leading "Type: " from the queries, EMBED_SIMILAR_VERBOSE=1 lists the
// queries below 1.

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
)

// As demo.ErrorType (demo/score.go), which this package cannot import.
var (
	replayErrTypeRe   = regexp.MustCompile(`^\s*(?:\[[^\]]*\]\s*)?([A-Za-z_][A-Za-z0-9_.$]*(?:Error|Exception|Failure|Fault|Panic|Timeout))\b`)
	replayFirstWordRe = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.$]*)\s*:`)
)

func replayErrorType(msg string) string {
	if m := replayErrTypeRe.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	if m := replayFirstWordRe.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

func TestSimilarErrorsReplay(t *testing.T) {
	path := os.Getenv("EMBED_SIMILAR_REPLAY")
	if path == "" {
		t.Skip("EMBED_SIMILAR_REPLAY not set: no kept templates to replay")
	}
	maxDist := 0.5
	if v := os.Getenv("EMBED_SIMILAR_MAX_DISTANCE"); v != "" {
		var err error
		if maxDist, err = strconv.ParseFloat(v, 64); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unescape := strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`, `\'`, `'`)
	type tpl struct{ template, body, typ string }
	var all []tpl
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 3 {
			continue
		}
		tp, body := unescape.Replace(c[1]), unescape.Replace(c[2])
		if seen[tp] {
			continue
		}
		seen[tp] = true
		all = append(all, tpl{tp, body, replayErrorType(tp)})
	}
	e := NewHash(384)
	stored := make([][]float32, len(all))
	for i, x := range all {
		stored[i] = e.EmbedOne(x.template)
	}
	byType := map[string][]float64{}
	nHits := 0
	var lines []string
	for _, q := range all {
		if q.typ == "" {
			continue
		}
		text := q.body
		if os.Getenv("EMBED_SIMILAR_UNTYPED") != "" {
			// The query without its leading "Type: ", as a person might
			// paste or paraphrase it.
			text = strings.TrimSpace(strings.TrimPrefix(text, q.typ+":"))
		}
		v := e.EmbedOne(logtemplate.Normalize(text).Template)
		type hit struct {
			i    int
			dist float64
		}
		var hits []hit
		for i := range all {
			if d := 1 - float64(dot(v, stored[i])); d <= maxDist {
				hits = append(hits, hit{i, d})
			}
		}
		sort.SliceStable(hits, func(a, b int) bool { return hits[a].dist < hits[b].dist })
		if len(hits) > 10 {
			hits = hits[:10]
		}
		rel := 0
		nHits += len(hits)
		var types []string
		for _, h := range hits {
			types = append(types, fmt.Sprintf("%s(%.2f)", all[h.i].typ, h.dist))
			if all[h.i].typ == q.typ {
				rel++
			}
		}
		p := 0.0
		if len(hits) > 0 {
			p = float64(rel) / float64(len(hits))
		}
		byType[q.typ] = append(byType[q.typ], p)
		if p < 1 {
			lines = append(lines, fmt.Sprintf("%.2f %-26s %.90q\n      %s", p, q.typ, q.template, strings.Join(types, " ")))
		}
	}
	var types []string
	for ty := range byType {
		types = append(types, ty)
	}
	sort.Strings(types)
	var b strings.Builder
	var perType, perTemplate float64
	n := 0
	for _, ty := range types {
		s := 0.0
		for _, p := range byType[ty] {
			s += p
			perTemplate += p
			n++
		}
		perType += s / float64(len(byType[ty]))
		fmt.Fprintf(&b, "\n  %-28s %3d templates  precision@10 %.2f", ty, len(byType[ty]), s/float64(len(byType[ty])))
	}
	t.Logf("%d templates, %d with a type; max_distance %.2f: precision@10 mean over types %.3f, over templates %.3f; %.1f hits per query%s",
		len(all), n, maxDist, perType/float64(len(types)), perTemplate/float64(n), float64(nHits)/float64(n), b.String())
	if os.Getenv("EMBED_SIMILAR_VERBOSE") != "" {
		t.Logf("queries below 1:\n%s", strings.Join(lines, "\n"))
	}
}
