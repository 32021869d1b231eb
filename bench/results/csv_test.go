package results

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// The CSV carries the broker's load per commit beside the raw figures,
// and leaves a cell empty — never 0, NaN or Inf — where the broker could
// not tell or no commit was made.
func TestCSVBrokerLoadPerCommit(t *testing.T) {
	cpu, recs, bytes_ := 2.0, int64(1500), int64(400_000)
	measured := sample(1)
	measured.Throughput.Commits = 500
	measured.Throughput.BrokerCPUSeconds, measured.Throughput.OffsetsTopicRecords, measured.Throughput.OffsetsTopicBytes = &cpu, &recs, &bytes_
	noCommits := measured
	noCommits.Throughput.Commits = 0
	kfake := sample(2) // no broker figures at all

	var b bytes.Buffer
	if err := WriteCSV(&b, []Result{measured, noCommits, kfake}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	// 2 s over 500 commits is 4 s per 1,000; 400,000 B over 500 is 800 B.
	for _, c := range []struct {
		row        int
		name, want string
	}{
		{1, "broker_cpu_per_1k_commits_s", "4"},
		{1, "offsets_topic_bytes_per_commit", "800"},
		{1, "offsets_topic_appended_records", "1500"},
		{2, "broker_cpu_per_1k_commits_s", ""},
		{2, "offsets_topic_bytes_per_commit", ""},
		{2, "broker_cpu_s", "2"},
		{3, "broker_cpu_s", ""},
		{3, "broker_cpu_per_1k_commits_s", ""},
		{3, "offsets_topic_appended_records", ""},
	} {
		i, ok := col[c.name]
		if !ok {
			t.Fatalf("no column %s in %v", c.name, rows[0])
		}
		if got := rows[c.row][i]; got != c.want {
			t.Errorf("row %d %s = %q, want %q", c.row, c.name, got, c.want)
		}
	}
}
