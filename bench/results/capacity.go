package results

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/metrics"
)

// CapacityFileName is a coordinator capacity sweep's file inside its run
// directory. It is apart from FileName, so a reader of points never meets
// a step.
const CapacityFileName = "capacity.jsonl"

// CapacitySchemaVersion is bumped when a field of CapacityStep changes
// meaning.
const CapacitySchemaVersion = 1

// Loops a capacity step can be driven by.
const (
	// LoopOpen sends every commit at its scheduled time, answered or not:
	// the intended-time latency shows a stalled coordinator in full.
	LoopOpen = "open"
	// LoopClosed waits for each commit's answer before a committer sends
	// its next one, as most benchmarks do; it is there to compare against.
	LoopClosed = "closed"
)

// SenderShortfall is the share of the target rate the committers must have
// sent inside a step's window for the step to count as driven at its
// target. Below it the machine, not the broker, set the rate.
const SenderShortfall = 0.9

// KneeLatencyFactor is how far a step's intended-time p99 must rise above
// the lowest p99 of the steps below it for the step to be the knee.
const KneeLatencyFactor = 2

// KneeAnsweredShare is the share of the commits sent at a step's target
// that the coordinator must answer within the step; below it the step is
// the knee (the coordinator is saturated).
const KneeAnsweredShare = 0.9

// KneeMinSamples is the fewest latency samples behind a p99 that the knee
// is judged on (with fewer, p99 is one of the largest two values).
const KneeMinSamples = 100

// CapacityStep is one step of a coordinator capacity sweep: a number of
// committers (one consumer group each, none a member of it) committing
// offsets at one aggregate target rate for a while. Figures are measured
// over the step's window (the step without its warm-up) and carry their
// unit in their name; the latencies are HdrHistograms, summarised and
// encoded, each summary with its sample count.
type CapacityStep struct {
	SchemaVersion int    `json:"schema_version"`
	RunID         string `json:"run_id"`
	// Series names the committer shape the step belongs to (Groups and
	// PartitionsPerCommit), e.g. "8 groups × 1 partition"; the knee is
	// found per series.
	Series string `json:"series"`
	// Step is the step's position in the run, from 1.
	Step int `json:"step"`

	// Settings.
	Groups              int     `json:"groups"`
	PartitionsPerCommit int     `json:"partitions_per_commit"`
	TargetCommitsPerSec float64 `json:"target_commits_per_s"`
	// Loop is LoopOpen or LoopClosed.
	Loop            string  `json:"loop"`
	StepMs          float64 `json:"step_ms"`
	WarmupMs        float64 `json:"warmup_ms"`
	CommitTimeoutMs float64 `json:"commit_timeout_ms"`

	Broker  cluster.Description `json:"broker"`
	Machine Machine             `json:"machine"`

	StartedAt  string `json:"started_at"`
	FinishedAt string `json:"finished_at"`

	// WindowS is the measured window's length.
	WindowS float64 `json:"window_s"`
	// Scheduled are the commits whose intended send time is in the
	// window; each ends up answered (its latencies recorded) or failed.
	Scheduled int64 `json:"scheduled_commits"`
	// Sent are the commits the committers sent inside the window (by the
	// time they were sent), SentPerSec their rate. SenderKeptUp says it
	// reached SenderShortfall of the target.
	Sent         int64   `json:"sent_commits"`
	SentPerSec   float64 `json:"sent_per_s"`
	SenderKeptUp bool    `json:"sender_kept_up"`
	// SendLag is how late each scheduled commit was sent after its
	// intended time (the committers' own delay: the machine, or a closed
	// loop waiting for answers).
	SendLag metrics.Latency `json:"send_lag"`
	// Answered are the commits answered without error inside the window
	// (by the time of the answer), CommitsPerSec their rate: the achieved
	// commit rate.
	Answered      int64   `json:"answered_in_window"`
	CommitsPerSec float64 `json:"commits_per_s"`
	// Failed are the scheduled commits that failed, FailedByError the same
	// by error: a Kafka error code's name (kerr), or CLIENT_TIMEOUT (no
	// answer within the commit timeout), CONNECTION_ERROR or CLIENT_ERROR.
	Failed        int64            `json:"failed_commits"`
	FailedByError map[string]int64 `json:"failed_by_error"`
	// ServiceLatency runs from the moment a commit was sent to its answer;
	// IntendedLatency from its intended send time to its answer, so that
	// a stalled coordinator, which delays the sends after it too, is not
	// hidden (coordinated omission). Both cover the scheduled commits
	// answered without error.
	ServiceLatency      metrics.Latency `json:"service_latency"`
	ServiceLatencyHist  string          `json:"service_latency_hist_ns"`
	IntendedLatency     metrics.Latency `json:"intended_latency"`
	IntendedLatencyHist string          `json:"intended_latency_hist_ns"`

	// BrokerCPUSeconds is the broker's CPU time over the window, where it
	// can be read; BrokerCPUScope says whose CPU it is ("broker
	// processes", or the whole harness process where the embedded broker
	// runs inside it, committers included). BrokerCPUMsPer1kCommits
	// divides it by Answered.
	BrokerCPUSeconds        *float64 `json:"broker_cpu_s,omitempty"`
	BrokerCPUScope          string   `json:"broker_cpu_scope,omitempty"`
	BrokerCPUMsPer1kCommits *float64 `json:"broker_cpu_ms_per_1k_commits,omitempty"`
	// OffsetsTopicRecords and OffsetsTopicBytes are what the window
	// appended to __consumer_offsets, and the PerCommit figures divide
	// them by Answered (absent where the broker cannot tell: kfake).
	OffsetsTopicRecords          *int64   `json:"offsets_topic_appended_records,omitempty"`
	OffsetsTopicBytes            *int64   `json:"offsets_topic_appended_bytes,omitempty"`
	OffsetsTopicRecordsPerCommit *float64 `json:"offsets_topic_records_per_commit,omitempty"`
	OffsetsTopicBytesPerCommit   *float64 `json:"offsets_topic_bytes_per_commit,omitempty"`
	// WallS is the whole step: warm-up, window, and the wait for the
	// answers still outstanding when its schedule ended.
	WallS float64 `json:"wall_s"`
}

