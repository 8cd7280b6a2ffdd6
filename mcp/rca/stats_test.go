package rca

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBinomialUpperMatchesTheSum(t *testing.T) {
	// P(X ≥ 3) for Bin(4, 0.5) = (4 + 1) / 16.
	assert.InDelta(t, 5.0/16, binomialUpper(4, 3, 0.5), 1e-12)
	assert.InDelta(t, 1, binomialUpper(10, 0, 0.3), 1e-12)
	assert.InDelta(t, math.Pow(0.5, 7), RateIncrease(7, 0, 10, 10), 1e-12, "seven new events in equal windows")
	assert.InDelta(t, math.Pow(0.5, 7), RateDecrease(0, 7, 10, 10), 1e-12, "seven events gone")
}

func TestFisherOneSided(t *testing.T) {
	// The lady tasting tea: 3 of 4 against 1 of 4, one-sided p = 17/70.
	assert.InDelta(t, 17.0/70, ProportionIncrease(3, 4, 1, 4), 1e-9)
	assert.InDelta(t, 1, ProportionIncrease(0, 4, 4, 4), 1e-9)
	assert.Less(t, ProportionIncrease(40, 100, 2, 100), 1e-9)
}

// The documented false-alarm rate holds: with nothing changed, the share of
// tests below Alpha is at most Alpha (the tests are exact, so conservative).
func TestFalseAlarmRateUnderNoChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	const trials = 4000
	var rateAlarms, propAlarms int
	for range trials {
		lambda := 0.5 + rng.Float64()*20
		cur, base := poisson(rng, lambda), poisson(rng, 2*lambda) // a baseline twice as long
		if RateIncrease(cur, base, 1, 2) < Alpha {
			rateAlarms++
		}
		p := 0.01 + rng.Float64()*0.3
		n1, n0 := uint64(50+rng.IntN(500)), uint64(50+rng.IntN(500))
		if ProportionIncrease(binomial(rng, n1, p), n1, binomial(rng, n0, p), n0) < Alpha {
			propAlarms++
		}
	}
	assert.LessOrEqual(t, float64(rateAlarms)/trials, 1.5*Alpha, "rate test")
	assert.LessOrEqual(t, float64(propAlarms)/trials, 1.5*Alpha, "proportion test")
	// And it has power: a doubled rate over 60 baseline events is found.
	assert.Less(t, RateIncrease(60, 60, 1, 2), Alpha)
}

func poisson(rng *rand.Rand, lambda float64) uint64 {
	l, k, p := math.Exp(-lambda), uint64(0), 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func binomial(rng *rand.Rand, n uint64, p float64) uint64 {
	var x uint64
	for range n {
		if rng.Float64() < p {
			x++
		}
	}
	return x
}
