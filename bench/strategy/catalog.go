// Package strategy is the catalog of offset-commit strategies: each one's
// name, the delivery guarantee it claims, the commit intervals it accepts,
// where its effects land, and the replay and loss bounds the ledger holds
// it to. It is ground-floor vocabulary and links no Kafka client: the
// consume loops that implement the strategies live in package consume,
// which looks each catalog entry up by name.
package strategy

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Guarantee is the delivery guarantee a strategy claims. The ledger checks
// the claim after every crash; a strategy never grades itself.
type Guarantee string

// The guarantees a strategy can claim.
const (
	// GuaranteeNone: the strategy makes no promise (the no-commit ceiling).
	GuaranteeNone Guarantee = "none"
	// GuaranteeAtMostOnce: no effect applies twice; a crash may lose records.
	GuaranteeAtMostOnce Guarantee = "at-most-once"
	// GuaranteeAtLeastOnce: no record is lost; a crash replays a bounded window.
	GuaranteeAtLeastOnce Guarantee = "at-least-once"
	// GuaranteeExactlyOnce: every effect lands once, crashes included.
	GuaranteeExactlyOnce Guarantee = "exactly-once"
)

// NoLoss reports whether the guarantee forbids losing a record.
func (g Guarantee) NoLoss() bool {
	return g == GuaranteeAtLeastOnce || g == GuaranteeExactlyOnce
}

// NoDuplicates reports whether the guarantee forbids an effect landing twice.
func (g Guarantee) NoDuplicates() bool {
	return g == GuaranteeAtMostOnce || g == GuaranteeExactlyOnce
}

// Names of the strategies.
const (
	None              = "none"
	AtMostOnce        = "at-most-once"
	AtLeastOnceSync   = "at-least-once-sync"
	AtLeastOnceAsync  = "at-least-once-async"
	Autocommit        = "autocommit"
	AutocommitMarks   = "autocommit-marks"
	ExactlyOnceDB     = "exactly-once-db"
	Idempotent        = "idempotent"
	Transactional     = "transactional"
	Outbox            = "outbox"
	BrokenCommitAhead = "broken-commit-ahead" // test-only: see Info.Hidden
	BrokenEOSDB       = "broken-eos-db"       // test-only: see Info.Hidden
	BrokenEOSDBSplit  = "broken-eos-db-split" // test-only: see Info.Hidden
	BrokenEOSDBOpen   = "broken-eos-db-open"  // test-only: see Info.Hidden
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

// Replay says how much one crash may replay under a strategy's claim.
type Replay int

// The replay rules.
const (
	// ReplayUnbounded: no count bound (the ceiling, autocommit, async
	// commits whose window grows by what is processed while one is in
	// flight).
	ReplayUnbounded Replay = iota
	// ReplayWithinInterval: at most the records processed since the last
	// commit, so at most the count interval (for the exactly-once
	// strategies, the replay their sink absorbs).
	ReplayWithinInterval
	// ReplayNever: offsets are committed before processing.
	ReplayNever
	// ReplayIntervalPlusInFlight: at most the count interval, plus the
	// records a commit was held back while the one before it was in
	// flight, plus what was processed while the last commit was in flight
	// (async commits). The bound differs per crash; the harness measures
	// it from the ledger.
	ReplayIntervalPlusInFlight
)

// Kill points: named places of a worker's loop where a test can kill it
// deterministically, at the worst moments for a claim.
const (
	// KillProcessed: a record processed, its offset not yet committed.
	KillProcessed = "processed"
	// KillCommitSent: the commit request written, its answer not yet read.
	KillCommitSent = "commit-sent"
	// KillDBCommitted: the database transaction committed, nothing sent
	// to Kafka after it yet.
	KillDBCommitted = "db-committed"
	// KillTxnProduced: a Kafka transaction's output produced, EndTxn not
	// yet sent.
	KillTxnProduced = "txn-produced"
	// KillOutboxPublished: the relay published outbox rows, not yet
	// marked them sent.
	KillOutboxPublished = "outbox-published"
)

// PauseCommitDue is the point where a group member can be paused (SIGSTOP)
// deterministically: a commit fell due and is about to be made. Paused
// there past its session timeout, the member resumes as a zombie straight
// into its commit, the worst moment for a claim.
const PauseCommitDue = "commit-due"

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
	// MinEveryNs is the shortest time interval the strategy can run (0:
	// the workload's own limits).
	MinEveryNs int64
	// Replay is the replay bound the ledger holds the strategy to.
	Replay Replay
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
	// KillPoints are the kill points the strategy's loop passes.
	KillPoints []string
	// CommitDue: the loop passes PauseCommitDue, so a member can be paused
	// there.
	CommitDue bool
	// Groups: the strategy runs as one member of a consumer group of
	// several, committing only the partitions it owns (scenario phases).
	Groups bool
	// Hidden strategies are deliberately wrong variants that exist so tests
	// can prove the ledger catches them; they are not listed to users.
	Hidden bool
}

// TakesInterval reports whether the strategy is swept over commit intervals.
func (i Info) TakesInterval() bool { return i.Count || i.Time }

// Accepts reports whether the strategy can commit on the given interval
// (records > 0 means a count trigger, everyNanos > 0 a time trigger). It
// returns a reason when it cannot.
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
	case everyNanos > 0 && everyNanos < i.MinEveryNs:
		return false, fmt.Sprintf("%s commits at most every %s (kgo refuses a shorter autocommit interval)", i.Name, time.Duration(i.MinEveryNs))
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
	switch i.Replay {
	case ReplayWithinInterval:
		return records, true
	case ReplayNever:
		return 0, true
	}
	return 0, false
}