// SeriesName names the series of a committer shape.
func SeriesName(groups, partitionsPerCommit int) string {
	return fmt.Sprintf("%s × %s", plural(groups, "group"), plural(partitionsPerCommit, "partition"))
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return fmt.Sprintf("%d %ss", n, s)
}

// CapacityWriter appends capacity steps to a run directory, rewriting
// capacity.jsonl atomically at every step so an interrupted sweep keeps
// every finished step.
type CapacityWriter struct {
	lines jsonLines
}

// NewCapacityWriter creates dir (which must not hold capacity steps yet)
// and returns a writer for it.
func NewCapacityWriter(dir string) (*CapacityWriter, error) {
	if err := newRunFile(dir, CapacityFileName); err != nil {
		return nil, err
	}
	return &CapacityWriter{lines: jsonLines{path: filepath.Join(dir, CapacityFileName)}}, nil
}

// Path is the capacity file.
func (w *CapacityWriter) Path() string { return w.lines.path }

// Append adds one step and makes it durable before returning.
func (w *CapacityWriter) Append(s CapacityStep) error {
	if err := w.lines.append(s); err != nil {
		return fmt.Errorf("encoding capacity step %d: %w", s.Step, err)
	}
	return nil
}

// ReadCapacity loads the steps of a capacity sweep from a run directory or
// its capacity.jsonl, in the order they ran.
func ReadCapacity(path string) ([]CapacityStep, error) {
	return readLines[CapacityStep](path, CapacityFileName, CapacitySchemaVersion, "capacity step", "capacity steps", "re-run `commitbench capacity`")
}

