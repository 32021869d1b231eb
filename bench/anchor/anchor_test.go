package anchor

import "testing"

func TestParse(t *testing.T) {
	out := `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-25 23:01:02:003, 2026-11-25 23:01:05:103, 95.3674, 30.7637, 1000000, 322580.6452, 3012, 88, 1083.7205, 11363636.3636
`
	r, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 1000000 || r.RecordsPerSec != 322580.6452 || r.FetchRecordsPerSec != 11363636.3636 || r.RebalanceMs != 3012 {
		t.Errorf("parsed %+v", r)
	}
	if _, err := Parse("WARN something\n"); err == nil {
		t.Error("parsed output without a summary")
	}
}
