package logtemplate

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The miner is scored the way readers see it: every line under the hash it
// was given when it arrived, re-pointed through the Replaces the miner
// handed out later (the alias table readers resolve).
func mineSystem(cfg MinerConfig, lines []loghubLine) (hashes []uint64, templates []string) {
	return mineMasked(cfg, lines, normMask)
}

// mineMasked is mineSystem with another masker in front of the miner.
func mineMasked(cfg MinerConfig, lines []loghubLine, mask func(string) string) (hashes []uint64, templates []string) {
	m := NewMiner(cfg)
	given := make([]uint64, len(lines))
	text := map[uint64]string{}
	alias := map[uint64]uint64{}
	for i, l := range lines {
		r := m.add(mask(l.content), false)
		given[i] = r.Hash
		text[r.Hash] = r.Template
		for _, old := range r.Replaces {
			if old != r.Hash {
				alias[old] = r.Hash
			}
		}
	}
	hashes = make([]uint64, len(lines))
	templates = make([]string, len(lines))
	for i, h := range given {
		for n := 0; n < 64; n++ {
			next, ok := alias[h]
			if !ok || next == h {
				break
			}
			h = next
		}
		hashes[i] = h
		templates[i] = text[h]
	}
	return hashes, templates
}

// canonicalTemplate puts a ground-truth or mined template in one form for
// the exact comparison of parsing accuracy: whitespace collapsed, and runs
// of placeholders with nothing but spaces or separators between them made
// one (Normalize merges them; Loghub's templates sometimes do not).
func canonicalTemplate(t string) string {
	t = strings.Join(strings.Fields(t), " ")
	for {
		u := t
		for _, sep := range []string{" ", ":", ",", ".", "-", "_", "/", "=", ";", "|", "#", "@", "+", "~", "\\"} {
			t = strings.ReplaceAll(t, Placeholder+sep+Placeholder, Placeholder)
		}
		t = strings.ReplaceAll(t, Placeholder+Placeholder, Placeholder)
		if t == u {
			return t
		}
	}
}

// parsingAccuracy is Loghub's PA: the share of lines whose template equals
// the ground truth's.
func parsingAccuracy(truth, got []string) float64 {
	ok := 0
	for i := range truth {
		if canonicalTemplate(truth[i]) == canonicalTemplate(got[i]) {
			ok++
		}
	}
	return float64(ok) / float64(len(truth))
}

