// Package strategy holds the ways a worker consumes and commits offsets: the
// catalog of strategies with the guarantee each claims and the bounds the
// ledger checks, and the consume loops that implement them.
package strategy

import (
	"fmt"
	"sort"
	"strings"
)

// Guarantee is the delivery guarantee a strategy claims. The ledger checks
// the claim after every crash; a strategy never grades itself.
type Guarantee string

// The guarantees a strategy can claim.
const (
	// NoGuarantee: the strategy makes no promise (the no-commit ceiling).
	NoGuarantee Guarantee = "none"
	// AtMostOnce: no effect applies twice; a crash may lose records.
	AtMostOnce Guarantee = "at-most-once"
	// AtLeastOnce: no record is lost; a crash replays a bounded window.
	AtLeastOnce Guarantee = "at-least-once"
	// ExactlyOnce: every effect lands once, crashes included.
	ExactlyOnce Guarantee = "exactly-once"
)

// Names of the strategies.
const (
	None              = "none"
	AtMostOnceName    = "at-most-once"
	AtLeastOnceSync   = "at-least-once-sync"
	AtLeastOnceAsync  = "at-least-once-async"
	Autocommit        = "autocommit"
	AutocommitMarks   = "autocommit-marks"
	ExactlyOnceDB     = "exactly-once-db"
	Idempotent        = "idempotent"
	Transactional     = "transactional"
	Outbox            = "outbox"
	brokenAtLeastOnce = "broken-commit-ahead" // test-only: see Info.Hidden
	brokenExactlyOnce = "broken-eos-db"       // test-only: see Info.Hidden
)

// Where a strategy's effects land, which is where the ledger reads them.
const (
	// EffectsLedger: processing a record is its effect (the shared ledger).
	EffectsLedger = "ledger"
	// EffectsDB: effects are rows in the sink database.
	EffectsDB = "db"
	// EffectsTopic: effects are records in an output topic, read committed.
	EffectsTopic = "topic"
)

// Info describes one strategy: what it claims and which commit intervals it
// accepts.
type Info struct {
	// Name is the strategy's name in workload files and results.
	Name string
	// Guarantee is the delivery guarantee the strategy claims.
	Guarantee Guarantee
	// Summary says in one line what the strategy does.
	Summary string
	// Count and Time say whether the strategy commits by record count, by
	// elapsed time, or both (whichever comes first). A strategy with neither
	// never commits and takes no interval.
	Count, Time bool
	// Effects is where the strategy's effects land: EffectsLedger,
	// EffectsDB or EffectsTopic. Elsewhere than the ledger, the shared
	// ledger still counts processing, so replays absorbed are measured.
	Effects string
	// OffsetsInSink: the strategy stores its offsets with its results and
	// resumes from there, not from the group's commits.
	OffsetsInSink bool
	// Relay: an outbox relay publishes the committed events to an output
	// topic, which the harness reads to measure the relay.
	Relay bool
	// Hidden strategies are deliberately wrong variants that exist so tests
	// can prove the ledger catches them; they are not listed to users.
	Hidden bool
}

// TakesInterval reports whether the strategy is swept over commit intervals.
func (i Info) TakesInterval() bool { return i.Count || i.Time }

// Accepts reports whether the strategy can commit on the given interval
// (records > 0 means a count trigger, every > 0 a time trigger). It returns a
// reason when it cannot.
func (i Info) Accepts(records int64, everyNanos int64) (bool, string) {
	switch {
	case !i.TakesInterval():
		return false, i.Name + " never commits, so it takes no interval"
	case records > 0 && everyNanos > 0:
		if i.Count && i.Time {
			return true, ""
		}
		if i.Count {
			return false, i.Name + " commits by record count only"
		}
		return false, i.Name + " commits by time only"
	case records > 0 && !i.Count:
		return false, i.Name + " commits by time only (kgo's autocommit runs on a timer)"
	case everyNanos > 0 && !i.Time:
		return false, i.Name + " commits by record count only (a commit must precede the records it covers)"
	}
	return true, ""
}

