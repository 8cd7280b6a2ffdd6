package run

import (
	"math/rand/v2"
	"slices"
)

// picker draws a journey's category and pattern from the configured weights.
type picker struct {
	cats     []string
	catCum   []int
	patterns map[string][]string
	patCum   map[string][]int
}

func cumulative(weights []int) []int {
	out := make([]int, len(weights))
	sum := 0
	for i, w := range weights {
		sum += max(w, 0)
		out[i] = sum
	}
	return out
}

func draw(rng *rand.Rand, cum []int) int {
	total := cum[len(cum)-1]
	if total <= 0 {
		return 0
	}
	x := rng.IntN(total)
	i, _ := slices.BinarySearch(cum, x+1)
	return i
}

func newPicker(cfg Config) *picker {
	p := &picker{patterns: map[string][]string{}, patCum: map[string][]int{}}
	var weights []int
	for _, c := range Categories {
		if w := cfg.JourneyMix[c]; w > 0 {
			p.cats = append(p.cats, c)
			weights = append(weights, w)
		}
	}
	p.catCum = cumulative(weights)
	for _, c := range Categories {
		names := patternNames(c)
		var ws []int
		for _, n := range names {
			w := 1
			if cfg.Patterns[c] != nil {
				w = cfg.Patterns[c][n]
			}
			ws = append(ws, w)
		}
		p.patterns[c] = names
		p.patCum[c] = cumulative(ws)
	}
	return p
}

// pick returns the next journey's category and pattern.
func (p *picker) pick(rng *rand.Rand) (category, pattern string) {
	category = p.cats[draw(rng, p.catCum)]
	names := p.patterns[category]
	return category, names[draw(rng, p.patCum[category])]
}
