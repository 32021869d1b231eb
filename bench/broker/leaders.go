package broker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// MoveLeaders moves the leadership of each of the topic's partitions
// (every one when partitions is empty) to the next of its replicas, as a
// reassignment or a broker's preferred-leader balancing does on a live
// cluster: no node stops. It reorders each partition's replicas so that
// the next one is preferred (the replica set is unchanged, so no data
// moves) and elects the preferred leaders. It returns the partitions now
// led by the replica chosen for them; a partition with no other replica in sync stays. It
// works on any real cluster that lets this client
// alter partition assignments; a partition with one replica cannot move.
func MoveLeaders(ctx context.Context, cl *kgo.Client, topic string, partitions ...int32) (int, error) {
	adm := kadm.NewClient(cl)
	before, err := leaders(ctx, cl, topic)
	if err != nil {
		return 0, err
	}
	var req kadm.AlterPartitionAssignmentsReq
	set := kadm.TopicsSet{}
	target := map[int32]int32{}
	for _, p := range before {
		if len(partitions) > 0 && !slices.Contains(partitions, p.Partition) {
			continue
		}
		if len(p.Replicas) < 2 {
			return 0, fmt.Errorf("moving the leader of %s/%d: it has %d replica, so no other node can lead it (use 3 nodes)", topic, p.Partition, len(p.Replicas))
		}
		order, ok := nextPreferred(p.Replicas, p.ISR, p.Leader)
		if !ok {
			// No other replica is in sync (a node just restarted is
			// still catching up): this one cannot move now.
			continue
		}
		req.Assign(topic, p.Partition, order)
		set.Add(topic, p.Partition)
		target[p.Partition] = order[0]
	}
	if len(set) == 0 {
		return 0, nil
	}
	rs, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("moving leaders of %s: reordering replicas: %w", topic, err)
	}
	if err := rs.Error(); err != nil {
		return 0, fmt.Errorf("moving leaders of %s: reordering replicas: %w", topic, err)
	}
	if err := waitReassigned(ctx, adm, set); err != nil {
		return 0, err
	}
	ers, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, set)
	if err != nil {
		return 0, fmt.Errorf("moving leaders of %s: electing: %w", topic, err)
	}
	for _, ps := range ers {
		for _, r := range ps {
			// Not needed: the reordering's own election got there first.
			if r.Err != nil && !errors.Is(r.Err, kerr.ElectionNotNeeded) {
				return 0, fmt.Errorf("moving the leader of %s/%d: electing: %w", r.Topic, r.Partition, r.Err)
			}
		}
	}
	return waitLeaders(ctx, cl, topic, target)
}

// waitLeaders waits until the metadata shows each partition of target led
// by its target node — the controller has elected them, the brokers'
// metadata follows — and returns how many are; after 30 s it gives the
// count as it stands (a leader that moved on again is not an error).
func waitLeaders(ctx context.Context, cl *kgo.Client, topic string, target map[int32]int32) (int, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ps, err := leaders(ctx, cl, topic)
		if err != nil {
			return 0, err
		}
		moved := 0
		for p, node := range target {
			if ps[p].Leader == node {
				moved++
			}
		}
		if moved == len(target) || time.Now().After(deadline) {
			return moved, nil
		}
		select {
		case <-ctx.Done():
			return moved, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// nextPreferred is replicas with the first in-sync one after leader
// first: the order that makes it the preferred leader; false when no
// other replica is in sync.
func nextPreferred(replicas, isr []int32, leader int32) ([]int32, bool) {
	i := slices.Index(replicas, leader)
	for k := 1; k < len(replicas); k++ {
		next := replicas[(i+k)%len(replicas)]
		if next == leader || !slices.Contains(isr, next) {
			continue
		}
		out := []int32{next}
		for _, r := range replicas {
			if r != next {
				out = append(out, r)
			}
		}
		return out, true
	}
	return nil, false
}

// partitionLeaders is a topic's partitions: leader, replicas, in-sync
// replicas.
type partitionLeaders map[int32]kmsg.MetadataResponseTopicPartition

// leaders reads the topic's partitions from a broker, not from the
// client's metadata cache: kadm's reads may answer from a cache up to 5 s
// old (MetadataMinAge), which turns the wait for a move into 5 s.
func leaders(ctx context.Context, cl *kgo.Client, topic string) (partitionLeaders, error) {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("reading the leaders of %s: %w", topic, err)
	}
	for _, rt := range resp.Topics {
		if rt.Topic == nil || *rt.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return nil, fmt.Errorf("reading the leaders of %s: %w", topic, err)
		}
		out := partitionLeaders{}
		for _, p := range rt.Partitions {
			out[p.Partition] = p
		}
		return out, nil
	}
	return nil, fmt.Errorf("reading the leaders of %s: no such topic", topic)
}

