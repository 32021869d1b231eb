package consume

import (
	"slices"
	"testing"
)

// A draining relay's scope is the partitions the member had when the
// drain began: a loss or revoke during the drain (a session running out
// in a network stall) no longer empties it, while before the drain a
// revoke takes the partitions out.
func TestDrainingScopeKeepsItsPartitions(t *testing.T) {
	s := newRelayScope()
	s.join([]int32{0, 1, 2, 3})
	s.leave([]int32{3})
	if got := s.parts(); !slices.Equal(got, []int32{0, 1, 2}) {
		t.Fatalf("before the drain: scope %v, want [0 1 2]", got)
	}
	s.freeze()
	s.leave([]int32{0, 1, 2})
	if got := s.parts(); !slices.Equal(got, []int32{0, 1, 2}) {
		t.Errorf("draining: scope %v after the partitions were lost, want [0 1 2]", got)
	}
}