func loadTemplates(tb testing.TB, sys loghubSystem) []string {
	tb.Helper()
	dir, _ := loghubDir()
	fh, err := os.Open(filepath.Join(dir, sys.name+"_2k.log_structured_corrected.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	ti := -1
	for i, h := range recs[0] {
		if h == "EventTemplate" {
			ti = i
		}
	}
	if ti < 0 {
		tb.Fatalf("%s: no EventTemplate column", sys.name)
	}
	out := make([]string, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		out = append(out, rec[ti])
	}
	return out
}

// minerGrid is what leave-one-system-out chooses from.
func minerGrid() []MinerConfig {
	var grid []MinerConfig
	for _, vals := range []int{1, 2, 3, 4, 6} {
		for _, depth := range []int{1, 2, 3} {
			for _, sim := range []float64{0.3, 0.4, 0.5, 0.6, 0.7, 0.8} {
				c := DefaultMinerConfig()
				c.MaxValues, c.Depth, c.Similarity = vals, depth, sim
				grid = append(grid, c)
			}
		}
	}
	return grid
}

func truthOf(sys loghubSystem) []string {
	t := make([]string, len(sys.lines))
	for i, l := range sys.lines {
		t[i] = l.eventID
	}
	return t
}

// weakMask masks only runs of digits: the miner behind it stands for the
// miner on a system whose values today's masks do not recognise.
func weakMask(s string) string { return strings.Join(strings.Fields(digitsOnly(s)), " ") }

func normMask(s string) string { return Normalize(s).Template }

// Thresholds of the accuracy report, set from its measurements (the
// figures beside them; see the package documentation): they catch a change
// that makes the miner generalise worse.
const (
	minLOOGA     = 0.95  // every system, leave-one-system-out, behind Normalize (lowest measured 0.9605, Hadoop)
	minLOOMeanGA = 0.985 // mean of the above (measured 0.9926)
	// Behind the digits-only mask. OpenSSH held out is scored with
	// max_values 6, which the other six prefer, and its user names (few,
	// frequent words) then keep templates of their own: 0.615.
	minWeakGA        = 0.60 // every system (lowest measured 0.615, OpenSSH)
	minWeakMeanGA    = 0.90 // (measured 0.911)
	minDefWeakMeanGA = 0.97 // DefaultMinerConfig behind the digits-only mask (measured 0.981)
	minMeanPA        = 0.60 // parsing accuracy, mean over the seven with the defaults (measured 0.6305)
)

// TestLoghubLeaveOneSystemOut scores the miner on each public Loghub
// system with the settings that do best on the other six (minerGrid),
// beside today's stateless normaliser alone (written looking at all seven,
// so its figures are not held out), and prints grouping accuracy (GA) and
// parsing accuracy (PA, template text exact). The settings are chosen by
// their worst GA over the six behind two maskers, Normalize and the
// digits-only one (ties: the best mean), so that they suit systems whose
// values Normalize does not recognise as well as those it does, and no
// system is sacrificed for the others.
func TestLoghubLeaveOneSystemOut(t *testing.T) {
	systems := loadLoghub(t)
	grid := minerGrid()
	// ga[s][g], weak[s][g]: GA of grid setting g on system s behind
	// Normalize and behind the digits-only mask.
	ga := make([][]float64, len(systems))
	weak := make([][]float64, len(systems))
	for s, sys := range systems {
		truth := truthOf(sys)
		ga[s] = make([]float64, len(grid))
		weak[s] = make([]float64, len(grid))
		for g, cfg := range grid {
			h, _ := mineMasked(cfg, sys.lines, normMask)
			ga[s][g] = groupingAccuracy(truth, h)
			h, _ = mineMasked(cfg, sys.lines, weakMask)
			weak[s][g] = groupingAccuracy(truth, h)
		}
	}
	var report strings.Builder
	fmt.Fprintf(&report, "\nGA: grouping accuracy, PA: parsing accuracy; norm = today's Normalize alone, LOSO = miner with the settings chosen on the other six,\n")
	fmt.Fprintf(&report, "weak = the same behind a digits-only mask, default = miner with DefaultMinerConfig\n")
	fmt.Fprintf(&report, "%-10s %8s %8s %8s %8s %8s %8s %8s  %s\n", "system", "normGA", "LOSO GA", "weak GA", "def GA", "defweak", "normPA", "def PA", "chosen on the other six")
	var sumNorm, sumLOO, sumWeak, sumDef, sumDefWeak, sumNormPA, sumPA float64
	def := DefaultMinerConfig()
	for s, sys := range systems {
		best, bestMin, bestMean := 0, -1.0, -1.0
		for g := range grid {
			lo, mean := 1.0, 0.0
			for o := range systems {
				if o != s {
					lo = min(lo, ga[o][g], weak[o][g])
					mean += ga[o][g] + weak[o][g]
				}
			}
			if lo > bestMin+1e-9 || (lo > bestMin-1e-9 && mean > bestMean+1e-9) {
				best, bestMin, bestMean = g, lo, mean
			}
		}
		truth := truthOf(sys)
		templates := loadTemplates(t, sys)
		norm := make([]uint64, len(sys.lines))
		normT := make([]string, len(sys.lines))
		for i, l := range sys.lines {
			r := Normalize(l.content)
			norm[i], normT[i] = r.Hash, r.Template
		}
		normGA := groupingAccuracy(truth, norm)
		normPA := parsingAccuracy(templates, normT)
		h, tpl := mineSystem(def, sys.lines)
		defGA := groupingAccuracy(truth, h)
		hw, _ := mineMasked(def, sys.lines, weakMask)
		defWeak := groupingAccuracy(truth, hw)
		sumDefWeak += defWeak
		pa := parsingAccuracy(templates, tpl)
		sumNorm += normGA
		sumLOO += ga[s][best]
		sumWeak += weak[s][best]
		sumDef += defGA
		sumNormPA += normPA
		sumPA += pa
		c := grid[best]
		fmt.Fprintf(&report, "%-10s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f  values %d depth %d similarity %.1f\n",
			sys.name, normGA, ga[s][best], weak[s][best], defGA, defWeak, normPA, pa, c.MaxValues, c.Depth, c.Similarity)
		if ga[s][best] < minLOOGA {
			t.Errorf("%s: leave-one-system-out grouping accuracy %.4f below %.2f", sys.name, ga[s][best], minLOOGA)
		}
		if weak[s][best] < minWeakGA {
			t.Errorf("%s: leave-one-system-out grouping accuracy behind the digits-only mask %.4f below %.2f", sys.name, weak[s][best], minWeakGA)
		}
	}
	k := float64(len(systems))
	fmt.Fprintf(&report, "%-10s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f\n", "mean", sumNorm/k, sumLOO/k, sumWeak/k, sumDef/k, sumDefWeak/k, sumNormPA/k, sumPA/k)
	if os.Getenv("LOGTEMPLATE_GRID") != "" {
		for g, cfg := range grid {
			fmt.Fprintf(&report, "values %d depth %d similarity %.1f:", cfg.MaxValues, cfg.Depth, cfg.Similarity)
			mg, mw := 0.0, 0.0
			for s := range systems {
				fmt.Fprintf(&report, " %.3f/%.3f", ga[s][g], weak[s][g])
				mg += ga[s][g]
				mw += weak[s][g]
			}
			fmt.Fprintf(&report, "  mean %.4f/%.4f\n", mg/k, mw/k)
		}
	}
	t.Log(report.String())
	if sumLOO/k < minLOOMeanGA {
		t.Errorf("mean leave-one-system-out grouping accuracy %.4f below %.3f", sumLOO/k, minLOOMeanGA)
	}
	if sumWeak/k < minWeakMeanGA {
		t.Errorf("mean leave-one-system-out grouping accuracy behind the digits-only mask %.4f below %.2f", sumWeak/k, minWeakMeanGA)
	}
	if sumDefWeak/k < minDefWeakMeanGA {
		t.Errorf("mean grouping accuracy of the default settings behind the digits-only mask %.4f below %.2f", sumDefWeak/k, minDefWeakMeanGA)
	}
	if sumPA/k < minMeanPA {
		t.Errorf("mean parsing accuracy %.4f below %.2f", sumPA/k, minMeanPA)
	}
}

func TestMinerDebug(t *testing.T) {
	name := os.Getenv("LOGTEMPLATE_MINER_DEBUG")
	if name == "" {
		t.Skip("set LOGTEMPLATE_MINER_DEBUG=<system> to list the events the miner groups wrongly")
	}
	for _, sys := range loadLoghub(t) {
		if sys.name != name {
			continue
		}
		cfg := DefaultMinerConfig()
		h, tpl := mineSystem(cfg, sys.lines)
		if os.Getenv("LOGTEMPLATE_MINER_WEAK") != "" {
			h, tpl = mineMasked(cfg, sys.lines, weakMask)
		}
		truth := truthOf(sys)
		t.Logf("GA %.4f", groupingAccuracy(truth, h))
		byPred := map[uint64]map[string]int{}
		byTruth := map[string]map[uint64]int{}
		tmpl := map[uint64]string{}
		ex := map[uint64]string{}
		for i := range h {
			if byPred[h[i]] == nil {
				byPred[h[i]] = map[string]int{}
			}
			byPred[h[i]][truth[i]]++
			if byTruth[truth[i]] == nil {
				byTruth[truth[i]] = map[uint64]int{}
			}
			byTruth[truth[i]][h[i]]++
			tmpl[h[i]] = tpl[i]
			ex[h[i]] = sys.lines[i].content
		}
		for id, hs := range byTruth {
			bad := len(hs) > 1
			for p := range hs {
				bad = bad || len(byPred[p]) > 1
			}
			if !bad {
				continue
			}
			t.Logf("%s:", id)
			for p, c := range hs {
				t.Logf("   %4d %q others %v e.g. %q", c, tmpl[p], byPred[p], ex[p])
			}
		}
	}
}

// TestLoghubV1Unseen scores Normalize and the miner with DefaultMinerConfig,
// untuned, on labelled Loghub (v1) samples of systems nothing here was
// designed or tuned on: $LOGHUB_V1_DIR/*_2k.log_structured.csv (for
// example Android and Windows from github.com/logpai/loghub; they are not
// in this repository). It reports; it sets no threshold, since its data is
// not part of the suite.
func TestLoghubV1Unseen(t *testing.T) {
	dir := os.Getenv("LOGHUB_V1_DIR")
	if dir == "" {
		t.Skip("set LOGHUB_V1_DIR to a directory of Loghub v1 *_2k.log_structured.csv samples")
	}
	var report strings.Builder
	fmt.Fprintf(&report, "\n%-10s %8s %8s %8s %8s\n", "system", "normGA", "minerGA", "normPA", "minerPA")
	for _, sys := range loadLoghubFiles(t, dir, "_2k.log_structured.csv") {
		truth := truthOf(sys)
		fh, err := os.Open(filepath.Join(dir, sys.name+"_2k.log_structured.csv"))
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(fh)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		ti := slices.Index(recs[0], "EventTemplate")
		templates := make([]string, 0, len(recs)-1)
		for _, rec := range recs[1:] {
			templates = append(templates, rec[ti])
		}
		norm := make([]uint64, len(sys.lines))
		normT := make([]string, len(sys.lines))
		for i, l := range sys.lines {
			n := Normalize(l.content)
			norm[i], normT[i] = n.Hash, n.Template
		}
		h, tpl := mineSystem(DefaultMinerConfig(), sys.lines)
		fmt.Fprintf(&report, "%-10s %8.4f %8.4f %8.4f %8.4f\n", sys.name, groupingAccuracy(truth, norm), groupingAccuracy(truth, h),
			parsingAccuracy(templates, normT), parsingAccuracy(templates, tpl))
	}
	t.Log(report.String())
}
