package mcp

import (
	"math"
	"slices"
	"strconv"

	"github.com/otelcol-agentic/otelcol-agentic/internal/clip"
)

func clampInt(v, def, lo, hi int) int {
	if v == 0 {
		return def
	}
	return max(lo, min(hi, v))
}

func uitoa(v uint64) string { return strconv.FormatUint(v, 10) }

func round3(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*1000) / 1000
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return append([]string{}, s...)
}

func truncate(s string, n int) string { return clip.Marked(s, n) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
