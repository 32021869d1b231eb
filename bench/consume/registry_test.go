package consume

import (
	"testing"

	"github.com/commitbench/commitbench/bench/strategy"
)

// Every catalog entry runs, and the registry holds nothing the catalog
// does not describe.
func TestRegistryMatchesCatalog(t *testing.T) {
	seen := 0
	strategy.Each(func(info strategy.Info) {
		seen++
		s, err := For(info.Name)
		if err != nil {
			t.Errorf("%s: %v", info.Name, err)
			return
		}
		if s.loop == nil {
			t.Errorf("%s has no loop", info.Name)
		}
		if (s.Client == PartitionsClient) != info.OffsetsInSink {
			t.Errorf("%s: client %v with offsets in sink %v", info.Name, s.Client, info.OffsetsInSink)
		}
		if s.Options != nil && info.Count {
			t.Errorf("%s: kgo's autocommit cannot commit by count", info.Name)
		}
	})
	if seen != len(registry) {
		t.Errorf("catalog has %d strategies, registry %d", seen, len(registry))
	}
	if _, err := For("nonesuch"); err == nil {
		t.Error("an unknown strategy was found")
	}
}
