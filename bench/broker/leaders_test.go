package broker

import (
	"slices"
	"testing"
)

// The coordinator's partition is Kafka's: the expected values are
// Utils.abs(s.hashCode()) % 50 (abs mapping Integer.MIN_VALUE to 0),
// printed by a JDK 17 for these ids — among them a negative hash (which a
// mask of the sign bit puts on partition 14: the move of the wrong
// partition, seen on three nodes), a hash of Integer.MIN_VALUE and a
// character outside the BMP.
func TestOffsetsPartitionIsKafkas(t *testing.T) {
	for group, want := range map[string]int32{
		"hello":                      22,
		"polygenelubricants":         0,
		"cb-20261204-ab12p3-group":   25,
		"grüße-😀":                    27,
		"commitbench":                1,
		"commitbench-test1-p0-group": 34,
	} {
		if got := OffsetsPartition(group, 50); got != want {
			t.Errorf("OffsetsPartition(%q, 50) = %d, want %d", group, got, want)
		}
	}
}

// The next in-sync replica after the leader becomes the preferred one,
// and the replica set stays the same (no data moves); with no other
// replica in sync nothing moves.
func TestNextPreferred(t *testing.T) {
	all := []int32{1, 2, 3}
	for _, c := range []struct {
		replicas, isr []int32
		leader        int32
		want          []int32
	}{
		{all, all, 1, []int32{2, 1, 3}},
		{all, all, 3, []int32{1, 2, 3}},
		{[]int32{3, 1, 2}, all, 1, []int32{2, 3, 1}},
		{[]int32{2, 1}, []int32{1, 2}, 2, []int32{1, 2}},
		{all, []int32{1, 3}, 1, []int32{3, 1, 2}}, // 2 is catching up
		{all, []int32{1}, 1, nil},
	} {
		got, ok := nextPreferred(c.replicas, c.isr, c.leader)
		if !slices.Equal(got, c.want) || ok != (c.want != nil) {
			t.Errorf("nextPreferred(%v, isr %v, %d) = %v, %v; want %v", c.replicas, c.isr, c.leader, got, ok, c.want)
		}
	}
}