// waitReassigned waits until no partition of set is being reassigned. A
// reordering keeps the replica set, so it ends at once; the wait is
// bounded by ctx and by a ceiling that names what is stuck.
func waitReassigned(ctx context.Context, adm *kadm.Client, set kadm.TopicsSet) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs, err := adm.ListPartitionReassignments(ctx, set)
		if err != nil {
			return fmt.Errorf("moving leaders: listing reassignments: %w", err)
		}
		n := 0
		for _, ps := range rs {
			n += len(ps)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("moving leaders: %d partitions still reassigning after 30s", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// OffsetsPartition is the __consumer_offsets partition that holds group's
// offsets, among n: the leader of it is the group's coordinator. Kafka
// picks it as Utils.abs(groupId.hashCode()) % n — Java's String.hashCode,
// and an abs that maps Integer.MIN_VALUE to 0 (not a mask of the sign
// bit, which picks another partition for every negative hash).
func OffsetsPartition(group string, n int) int32 {
	var h int32
	for _, c := range utf16Units(group) {
		h = 31*h + int32(c)
	}
	switch {
	case h == math.MinInt32:
		h = 0
	case h < 0:
		h = -h
	}
	return h % int32(n)
}

// utf16Units are s's UTF-16 code units: what Java hashes.
func utf16Units(s string) []uint16 {
	var out []uint16
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xd800+(r>>10)), uint16(0xdc00+(r&0x3ff)))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}

// MoveCoordinator moves group's coordinator to another node by moving the
// leader of its __consumer_offsets partition: the new leader loads the
// group from the log, and the members find it after their next request
// answers NOT_COORDINATOR. It returns the coordinator's node before and
// after.
func MoveCoordinator(ctx context.Context, cl *kgo.Client, group string) (from, to int32, err error) {
	ps, err := leaders(ctx, cl, OffsetsTopic)
	if err != nil {
		return 0, 0, err
	}
	p := OffsetsPartition(group, len(ps))
	from = ps[p].Leader
	n, err := MoveLeaders(ctx, cl, OffsetsTopic, p)
	if err != nil {
		return 0, 0, fmt.Errorf("moving the coordinator of group %s: %w", group, err)
	}
	if n == 0 {
		return from, from, nil // no other replica in sync to move to
	}
	// The coordinator is whoever the brokers say it is: the check that
	// the partition computed is the group's. The broker asked may see
	// the new leader a moment after the one that answered the metadata.
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(10 * time.Second)
	for {
		node, err := coordinatorOf(ctx, adm, group)
		if err != nil {
			return 0, 0, fmt.Errorf("after moving __consumer_offsets partition %d: %w", p, err)
		}
		if node != from {
			return from, node, nil
		}
		if time.Now().After(deadline) {
			now, _ := leaders(ctx, cl, OffsetsTopic)
			return 0, 0, fmt.Errorf("the coordinator of group %s is still node %d 10 s after its __consumer_offsets partition %d moved (before: leader %d replicas %v isr %v; now: leader %d replicas %v isr %v)",
				group, from, p, ps[p].Leader, ps[p].Replicas, ps[p].ISR, now[p].Leader, now[p].Replicas, now[p].ISR)
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// coordinatorOf is the node the brokers name group's coordinator.
func coordinatorOf(ctx context.Context, adm *kadm.Client, group string) (int32, error) {
	for _, c := range adm.FindGroupCoordinators(ctx, group) {
		if c.Err != nil {
			return 0, fmt.Errorf("finding the coordinator of group %s: %w", group, c.Err)
		}
		return c.NodeID, nil
	}
	return 0, fmt.Errorf("finding the coordinator of group %s: no answer", group)
}