// CrashReplayBound is the most one particular crash may replay: the
// strategy's count bound, or for ReplayIntervalPlusInFlight the interval
// plus the records the last commit was held back (held) plus those
// processed while it was still in flight when the kill landed (inFlight).
func (i Info) CrashReplayBound(records, held, inFlight int64) (int64, bool) {
	if i.Replay == ReplayIntervalPlusInFlight && records > 0 {
		return records + held + inFlight, true
	}
	return i.ReplayBound(records)
}

// LossBound is the most records one crash may lose under the strategy's
// claim, and whether the strategy bounds loss at all.
func (i Info) LossBound(records int64) (int64, bool) {
	switch {
	case i.Guarantee.NoLoss():
		return 0, true
	case i.Guarantee == GuaranteeAtMostOnce && records > 0:
		return records, true
	}
	return 0, false
}

var catalog = []Info{
	{Name: None, Guarantee: GuaranteeNone, Groups: true, Summary: "never commits: the throughput ceiling"},
	{Name: AtMostOnce, KillPoints: []string{KillProcessed, KillCommitSent}, Guarantee: GuaranteeAtMostOnce, Count: true, Replay: ReplayNever, Groups: true, CommitDue: true,
		Summary: "commits the next window of records, then processes them"},
	{Name: AtLeastOnceSync, KillPoints: []string{KillProcessed, KillCommitSent}, Guarantee: GuaranteeAtLeastOnce, Count: true, Time: true, Replay: ReplayWithinInterval, Groups: true, CommitDue: true,
		Summary: "processes, then commits and waits for the broker"},
	{Name: AtLeastOnceAsync, KillPoints: []string{KillProcessed, KillCommitSent}, Guarantee: GuaranteeAtLeastOnce, Count: true, Time: true, Replay: ReplayIntervalPlusInFlight, Groups: true, CommitDue: true,
		Summary: "processes, then commits without waiting; at most one commit in flight"},
	{Name: Autocommit, KillPoints: []string{KillProcessed, KillCommitSent}, Guarantee: GuaranteeAtLeastOnce, Time: true, MinEveryNs: int64(100 * time.Millisecond), Groups: true,
		Summary: "kgo autocommit on a timer: commits what earlier polls returned"},
	{Name: AutocommitMarks, KillPoints: []string{KillProcessed, KillCommitSent}, Guarantee: GuaranteeAtLeastOnce, Time: true, MinEveryNs: int64(100 * time.Millisecond), Groups: true,
		Summary: "kgo autocommit on a timer, of records marked after processing"},
	{Name: ExactlyOnceDB, KillPoints: []string{KillProcessed, KillDBCommitted}, Guarantee: GuaranteeExactlyOnce, Count: true, Time: true, Replay: ReplayWithinInterval,
		Effects: EffectsDB, OffsetsInSink: true, Groups: true, CommitDue: true,
		Summary: "one database transaction writes a batch's results and the next offsets; resumes from the database"},
	{Name: Idempotent, KillPoints: []string{KillProcessed, KillDBCommitted, KillCommitSent}, Guarantee: GuaranteeExactlyOnce, Count: true, Time: true, Replay: ReplayWithinInterval,
		Effects: EffectsDB, Groups: true, CommitDue: true,
		Summary: "at-least-once commits, results upserted by source record: replays happen, effects land once"},
	{Name: Transactional, KillPoints: []string{KillProcessed, KillTxnProduced, KillCommitSent}, Guarantee: GuaranteeExactlyOnce, Count: true, Time: true, Replay: ReplayWithinInterval,
		Effects: EffectsTopic, Groups: true, CommitDue: true,
		Summary: "Kafka transactions: consume, produce to an output topic and commit offsets in one transaction"},
	{Name: Outbox, KillPoints: []string{KillProcessed, KillDBCommitted, KillOutboxPublished}, Guarantee: GuaranteeExactlyOnce, Count: true, Time: true, Replay: ReplayWithinInterval,
		Effects: EffectsDB, OffsetsInSink: true, Relay: true, Groups: true, CommitDue: true,
		Summary: "the transaction writes results, outbox rows and offsets; a relay publishes the outbox to a topic"},
	{Name: BrokenCommitAhead, KillPoints: []string{KillProcessed, KillCommitSent}, Guarantee: GuaranteeAtLeastOnce, Count: true, Hidden: true,
		Summary: "commits before processing yet claims at-least-once: the ledger must catch it losing records"},
	{Name: BrokenEOSDB, KillPoints: []string{KillProcessed, KillDBCommitted}, Guarantee: GuaranteeExactlyOnce, Count: true, Time: true, Effects: EffectsDB, Hidden: true,
		Summary: "commits polled offsets to Kafka outside the database transaction: the ledger must catch it losing records"},
	{Name: BrokenEOSDBSplit, KillPoints: []string{KillProcessed, KillDBCommitted}, Guarantee: GuaranteeExactlyOnce, Count: true, Time: true,
		Replay: ReplayWithinInterval, Effects: EffectsDB, OffsetsInSink: true, Hidden: true,
		Summary: "writes a batch's offsets in a second database transaction after its results: a kill between the two must show duplicates"},
	{Name: BrokenEOSDBOpen, KillPoints: []string{KillProcessed, KillDBCommitted}, Guarantee: GuaranteeExactlyOnce, Count: true, Time: true,
		Replay: ReplayWithinInterval, Effects: EffectsDB, OffsetsInSink: true, Hidden: true, Groups: true, CommitDue: true,
		Summary: "exactly-once-db whose offset write is unconditional: a zombie's commit after its partitions moved must show duplicates"},
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

// Each calls f with every catalog entry, hidden ones included, so the
// registry of consume loops can be checked against the catalog.
func Each(f func(Info)) {
	for _, i := range catalog {
		if i.Effects == "" {
			i.Effects = EffectsLedger
		}
		f(i)
	}
}
