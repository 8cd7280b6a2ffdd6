package logtemplate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMiner feeds the lines of any input to a small miner and checks what
// every reader relies on: a valid UTF-8 template of bounded length whose
// hash is its own, and a template that, learned again, is itself (a
// restarted collector learning what it stored gives the same hashes).
func FuzzMiner(f *testing.F) {
	f.Add(strings.Join(append(append([]string(nil), fuzzSeeds...), fuzzRegressions...), "\n"))
	f.Add("job failed on alpha\njob failed on beta\njob failed on gamma\njob failed on delta\njob failed on alpha")
	f.Fuzz(func(t *testing.T, in string) {
		m := NewMiner(MinerConfig{MaxTemplates: 8, MaxCandidates: 4, MaxLineBytes: 48, MaxValues: 2})
		for _, line := range strings.Split(in, "\n") {
			r := m.Add(line)
			if !utf8.ValidString(r.Template) {
				t.Fatalf("template %q of %q is not valid UTF-8", r.Template, line)
			}
			if r.Hash != HashTemplate(r.Template) {
				t.Fatalf("hash of %q is not its own", r.Template)
			}
			if len(r.Template) > 48+len(" "+Placeholder) {
				t.Fatalf("template %q longer than the bound", r.Template)
			}
			if l := m.Learn(r.Template); l.Hash != r.Hash {
				t.Fatalf("learning %q (from %q) gave %q", r.Template, line, l.Template)
			}
		}
		if m.Len() > 8 {
			t.Fatalf("%d templates held, bound 8", m.Len())
		}
	})
}
