package broker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SetConsumerGroupSession sets a KIP-848 group's session timeout, and its
// heartbeat interval to a third of it, as the group's own configs
// (consumer.session.timeout.ms and consumer.heartbeat.interval.ms). Under
// the consumer protocol the broker owns both: the client's session
// timeout is never sent, and the broker-wide default is 45 s. validate
// only asks the broker whether it would accept them (the broker checks
// them against its group.consumer.min/max bounds), so a bad timeout is
// known before a run starts. Kafka 4.0 or later, or kfake.
func SetConsumerGroupSession(ctx context.Context, cl *kgo.Client, group string, session time.Duration, validate bool) error {
	set := func(name string, d time.Duration) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op = name, kmsg.IncrementalAlterConfigOpSet
		c.Value = kmsg.StringPtr(strconv.FormatInt(d.Milliseconds(), 10))
		return c
	}
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	res.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{
		set("consumer.session.timeout.ms", session),
		set("consumer.heartbeat.interval.ms", session/3),
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Resources, req.ValidateOnly = []kmsg.IncrementalAlterConfigsRequestResource{res}, validate
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("setting group %s's session timeout to %s: %w", group, session, err)
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			msg := ""
			if r.ErrorMessage != nil {
				msg = ": " + *r.ErrorMessage
			}
			return fmt.Errorf("setting group %s's session timeout to %s (heartbeat %s): %w%s", group, session, session/3, err, msg)
		}
	}
	return nil
}

// groupTimeoutFloors are the broker configs that let a workload's groups
// time out in seconds: Kafka's floors are 6 s for a classic session, and
// 45 s and 5 s for a KIP-848 group's session and heartbeat.
func groupTimeoutFloors() map[string]string {
	return map[string]string{
		"group.min.session.timeout.ms":             "1000",
		"group.consumer.min.session.timeout.ms":    "1000",
		"group.consumer.min.heartbeat.interval.ms": "100",
	}
}