// Knee is what a series of capacity steps says about the coordinator: the
// lowest target rate at which commits got slow or started failing, or how
// far it was driven without either.
type Knee struct {
	Series              string `json:"series"`
	Groups              int    `json:"groups"`
	PartitionsPerCommit int    `json:"partitions_per_commit"`
	// Found says a knee was measured; AtCommitsPerSec is its step's target
	// rate and Reason what happened there.
	Found           bool    `json:"found"`
	AtCommitsPerSec float64 `json:"at_commits_per_s,omitempty"`
	Reason          string  `json:"reason,omitempty"`
	// UpToCommitsPerSec is the highest target rate that was driven in full
	// and judged below the knee (0 when none was).
	UpToCommitsPerSec float64 `json:"up_to_commits_per_s"`
	// BaselineCommitsPerSec, BaselineP99Us and BaselineSamples are the
	// lowest-load step's rate and intended-time p99, with its sample count.
	BaselineCommitsPerSec float64 `json:"baseline_commits_per_s"`
	BaselineP99Us         float64 `json:"baseline_p99_us"`
	BaselineSamples       int64   `json:"baseline_samples"`
	// SenderLimitedAtCommitsPerSec is the first target rate the committers
	// could not send (SentPerSec below SenderShortfall of it), judged no
	// further; SentPerSec is what they sent there.
	SenderLimitedAtCommitsPerSec float64 `json:"sender_limited_at_commits_per_s,omitempty"`
	SenderLimitedSentPerSec      float64 `json:"sender_limited_sent_per_s,omitempty"`
	// Disturbed are the steps below the knee whose p99 rose as far, but
	// whose committers — which wait for nothing in an open loop — sent
	// late by half that p99 or more: the machine stalled them, so they
	// are not taken for the knee.
	Disturbed []Disturbance `json:"disturbed,omitempty"`
	// Caveat says what limits the judgement (too few samples behind the
	// baseline p99), empty when nothing does.
	Caveat string `json:"caveat,omitempty"`
}

// Disturbance is a step whose latency the committers' own lateness
// explains.
type Disturbance struct {
	AtCommitsPerSec float64 `json:"at_commits_per_s"`
	P99Us           float64 `json:"p99_us"`
	SendLagP99Us    float64 `json:"send_lag_p99_us"`
}

// Knees finds the knee of every series in steps, in the order the series
// first appear. Within a series the steps are taken by target rate: the
// lowest is the baseline; the knee is the first step whose intended-time
// p99 is at least KneeLatencyFactor times the baseline's (both with
// KneeMinSamples behind them) or that has failed commits. A step the
// committers could not drive at its target ends the search: what follows
// it measured the machine, not the broker. An open-loop step whose p99
// its committers' send lag explains (half of it or more) is passed over
// as disturbed, and listed.
func Knees(steps []CapacityStep) []Knee {
	var order []string
	by := map[string][]CapacityStep{}
	for _, s := range steps {
		if _, ok := by[s.Series]; !ok {
			order = append(order, s.Series)
		}
		by[s.Series] = append(by[s.Series], s)
	}
	out := make([]Knee, 0, len(order))
	for _, name := range order {
		out = append(out, knee(by[name]))
	}
	return out
}

