package runner

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/commitbench/commitbench/bench/consume"
	"github.com/commitbench/commitbench/bench/ledger"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/sink"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/wire"
	"github.com/commitbench/commitbench/bench/worker"
)

// sample is a timestamped value from a worker (Unix ns, value).
type sample struct{ at, v int64 }

// newPhase creates the phase's shared ledger and, for strategies whose
// effects land elsewhere, its sink tables or output topic.
func (r *Runner) newPhase(ctx context.Context, p spec.Point, strat consume.Strategy, name string) (ph *phase, err error) {
	id := fmt.Sprintf("p%d-%s", p.Index, name)
	path := filepath.Join(r.tmp, id)
	l, err := ledger.Create(path, r.end)
	if err != nil {
		return nil, err
	}
	// On error the caller still closes what was made (it always closes
	// a returned phase).
	ph = &phase{name: name, point: p, strat: strat, ledger: l, path: path, r: r}
	ph.cfg = r.workerConfig(p, name, path)
	switch strat.Effects {
	case strategy.EffectsDB:
		ph.cfg.Sink = worker.SinkConfig{Kind: r.w.Sink.Kind, DSN: r.w.Sink.DSN,
			Tables: tablePrefix(r.runID, id)}
		if r.w.Sink.Kind == sink.SQLite {
			ph.cfg.Sink.DSN = path + ".db"
		}
		if ph.db, err = sink.Open(ctx, ph.cfg.Sink.Kind, ph.cfg.Sink.DSN); err != nil {
			return ph, err
		}
		ph.tables = sink.TablesFor(ph.cfg.Sink.Tables)
		if err := ph.db.Setup(ctx, ph.tables, strat.UniqueResults); err != nil {
			return ph, err
		}
	}
	if strat.Effects == strategy.EffectsTopic || strat.Relay {
		ph.cfg.Output = r.topic + "-" + id + "-out"
		if err := createTopic(ctx, r.adm, ph.cfg.Output, r.w.Topic.Partitions); err != nil {
			return ph, err
		}
	}
	return ph, nil
}

// tablePrefix names a phase's tables: unique per run and phase, and short,
// since PostgreSQL truncates identifiers at 63 bytes (silently, so a long
// run id would make two tables' names collide).
func tablePrefix(runID, phase string) string {
	sum := sha256.Sum256([]byte(runID + "/" + phase))
	return fmt.Sprintf("cb_%x_%s", sum[:6], strings.ReplaceAll(phase, "-", "_"))
}

// close releases the phase's ledger, sink tables and output topic.
func (ph *phase) close(ctx context.Context) {
	ph.ledger.Close()
	os.Remove(ph.path)
	if ph.db != nil {
		if ph.db.Kind() == sink.SQLite {
			ph.db.Close()
			for _, suffix := range []string{".db", ".db-wal", ".db-shm"} {
				os.Remove(ph.path + suffix)
			}
		} else {
			ph.db.Drop(ctx, ph.tables)
			ph.db.Close()
		}
	}
	if ph.cfg.Output != "" && !ph.r.w.Broker.KeepTopics {
		deleteTopic(ctx, ph.r.adm, ph.cfg.Output)
	}
}

// effects returns the ledger of the phase's effects where the strategy
// puts them: the shared ledger, the sink's result rows, or the output
// topic read committed.
func (ph *phase) effects(ctx context.Context) (*ledger.Ledger, error) {
	switch ph.strat.Effects {
	case strategy.EffectsDB:
		l := ledger.New(ph.r.end)
		return l, ph.db.EachResult(ctx, ph.tables, l.Apply)
	case strategy.EffectsTopic:
		l := ledger.New(ph.r.end)
		return l, readCommitted(ctx, ph.r.conn, ph.cfg.Output, ph.r.end, ph.r.stall, l.Apply)
	}
	return ph.ledger, nil
}

// relay reads the outbox relay's output topic: what it published, what it
// published twice, and what a consumer deduplicating by outbox id misses.
func (ph *phase) relay(ctx context.Context) (*results.Relay, error) {
	if !ph.strat.Relay {
		return nil, nil
	}
	l := ledger.New(ph.r.end)
	if err := readCommitted(ctx, ph.r.conn, ph.cfg.Output, ph.r.end, ph.r.stall, l.Apply); err != nil {
		return nil, err
	}
	t := l.Tally()
	h := metrics.NewHistogram()
	for _, s := range ph.lags {
		metrics.Record(h, time.Duration(s.v))
	}
	return &results.Relay{Published: t.Applied, Duplicates: t.Duplicates, Missing: t.Lost, Lag: metrics.Summarize(h)}, nil
}

// phase gathers what the workers of one phase report.
type phase struct {
	r        *Runner
	strat    consume.Strategy
	cfg      worker.Config
	db       *sink.DB
	tables   sink.Tables
	path     string
	name     string
	point    spec.Point
	ledger   *ledger.Ledger
	progress []sample // cumulative records processed, per process
	commits  []sample // commit call latencies
	lags     []sample // outbox relay lags
	autos    []int64  // times of kgo autocommits (no call latency)
	wire     []sample // OffsetCommit wire latencies
	failed   int64
}

// proc is one worker process within a phase.
type proc struct {
	s       *process
	firstAt int64 // Unix ns of its first processed record, 0 before
	doneAt  int64 // Unix ns of reaching the end, 0 before
	// selfKilledAt is when the worker killed itself at its kill point.
	selfKilledAt int64
	starts       map[int32]int64
	base         int64 // records processed by earlier processes of the phase
}

func (ph *phase) handle(pr *proc, f wire.Frame) error {
	switch f.Kind {
	case wire.Commit:
		ph.commits = append(ph.commits, sample{at: f.A, v: f.B})
	case wire.RelayLag:
		ph.lags = append(ph.lags, sample{at: f.A, v: f.B})
	case wire.AutoCommit:
		ph.autos = append(ph.autos, f.A)
	case wire.CommitOnWire:
		ph.wire = append(ph.wire, sample{at: f.A, v: f.B})
	case wire.Progress:
		ph.progress = append(ph.progress, sample{at: f.A, v: pr.base + f.B})
	case wire.First:
		pr.firstAt = f.A
	case wire.Done:
		pr.doneAt = f.A
	case wire.Killed:
		pr.selfKilledAt = f.A
	case wire.Start:
		pr.starts[f.Partition] = f.A
	case wire.Failed:
		ph.failed++
	default:
		return fmt.Errorf("unknown frame kind %q from worker", f.Kind)
	}
	return nil
}
