package plot

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
)

var update = flag.Bool("update", false, "rewrite testdata/results.jsonl from the fixture generator")

// fixturePath is the committed results fixture that the plot and report
// tests share: the embedded broker, which measures no __consumer_offsets
// bytes. localFixturePath is a sweep on three real Kafka nodes, with the
// broker's load measured (one cell on fewer repetitions).
var (
	fixturePath      = filepath.Join("testdata", results.FileName)
	localFixturePath = filepath.Join("testdata", "local", results.FileName)
)

// TestWriteFixture regenerates the fixture (go test ./bench/plot -run
// TestWriteFixture -update). It is a generator, not a check: histogram
// encodings may differ between Go versions, so the file is not compared.
func TestWriteFixture(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the fixture")
	}
	for path, rs := range map[string][]results.Result{fixturePath: fixtureResults(t, embeddedFixture), localFixturePath: fixtureResults(t, localFixture)} {
		dir := filepath.Join(t.TempDir(), "run")
		w, err := results.NewWriter(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if err := w.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(w.Path())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixtureCluster is the broker and the costs a fixture sweep runs at.
type fixtureCluster struct {
	workload string
	broker   cluster.Description
	// perRecordS is p; commitScale multiplies every strategy's c.
	perRecordS, commitScale float64
	records                 int64
	cpuMicros               float64
	// The commit call's median latency is latencyBaseUs plus
	// latencyPerCommitS·c (µs); on the wire it is wireUs.
	latencyBaseUs, latencyPerCommitS, wireUs float64
	// load: the broker's CPU and __consumer_offsets bytes are measured:
	// brokerCPUPerRecordS for serving fetches, brokerCPUPerCommitS and
	// offsetsBytesPerCommit per commit; partialKey is a cell whose first
	// repetition could not read the broker's CPU.
	load                                     bool
	brokerCPUPerRecordS, brokerCPUPerCommitS float64
	offsetsBytesPerCommit                    float64
	partialKey                               string
	startedAt                                time.Time
}

var (
	// embeddedFixture: realistic kfake-in-process costs (p ≈ 1.25 µs: 1 µs
	// of work plus the client; c ≈ 45 µs for a synchronous commit).
	embeddedFixture = fixtureCluster{
		workload: "interval-sweep",
		broker: cluster.Description{Kind: "embedded", Version: "kfake v0.0.0-20260918054303-01f206a7e32c",
			Brokers: 1, OffsetsReplication: 1, Note: "in-memory fake: commits cost tens of µs, not ms"},
		perRecordS: 1.25e-6, commitScale: 1, records: 2_000_000, cpuMicros: 1,
		latencyBaseUs: 25, latencyPerCommitS: 1e5, wireUs: 20,
		startedAt: time.Date(2026, 11, 25, 22, 15, 30, 0, time.UTC),
	}
	// localFixture: three replicated Kafka nodes, where a synchronous
	// commit costs milliseconds (c ≈ 2.5 ms) and a record 150 µs of work:
	// inside the claim's band.
	localFixture = fixtureCluster{
		workload: "claim",
		broker: cluster.Description{Kind: "local", Version: "Apache Kafka 4.4.0",
			Brokers: 3, OffsetsReplication: 3},
		perRecordS: 150e-6, commitScale: 2.5e-3 / 45e-6, records: 200_000, cpuMicros: 150,
		latencyBaseUs: 0, latencyPerCommitS: 1e6, wireUs: 1800,
		load: true, brokerCPUPerRecordS: 2e-6, brokerCPUPerCommitS: 400e-6, offsetsBytesPerCommit: 820,
		partialKey: "claim/at-least-once-sync/1000rec",
		startedAt:  time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC),
	}
)

// fixtureStrategy is one strategy's behaviour under the first-order model.
type fixtureStrategy struct {
	name, guarantee string
	commitS         float64 // c
	counts          []int64
	times           []time.Duration
	replay, loss    bool
	replayBound     bool // sync: at most N
}

// fixtureResults builds a sweep: five strategies, count intervals
// 100/1000/10000, time intervals 10ms/100ms/1s, a hybrid point, 3
// repetitions, on fc's broker at fc's costs.
func fixtureResults(t *testing.T, fc fixtureCluster) []results.Result {
	const reps = 3
	perRecordS, records, workload := fc.perRecordS, fc.records, fc.workload
	rng := rand.New(rand.NewPCG(42, 7))
	counts := []int64{100, 1000, 10_000}
	times := []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second}
	strategies := []fixtureStrategy{
		{name: "none", guarantee: "none"},
		{name: "at-most-once", guarantee: "at-most-once", commitS: 47e-6, counts: counts, loss: true},
		{name: "at-least-once-sync", guarantee: "at-least-once", commitS: 45e-6, counts: counts, times: times, replay: true, replayBound: true},
		{name: "at-least-once-async", guarantee: "at-least-once", commitS: 12e-6, counts: counts, times: times, replay: true},
		{name: "autocommit", guarantee: "at-least-once", commitS: 8e-6, times: times, replay: true},
	}
	on := true
	base := results.Result{
		SchemaVersion: results.SchemaVersion, RunID: "20261125-221530-4f2a", Workload: workload,
		Topic:      spec.Topic{Partitions: 8, Records: records, RecordBytes: 100, Keys: "none"},
		Processing: spec.Processing{CPUMicros: fc.cpuMicros},
		Client: spec.Client{FetchMaxBytes: 16 << 20, FetchMaxPartitionBytes: 1 << 20,
			FetchMaxWait: spec.Duration(100 * time.Millisecond), MaxPollRecords: 500, Compression: "none",
			SessionTimeout: spec.Duration(6 * time.Second), StaticMembership: &on},
		Crashes: spec.Crashes{PerPoint: 3, Seed: 42},
		Broker:  fc.broker,
		Machine: results.Machine{Commitbench: "v0.1.0-dev", GoVersion: "go1.26.8", FranzGo: "v1.22.3",
			OS: "linux", Arch: "amd64", CPUs: 2},
		Violations: []string{},
	}
	var out []results.Result
	add := func(s fixtureStrategy, iv spec.Interval) {
		for rep := 1; rep <= reps; rep++ {
			r := base
			r.Strategy, r.Guarantee, r.Repetition = s.name, strategy.Guarantee(s.guarantee), rep
			r.Key = fmt.Sprintf("%s/%s/%s", workload, s.name, iv)
			r.Interval = iv
			r.StartedAt = fc.startedAt.Add(time.Duration(len(out)) * time.Second).Format(time.RFC3339)
			r.FinishedAt = r.StartedAt

			// Throughput from the model, N from whichever trigger fires first.
			ceiling := 1 / perRecordS
			n := math.Inf(1)
			if iv.Records > 0 {
				n = float64(iv.Records)
			}
			if iv.Every > 0 {
				n = min(n, ceiling*iv.Every.D().Seconds())
			}
			commitS := s.commitS * fc.commitScale
			rate := 1 / (perRecordS + commitS/n)
			if s.name == "at-least-once-sync" && iv.Records == 1000 && iv.Every == 0 {
				rate *= 0.80 // a point off its curve, for the report to flag
			}
			rate *= 1 + 0.015*rng.NormFloat64()
			measured := int64(records * 9 / 10)
			r.WarmupRecords = records - measured
			tp := results.Throughput{Records: records, MeasuredRecords: measured,
				MeasuredSeconds: float64(measured) / rate, RecordsPerSec: rate}
			tp.WallSeconds = float64(records) / rate
			tp.WorkerCPUSeconds = tp.WallSeconds * 0.93
			if s.commitS > 0 {
				tp.Commits = int64(math.Ceil(float64(records) / n))
				tp.CommitsPerSec = float64(tp.Commits) / tp.WallSeconds
				tp.CommitLatency, tp.CommitLatencyHist = fixtureLatency(t, rng, tp.Commits, fc.latencyBaseUs+commitS*fc.latencyPerCommitS)
				tp.WireCommitLatency, tp.WireCommitLatencyHist = fixtureLatency(t, rng, tp.Commits, fc.wireUs)
			}
			if fc.load {
				fixtureLoad(rng, fc, &tp, rep == 1 && r.Key == fc.partialKey)
			}
			r.Throughput = tp
			if s.commitS > 0 {
				r.Crash = fixtureCrash(rng, s, iv, n)
			}
			out = append(out, r)
		}
	}
	for _, s := range strategies {
		if s.counts == nil && s.times == nil {
			add(s, spec.Interval{})
		}
		for _, c := range s.counts {
			add(s, spec.Interval{Records: c})
		}
		for _, d := range s.times {
			add(s, spec.Interval{Every: spec.Duration(d)})
		}
		if s.name == "at-least-once-sync" {
			add(s, spec.Interval{Records: 1000, Every: spec.Duration(100 * time.Millisecond)})
		}
	}
	return out
}

