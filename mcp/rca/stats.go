package rca

import "math"

// Change tests. Each returns a one-sided p-value: the chance of a change at
// least this large when nothing changed. Callers flag a change when the
// p-value is below Alpha divided by the number of things they tested
// (Bonferroni), so that over one answer the chance of any false flag is at
// most Alpha.

// Alpha is the family-wise false-alarm rate of one answer's flags.
const Alpha = 0.01

// Bonferroni is the per-test threshold that keeps m tests' family-wise
// false-alarm rate at Alpha.
func Bonferroni(m int) float64 {
	return Alpha / float64(max(m, 1))
}

// RateIncrease tests whether events happened more often in a window of
// length curLen (cur events) than in a baseline of length baseLen (base
// events), both Poisson: given the n = cur + base events, cur is binomial
// with p = curLen / (curLen + baseLen) when the rate did not change (the
// conditional test for two Poisson rates). Returns P(X ≥ cur).
func RateIncrease(cur, base uint64, curLen, baseLen float64) float64 {
	if cur == 0 || curLen <= 0 {
		return 1
	}
	if baseLen <= 0 {
		return 1
	}
	return binomialUpper(cur+base, cur, curLen/(curLen+baseLen))
}

// RateDecrease is RateIncrease's other tail: P(X ≤ cur).
func RateDecrease(cur, base uint64, curLen, baseLen float64) float64 {
	if base == 0 || baseLen <= 0 || curLen <= 0 {
		return 1
	}
	n := cur + base
	// P(X ≤ cur) = P(n-X ≥ n-cur) with n-X ~ Bin(n, 1-p).
	return binomialUpper(n, n-cur, baseLen/(curLen+baseLen))
}

// ProportionIncrease is Fisher's exact test (one-sided) of whether x1 of n1
// is a larger share than x0 of n0: an error rate against its baseline's, or
// how often an attribute value is on bad traces against good ones.
func ProportionIncrease(x1, n1, x0, n0 uint64) float64 {
	if n1 == 0 || n0 == 0 || x1 > n1 || x0 > n0 {
		return 1
	}
	// X ~ Hypergeometric(N = n0+n1, K = x0+x1, draws n1); P(X ≥ x1).
	N, K := n0+n1, x0+x1
	hi := min(K, n1)
	if x1 > hi {
		return 0
	}
	if N > 200000 {
		return proportionZ(x1, n1, x0, n0)
	}
	base := lchoose(N, n1)
	p := 0.0
	for k := x1; k <= hi; k++ {
		if n1-k > N-K {
			continue
		}
		p += math.Exp(lchoose(K, k) + lchoose(N-K, n1-k) - base)
	}
	return math.Min(1, p)
}

// proportionZ is the pooled two-proportion z-test, for counts too large to
// sum exactly.
func proportionZ(x1, n1, x0, n0 uint64) float64 {
	p1, p0 := float64(x1)/float64(n1), float64(x0)/float64(n0)
	pp := float64(x1+x0) / float64(n1+n0)
	se := math.Sqrt(pp * (1 - pp) * (1/float64(n1) + 1/float64(n0)))
	if se == 0 {
		if p1 > p0 {
			return 0
		}
		return 1
	}
	return upperNormal((p1 - p0) / se)
}

// binomialUpper is P(X ≥ k) for X ~ Bin(n, p).
func binomialUpper(n, k uint64, p float64) float64 {
	switch {
	case k == 0:
		return 1
	case k > n:
		return 0
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	if n > 100000 {
		mu, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
		return upperNormal((float64(k) - 0.5 - mu) / sd)
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	sum := 0.0
	for i := k; i <= n; i++ {
		term := math.Exp(lchoose(n, i) + float64(i)*lp + float64(n-i)*lq)
		sum += term
		// The terms fall geometrically past the mode; stop when they no
		// longer count.
		if float64(i) > float64(n)*p && term < sum*1e-12 {
			break
		}
	}
	return math.Min(1, sum)
}

func lchoose(n, k uint64) float64 {
	a, _ := math.Lgamma(float64(n) + 1)
	b, _ := math.Lgamma(float64(k) + 1)
	c, _ := math.Lgamma(float64(n-k) + 1)
	return a - b - c
}

func upperNormal(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }
