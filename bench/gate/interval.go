package gate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// MinPairs is the fewest A/B pairs, or repetitions on the judged side of a
// stored-baseline comparison, a metric is judged on.
const MinPairs = 3

// change is a metric's change in percent (+ is up) with the bounds of its
// confidence interval.
type change struct {
	pct, lo, hi float64
}

// logInterval turns a mean difference of logs, its standard error and the
// degrees of freedom into a change in percent with a Student-t interval at
// level 1-alpha.
func logInterval(mean, se, df, alpha float64) change {
	t := 0.0
	if se > 0 {
		t = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - alpha/2)
	}
	pc := func(x float64) float64 { return 100 * (math.Exp(x) - 1) }
	return change{pct: pc(mean), lo: pc(mean - t*se), hi: pc(mean + t*se)}
}

// judge is the one rule of both gates: a metric regresses only when its
// whole confidence interval lies beyond the limit in the bad direction,
// passes when the whole interval stays within it, and is inconclusive when
// the interval straddles the limit. limit is in percent, positive.
func judge(c change, limit float64, higherIsBetter bool) (Verdict, string) {
	// near and far are the interval's ends measured in the bad direction.
	near, far := -c.hi, -c.lo
	if !higherIsBetter {
		near, far = c.lo, c.hi
	}
	switch {
	case near > limit:
		return Regressed, fmt.Sprintf("the whole interval lies beyond the %.0f%% limit", limit)
	case far <= limit && far < 0:
		return Improved, ""
	case far <= limit:
		return OK, ""
	}
	return Inconclusive, fmt.Sprintf("the interval reaches past the %.0f%% limit but not wholly; more repetitions would decide", limit)
}
