// Package plot draws commitbench's trade-off curves from a run's results
// with gonum/plot: throughput, commit latency, replay and loss against the
// commit interval, the throughput/replay frontier and the commit-latency
// distribution. Everything — strategies, intervals, brokers — is taken
// from the data, so a new strategy or broker needs no change here.
//
// Count intervals and time intervals get figures of their own; hybrid
// intervals (whichever trigger fires first) are drawn on the count axis at
// their record count, as a series named "<strategy> (hybrid, ≤<time>)".
// Each workload/broker pair is a panel with its own set of figures.
package plot