// ReplayBound is the most records one crash may replay under the strategy's
// claim with a commit at least every records records, and whether such a
// count bound exists. Time-only intervals bound replay in time, not records.
func (i Info) ReplayBound(records int64) (int64, bool) {
	if records <= 0 {
		return 0, false
	}
	switch i.Name {
	case AtLeastOnceSync, Idempotent, ExactlyOnceDB, Transactional, Outbox:
		// At most records processed since the last commit (the batch
		// whose commit was in flight when the kill landed). For the
		// exactly-once strategies this bounds the replay they absorb.
		return records, true
	// at-least-once-async has no count bound: while one commit is in
	// flight, further triggers are coalesced into the next commit, so the
	// window grows by what is processed during a commit round trip.
	case AtMostOnceName:
		return 0, true
	}
	return 0, false
}

// LossBound is the most records one crash may lose under the strategy's claim,
// and whether the strategy bounds loss at all.
func (i Info) LossBound(records int64) (int64, bool) {
	switch i.Guarantee {
	case AtLeastOnce, ExactlyOnce:
		return 0, true
	case AtMostOnce:
		if records > 0 {
			return records, true
		}
	}
	return 0, false
}

var catalog = []Info{
	{Name: None, Guarantee: NoGuarantee, Summary: "never commits: the throughput ceiling"},
	{Name: AtMostOnceName, Guarantee: AtMostOnce, Count: true,
		Summary: "commits the next window of records, then processes them"},
	{Name: AtLeastOnceSync, Guarantee: AtLeastOnce, Count: true, Time: true,
		Summary: "processes, then commits and waits for the broker"},
	{Name: AtLeastOnceAsync, Guarantee: AtLeastOnce, Count: true, Time: true,
		Summary: "processes, then commits without waiting; at most one commit in flight"},
	{Name: Autocommit, Guarantee: AtLeastOnce, Time: true,
		Summary: "kgo autocommit on a timer: commits what earlier polls returned"},
	{Name: AutocommitMarks, Guarantee: AtLeastOnce, Time: true,
		Summary: "kgo autocommit on a timer, of records marked after processing"},
	{Name: ExactlyOnceDB, Guarantee: ExactlyOnce, Count: true, Time: true, Effects: EffectsDB, OffsetsInSink: true,
		Summary: "one database transaction writes a batch's results and the next offsets; resumes from the database"},
	{Name: Idempotent, Guarantee: ExactlyOnce, Count: true, Time: true, Effects: EffectsDB,
		Summary: "at-least-once commits, results upserted by source record: replays happen, effects land once"},
	{Name: Transactional, Guarantee: ExactlyOnce, Count: true, Time: true, Effects: EffectsTopic,
		Summary: "Kafka transactions: consume, produce to an output topic and commit offsets in one transaction"},
	{Name: Outbox, Guarantee: ExactlyOnce, Count: true, Time: true, Effects: EffectsDB, OffsetsInSink: true, Relay: true,
		Summary: "the transaction writes results, outbox rows and offsets; a relay publishes the outbox to a topic"},
	{Name: brokenAtLeastOnce, Guarantee: AtLeastOnce, Count: true, Hidden: true,
		Summary: "commits before processing yet claims at-least-once: the ledger must catch it losing records"},
	{Name: brokenExactlyOnce, Guarantee: ExactlyOnce, Count: true, Time: true, Effects: EffectsDB, Hidden: true,
		Summary: "commits polled offsets to Kafka outside the database transaction: the ledger must catch it losing records"},
}

// Lookup returns the strategy with the given name, or an error that lists
// the known names.
func Lookup(name string) (Info, error) {
	for _, i := range catalog {
		if i.Name == name {
			if i.Effects == "" {
				i.Effects = EffectsLedger
			}
			return i, nil
		}
	}
	return Info{}, fmt.Errorf("unknown strategy %q; known strategies: %s", name, strings.Join(Names(), ", "))
}

// Names lists the strategies a user may choose, sorted.
func Names() []string {
	var out []string
	for _, i := range catalog {
		if !i.Hidden {
			out = append(out, i.Name)
		}
	}
	sort.Strings(out)
	return out
}

// All returns the user-visible catalog in its natural order (ceiling first).
func All() []Info {
	var out []Info
	for _, i := range catalog {
		if !i.Hidden {
			out = append(out, i)
		}
	}
	return out
}