func knee(steps []CapacityStep) Knee {
	steps = append([]CapacityStep(nil), steps...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].TargetCommitsPerSec < steps[j].TargetCommitsPerSec })
	base := steps[0]
	k := Knee{
		Series: base.Series, Groups: base.Groups, PartitionsPerCommit: base.PartitionsPerCommit,
		BaselineCommitsPerSec: base.TargetCommitsPerSec,
		BaselineP99Us:         base.IntendedLatency.P99Us,
		BaselineSamples:       base.IntendedLatency.Count,
	}
	p99Judged := base.IntendedLatency.Count >= KneeMinSamples
	if !p99Judged {
		k.Caveat = fmt.Sprintf("the lowest step's p99 rests on n=%d (fewer than %d), so only failures were judged: lengthen the steps or raise the lowest rate",
			base.IntendedLatency.Count, KneeMinSamples)
	}
	for _, s := range steps {
		if !s.SenderKeptUp {
			k.SenderLimitedAtCommitsPerSec, k.SenderLimitedSentPerSec = s.TargetCommitsPerSec, s.SentPerSec
			return k
		}
		if s.Failed > 0 {
			k.Found, k.AtCommitsPerSec = true, s.TargetCommitsPerSec
			k.Reason = fmt.Sprintf("%d of %d commits failed (%s)", s.Failed, s.Scheduled, failures(s.FailedByError))
			return k
		}
		if s.CommitsPerSec < KneeAnsweredShare*s.TargetCommitsPerSec {
			// The committers kept up but the coordinator did not: it is
			// saturated here, whatever the latency of the lower steps.
			k.Found, k.AtCommitsPerSec = true, s.TargetCommitsPerSec
			k.Reason = fmt.Sprintf("the coordinator answered %.0f of the %g commits/s sent", s.CommitsPerSec, s.TargetCommitsPerSec)
			return k
		}
		l := s.IntendedLatency
		if p99Judged && l.Count >= KneeMinSamples && l.P99Us >= KneeLatencyFactor*base.IntendedLatency.P99Us {
			if s.Loop == LoopOpen && s.SendLag.Count > 0 && s.SendLag.P99Us >= l.P99Us/2 {
				// The committers, which wait for nothing in an open
				// loop, were late themselves: the machine stalled, and
				// its stall is not the coordinator's knee.
				k.Disturbed = append(k.Disturbed, Disturbance{AtCommitsPerSec: s.TargetCommitsPerSec, P99Us: l.P99Us, SendLagP99Us: s.SendLag.P99Us})
				continue
			}
			k.Found, k.AtCommitsPerSec = true, s.TargetCommitsPerSec
			k.Reason = fmt.Sprintf("p99 %s (n=%d) is %.1f× the %g commits/s step's %s",
				us(l.P99Us), l.Count, l.P99Us/base.IntendedLatency.P99Us, base.TargetCommitsPerSec, us(base.IntendedLatency.P99Us))
			return k
		}
		k.UpToCommitsPerSec = s.TargetCommitsPerSec
		// The low-load p99 is the lowest seen so far: a first step slowed
		// by a freshly started broker (a JVM warming up) is no baseline.
		if p99Judged && l.Count >= KneeMinSamples && l.P99Us < base.IntendedLatency.P99Us {
			base = s
			k.BaselineCommitsPerSec, k.BaselineP99Us, k.BaselineSamples = s.TargetCommitsPerSec, l.P99Us, l.Count
		}
	}
	return k
}

// String says what the knee is in one sentence.
func (k Knee) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", k.Series)
	switch {
	case k.Found:
		fmt.Fprintf(&b, "knee at %g commits/s: %s", k.AtCommitsPerSec, k.Reason)
	case k.UpToCommitsPerSec > 0:
		fmt.Fprintf(&b, "no knee up to %g commits/s", k.UpToCommitsPerSec)
	default:
		b.WriteString("no step was driven at its target")
	}
	for _, d := range k.Disturbed {
		fmt.Fprintf(&b, "; the %g commits/s step is not taken for the knee: its p99 %s is the committers' own lateness (send lag p99 %s), a stall of this machine — run it again",
			d.AtCommitsPerSec, us(d.P99Us), us(d.SendLagP99Us))
	}
	if k.SenderLimitedAtCommitsPerSec > 0 {
		fmt.Fprintf(&b, "; the committers could not send %g commits/s (they sent %.0f/s): beyond that this machine, not the broker, set the rate — run fewer steps above it, or the committers on a bigger machine",
			k.SenderLimitedAtCommitsPerSec, k.SenderLimitedSentPerSec)
	}
	if k.Caveat != "" {
		fmt.Fprintf(&b, " (%s)", k.Caveat)
	}
	return b.String()
}

// failures lists error names and counts, most frequent first.
func failures(by map[string]int64) string {
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if by[names[i]] != by[names[j]] {
			return by[names[i]] > by[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, by[n])
	}
	return strings.Join(parts, ", ")
}

// us prints a microsecond figure as a duration, "12.3ms".
func us(v float64) string {
	return time.Duration(v * float64(time.Microsecond)).Round(time.Microsecond).String()
}
