package capacity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/cluster"
)

// committer commits offsets for one consumer group without being a member
// of it: an OffsetCommit with generation -1 and no member id, which Kafka
// (and kfake) accept for a group with no active members — the "simple
// consumer" commit that kadm's CommitOffsets also sends. It has a client,
// and so a connection to the coordinator, of its own, as every consumer
// group's member would.
type committer struct {
	group   string
	cl      *kgo.Client
	topic   string
	topicID [16]byte
	parts   int32
	// seq numbers the commits: commit k sets every partition's offset to
	// k, so every commit changes what is stored.
	seq atomic.Int64
}

func newCommitter(conn cluster.Conn, group, topic string, topicID [16]byte, parts int32, timeout time.Duration) (*committer, error) {
	opts, err := broker.ClientOpts(conn)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ClientID("commitbench-capacity"),
		// A commit fails after the commit timeout, retries included.
		kgo.RetryTimeout(timeout),
		kgo.RequestTimeoutOverhead(timeout),
	)...)
	if err != nil {
		return nil, fmt.Errorf("creating the client of committer %s: %w", group, err)
	}
	return &committer{group: group, cl: cl, topic: topic, topicID: topicID, parts: parts}, nil
}

// commit sends one OffsetCommit for every partition and waits for its
// answer; the error is the request's, or the first partition's.
func (c *committer) commit(ctx context.Context) error {
	off := c.seq.Add(1)
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = c.group
	req.Generation = -1 // no generation: a commit from outside the group
	req.MemberID = ""
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic, t.TopicID = c.topic, c.topicID // the name up to v9, the id from v10
	t.Partitions = make([]kmsg.OffsetCommitRequestTopicPartition, c.parts)
	for p := range c.parts {
		tp := kmsg.NewOffsetCommitRequestTopicPartition()
		tp.Partition, tp.Offset = p, off
		t.Partitions[p] = tp
	}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return err
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				return err
			}
		}
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != int(c.parts) {
		return fmt.Errorf("OffsetCommit for %d partitions answered for %d topics: %w", c.parts, len(resp.Topics), errMalformed)
	}
	return nil
}

// prime makes the committer's first commit, outside any measurement: it
// finds the coordinator and opens the connection, and it checks that the
// broker accepts commits from outside the group. Errors the broker calls
// retriable (a coordinator loading, a topic whose leaders are not known
// yet) are retried until timeout.
func (c *committer) prime(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.commit(ctx)
		if err == nil {
			return nil
		}
		if !kerr.IsRetriable(err) || ctx.Err() != nil {
			return fmt.Errorf("committer %s: the first commit (generation -1, no member id) failed: %w", c.group, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("committer %s: the first commit failed within %s: %w", c.group, timeout, err)
		case <-tick.C:
		}
	}
}

func (c *committer) close() { c.cl.Close() }

var errMalformed = errors.New("malformed answer")

// Names of failures that carry no Kafka error code.
const (
	ErrNameTimeout    = "CLIENT_TIMEOUT"
	ErrNameConnection = "CONNECTION_ERROR"
	ErrNameClient     = "CLIENT_ERROR"
)

// errorName names a failed commit for its count: the Kafka error code's
// name, or what went wrong on the client's side.
func errorName(err error) string {
	var ke *kerr.Error
	var ne net.Error
	switch {
	case errors.As(err, &ke):
		return ke.Message
	case errors.Is(err, context.DeadlineExceeded):
		return ErrNameTimeout
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return ErrNameConnection
	}
	return ErrNameClient
}
