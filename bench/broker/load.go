package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
)

// OffsetsTopic is where Kafka keeps committed offsets.
const OffsetsTopic = "__consumer_offsets"

// Load is what a broker had done at one moment: the CPU time of its
// processes and what __consumer_offsets held. The difference between two
// readings is the cost a phase put on the broker, measured rather than
// assumed.
type Load struct {
	cpu            float64
	cpuOK          bool
	records, bytes int64
	offsetsOK      bool
}

// ReadLoad reads b's load now, asking through adm for the offsets topic's
// end offsets and log size. What a broker cannot report is left out, never
// guessed: the CPU time where b is no CPUMeter, the offsets topic where it
// is not exposed (kfake).
func ReadLoad(ctx context.Context, b Broker, adm *kadm.Client) Load {
	var l Load
	if m, ok := b.(CPUMeter); ok {
		if s, err := m.CPUSeconds(); err == nil {
			l.cpu, l.cpuOK = s, true
		}
	}
	ends, err := adm.ListEndOffsets(ctx, OffsetsTopic)
	if err != nil || ends.Error() != nil {
		return l
	}
	ends.Each(func(o kadm.ListedOffset) { l.records += o.Offset })
	dirs, err := adm.DescribeAllLogDirs(ctx, nil) // every partition; filtered below
	if err != nil {
		return l
	}
	dirs.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if p.Topic == OffsetsTopic {
				l.bytes += p.Size
			}
		})
	})
	l.offsetsOK = true
	return l
}

// Since returns the broker's CPU seconds and the records and bytes
// appended to __consumer_offsets between before and l; each is nil where
// either reading could not tell.
func (l Load) Since(before Load) (cpu *float64, records, bytes *int64) {
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
