package runner

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/commitbench/commitbench/bench/broker"
)

// offsetsTopic is where Kafka keeps committed offsets.
const offsetsTopic = "__consumer_offsets"

// brokerLoad is what the broker had done at one moment: the CPU time of
// its processes and what __consumer_offsets held. The difference between
// two is the cost a phase put on the broker, measured rather than assumed.
type brokerLoad struct {
	cpu            float64
	cpuOK          bool
	records, bytes int64
	offsetsOK      bool
}

// load reads the broker's load now. What a broker cannot report is left
// out (ok false), never guessed.
func (r *Runner) load(ctx context.Context) brokerLoad {
	var l brokerLoad
	if m, ok := r.b.(broker.CPUMeter); ok {
		if s, err := m.CPUSeconds(); err == nil {
			l.cpu, l.cpuOK = s, true
		}
	}
	ends, err := r.adm.ListEndOffsets(ctx, offsetsTopic)
	if err != nil || ends.Error() != nil {
		return l
	}
	ends.Each(func(o kadm.ListedOffset) { l.records += o.Offset })
	dirs, err := r.adm.DescribeAllLogDirs(ctx, nil) // every partition; filtered below
	if err != nil {
		return l
	}
	dirs.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if p.Topic == offsetsTopic {
				l.bytes += p.Size
			}
		})
	})
	l.offsetsOK = true
	return l
}

// since fills the broker-load figures of a phase from two readings.
func (l brokerLoad) since(before brokerLoad) (cpu *float64, records, bytes *int64) {
	if l.cpuOK && before.cpuOK {
		d := l.cpu - before.cpu
		cpu = &d
	}
	if l.offsetsOK && before.offsetsOK {
		r, b := l.records-before.records, l.bytes-before.bytes
		records, bytes = &r, &b
	}
	return cpu, records, bytes
}
