package results

import "fmt"

// Breach is one way a point broke the guarantee its strategy claims.
type Breach struct {
	// Rule names what was broken: loss, duplicates, replay-bound,
	// loss-bound or relay.
	Rule string
	// Detail says it with the numbers.
	Detail string
}

func (b Breach) String() string { return b.Detail }

// Check is the one claim check: it compares a point's ledger counts with
// the guarantee and bounds recorded with it. The runner records its
// findings as Violations; the gate and the reports call it again rather
// than re-deriving the rules, so a breach is reported once.
func Check(r Result) []Breach {
	var out []Breach
	add := func(rule, format string, args ...any) {
		out = append(out, Breach{Rule: rule, Detail: fmt.Sprintf(format, args...)})
	}
	g := r.Guarantee
	t := r.Throughput
	// Without a crash nothing may be lost or applied twice, whatever the
	// strategy claims.
	if t.Lost > 0 {
		add("loss", "crash-free phase lost %d records", t.Lost)
	}
	if t.Duplicates > 0 {
		add("duplicates", "crash-free phase applied %d duplicate effects", t.Duplicates)
	}
	if rl := t.Relay; rl != nil && (rl.Missing > 0 || rl.Duplicates > 0) {
		add("relay", "crash-free phase: the outbox relay missed %d and repeated %d events", rl.Missing, rl.Duplicates)
	}
	if s := r.Scenario; s != nil {
		if g.NoLoss() && s.Lost > 0 {
			add("loss", "%s claims %s but its group lost %d records across %d events", r.Strategy, g, s.Lost, len(s.Events))
		}
		if g.NoDuplicates() && s.Duplicates > 0 {
			add("duplicates", "%s claims %s but its group applied %d duplicate effects across %d events", r.Strategy, g, s.Duplicates, len(s.Events))
		}
		if rl := s.Relay; rl != nil && rl.Missing > 0 {
			add("relay", "the members' outbox relays never published %d events", rl.Missing)
		}
	}
	c := r.Crash
	if c == nil {
		return out
	}
	if g.NoLoss() && c.Lost > 0 {
		add("loss", "%s claims %s but lost %d records across %d crashes", r.Strategy, g, c.Lost, c.Kills)
	}
	if g.NoDuplicates() && c.Duplicates > 0 {
		add("duplicates", "%s claims %s but applied %d duplicate effects across %d crashes", r.Strategy, g, c.Duplicates, c.Kills)
	}
	for i, n := range c.ReplayPerCrash {
		b := c.ReplayBound
		if i < len(c.Landed) && c.Landed[i].ReplayBoundRecords != nil {
			b = c.Landed[i].ReplayBoundRecords
		}
		if b != nil && n > *b {
			add("replay-bound", "crash %d replayed %d records, above the bound of %d", i+1, n, *b)
		}
	}
	// Under a no-loss guarantee any loss is already reported above.
	if b := c.LossBound; b != nil && !g.NoLoss() {
		for i, n := range c.LostPerCrash {
			if n > *b {
				add("loss-bound", "crash %d lost %d records, above the bound of %d", i+1, n, *b)
			}
		}
	}
	if rl := c.Relay; rl != nil && rl.Missing > 0 {
		add("relay", "the outbox relay never published %d events", rl.Missing)
	}
	return out
}
