package strategy

import (
	"strings"
	"testing"
	"time"
)

func TestBounds(t *testing.T) {
	for _, tt := range []struct {
		name     string
		records  int64
		replay   int64
		replayOK bool
		loss     int64
		lossOK   bool
	}{
		{AtLeastOnceSync, 100, 100, true, 0, true},
		{AtLeastOnceSync, 0, 0, false, 0, true}, // time-only: no count bound
		{AtLeastOnceAsync, 100, 0, false, 0, true},
		{AtMostOnce, 100, 0, true, 100, true},
		{ExactlyOnceDB, 1000, 1000, true, 0, true},
		{Transactional, 1000, 1000, true, 0, true},
		{Autocommit, 0, 0, false, 0, true},
		{None, 0, 0, false, 0, false},
		{BrokenCommitAhead, 100, 0, false, 0, true},
	} {
		info, err := Lookup(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		r, rok := info.ReplayBound(tt.records)
		l, lok := info.LossBound(tt.records)
		if r != tt.replay || rok != tt.replayOK || l != tt.loss || lok != tt.lossOK {
			t.Errorf("%s at %d: replay %d/%v loss %d/%v, want %d/%v %d/%v", tt.name, tt.records, r, rok, l, lok, tt.replay, tt.replayOK, tt.loss, tt.lossOK)
		}
	}
}

func TestAccepts(t *testing.T) {
	for _, tt := range []struct {
		name           string
		records, every int64
		ok             bool
	}{
		{AtLeastOnceSync, 100, 0, true},
		{AtLeastOnceSync, 100, 1e9, true},
		{Autocommit, 100, 0, false},
		{Autocommit, 0, 1e9, true},
		{AtMostOnce, 0, 1e9, false},
		{AtMostOnce, 100, 1e9, false},
		{None, 100, 0, false},
	} {
		info, _ := Lookup(tt.name)
		if ok, why := info.Accepts(tt.records, tt.every); ok != tt.ok || !ok && why == "" {
			t.Errorf("%s accepts (%d rec, %d ns) = %v %q, want %v with a reason when not", tt.name, tt.records, tt.every, ok, why, tt.ok)
		}
	}
	if _, err := Lookup("nope"); err == nil {
		t.Error("unknown strategy found")
	}
	for _, n := range Names() {
		if i, _ := Lookup(n); i.Hidden {
			t.Errorf("hidden %s listed to users", n)
		}
	}
}

func TestAutocommitIntervalFloor(t *testing.T) {
	info, _ := Lookup(Autocommit)
	if ok, why := info.Accepts(0, int64(50*time.Millisecond)); ok || !strings.Contains(why, "100ms") {
		t.Errorf("autocommit every 50ms accepted (%q): kgo refuses it", why)
	}
	if ok, _ := info.Accepts(0, int64(100*time.Millisecond)); !ok {
		t.Error("autocommit every 100ms refused")
	}
}
