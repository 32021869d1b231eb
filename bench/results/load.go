package results

// BrokerCPUPer1kCommits is the broker's CPU seconds per 1,000 commits made
// inside the measured window, and whether the phase measured it (the broker
// exposed its CPU time and at least one commit was made). The CPU time
// covers the whole phase, fetches included, so this is what the broker
// spent per commit, not only on commits.
func (t Throughput) BrokerCPUPer1kCommits() (float64, bool) {
	if t.BrokerCPUSeconds == nil || t.Commits <= 0 {
		return 0, false
	}
	return *t.BrokerCPUSeconds / float64(t.Commits) * 1000, true
}

// OffsetsBytesPerCommit is what the phase appended to __consumer_offsets
// per commit made inside the measured window, and whether the broker told
// (real Kafka does, kfake keeps no such log) and a commit was made.
func (t Throughput) OffsetsBytesPerCommit() (float64, bool) {
	if t.OffsetsTopicBytes == nil || t.Commits <= 0 {
		return 0, false
	}
	return float64(*t.OffsetsTopicBytes) / float64(t.Commits), true
}
