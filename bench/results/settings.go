package results

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/commitbench/commitbench/bench/cluster"
)

// measured are the top-level fields of a Result that are not settings:
// identity, timing and the measurements themselves. Machine is left out
// on purpose as well: a new Go or franz-go version is what a gate judges.
var measured = []string{"schema_version", "run_id", "repetition", "started_at", "finished_at",
	"machine", "throughput", "crash", "scenario", "violations"}

// Settings flattens every setting a result was measured under — whatever
// the point and its environment recorded, minus the measurements — into
// results-file paths (e.g. "client.fetch_max_wait_ns") and JSON values.
// It is derived from the Result type rather than listed by hand, so a new
// setting takes part in every comparability check the day it is recorded.
func Settings(r Result) map[string]string {
	// Not encoded only to be dropped: the histograms are most of a result.
	r.Throughput, r.Crash, r.Scenario, r.Violations = Throughput{}, nil, nil, nil
	b, err := json.Marshal(r)
	var tree map[string]any
	if err == nil {
		err = json.Unmarshal(b, &tree)
	}
	if err != nil { // only NaN or Inf figures, which no results file holds
		return map[string]string{"result": fmt.Sprintf("unencodable: %v", err)}
	}
	for _, k := range measured {
		delete(tree, k)
	}
	if br, ok := tree["broker"].(map[string]any); ok {
		for _, k := range cluster.Measured {
			delete(br, k)
		}
	}
	flat := map[string]string{}
	flatten("", tree, flat)
	return flat
}

// SettingNames lists the paths of Settings(r), sorted.
func SettingNames(r Result) []string {
	s := Settings(r)
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func flatten(prefix string, v any, into map[string]string) {
	m, ok := v.(map[string]any)
	if !ok {
		enc, _ := json.Marshal(v)
		into[prefix] = string(enc)
		return
	}
	for k, sub := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		flatten(k, sub, into)
	}
}
