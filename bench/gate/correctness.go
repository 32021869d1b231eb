package gate

import "github.com/commitbench/commitbench/bench/results"

// Breach is a correctness failure in the current results: the strategy broke
// the guarantee it claims. A breach fails the gate whatever the statistics
// say, because one lost record is a bug, not noise.
type Breach struct {
	Key        string
	Repetition int
	results.Breach
}

// CheckCorrectness lists every breach in rs, found by the one claim check
// (results.Check) that also wrote each result's violations.
func CheckCorrectness(rs []results.Result) []Breach {
	var out []Breach
	for _, r := range rs {
		for _, b := range results.Check(r) {
			out = append(out, Breach{Key: r.Key, Repetition: r.Repetition, Breach: b})
		}
	}
	return out
}