// fixtureLatency draws count commit latencies: log-normal around medianUs
// with a 0.5% slow tail, as a loaded in-process broker shows.
func fixtureLatency(t *testing.T, rng *rand.Rand, count int64, medianUs float64) (metrics.Latency, string) {
	h := metrics.NewHistogram()
	for range count {
		us := medianUs * math.Exp(0.35*rng.NormFloat64())
		if rng.Float64() < 0.005 {
			us *= 4 + 8*rng.Float64()
		}
		metrics.Record(h, time.Duration(us*float64(time.Microsecond)))
	}
	enc, err := metrics.Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	return metrics.Summarize(h), enc
}

// fixtureCrash is three SIGKILLs: replay uniform over the commit window
// (process-then-commit; async and autocommit add what was in flight), or
// loss uniform over it (commit-then-process).
func fixtureCrash(rng *rand.Rand, s fixtureStrategy, iv spec.Interval, window float64) *results.Crash {
	c := &results.Crash{Planned: 3, Kills: 3, StaticMembers: true, WallSeconds: 9.5}
	zero := int64(0)
	if s.loss {
		c.ReplayBound = &zero
		b := iv.Records
		c.LossBound = &b
	} else {
		c.LossBound = &zero
		if s.replayBound && iv.Records > 0 {
			b := iv.Records
			c.ReplayBound = &b
		}
	}
	var replaySum float64
	for range c.Kills {
		var replay, lost int64
		u := int64(rng.Float64() * window)
		switch {
		case s.replay:
			replay = u
			if !s.replayBound {
				replay += int64(rng.IntN(500))
			}
		case s.loss:
			lost = u
		}
		c.ReplayPerCrash = append(c.ReplayPerCrash, replay)
		c.LostPerCrash = append(c.LostPerCrash, lost)
		c.ReplayMax = max(c.ReplayMax, replay)
		c.Lost += lost
		replaySum += float64(replay)
		rec := 80 + 120*rng.Float64()
		c.RecoveryMs = append(c.RecoveryMs, rec)
		c.RecoveryMeanMs += rec / float64(c.Kills)
		c.RecoveryMaxMs = max(c.RecoveryMaxMs, rec)
	}
	c.ReplayMean = replaySum / float64(c.Kills)
	c.Duplicates = int64(replaySum)
	return c
}

// fixtureLoad fills in the broker's load: CPU for serving the phase's
// fetches and for each commit, __consumer_offsets bytes per commit, each
// with a little noise; noCPU leaves the CPU out, as a broker whose
// processes could not be read.
func fixtureLoad(rng *rand.Rand, fc fixtureCluster, tp *results.Throughput, noCPU bool) {
	noise := func() float64 { return 1 + 0.03*rng.NormFloat64() }
	if !noCPU {
		cpu := (fc.brokerCPUPerRecordS*float64(tp.Records) + fc.brokerCPUPerCommitS*float64(tp.Commits)) * noise()
		tp.BrokerCPUSeconds = &cpu
	}
	if tp.Commits > 0 {
		// Every commit writes one offset record per partition it covers.
		recs := tp.Commits * 8
		b := int64(float64(tp.Commits) * fc.offsetsBytesPerCommit * noise())
		tp.OffsetsTopicRecords, tp.OffsetsTopicBytes = &recs, &b
	}
}
