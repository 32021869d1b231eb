package anchor

import (
	"math"
	"testing"
	"time"
)

func TestParseDetailed(t *testing.T) {
	out := `time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-12-02 13:35:22:000, 0, 2.0505, 20.5040, 50000, 215000.0000, 300, 100, 20.5040, 215000.0000
2026-12-02 13:35:22:100, 0, 7.5965, 55.4600, 100000, 581540.0000, 0, 100, 55.4600, 581540.0000
2026-12-02 13:35:22:300, 0, 18.2778, 103.7024, 300000, 1087398.0583, 0, 103, 103.7024, 1087398.0583
`
	start, _ := time.ParseInLocation("2006-01-02 15:04:05.000", "2026-12-02 13:35:21.300", time.Local)
	r, err := Parse(out, 60000, start)
	if err != nil {
		t.Fatal(err)
	}
	// The warm-up ends at the line with 100,000 records: 200,000 more in 0.2 s.
	if r.Records != 300000 || math.Abs(r.FetchRecordsPerSec-1e6) > 1e-6 || r.RebalanceMs != 300 {
		t.Errorf("parsed %+v", r)
	}
	if math.Abs(r.RecordsPerSec-300000/1.0) > 1e-6 {
		t.Errorf("whole-run rate %v, want 300,000 records over 1 s from the JVM's start", r.RecordsPerSec)
	}
	if _, err := Parse("WARN something\n", 0, start); err == nil {
		t.Error("parsed output without progress lines")
	}
}
