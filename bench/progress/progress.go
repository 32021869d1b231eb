// Package progress shows how far a run is: a bar on a terminal, plain
// periodic lines otherwise (CI logs, pipes).
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/spec"
)

// Display follows a run point by point.
type Display struct {
	out   io.Writer
	bar   *progressbar.ProgressBar
	total int
	every time.Duration
	last  time.Time
}

// New returns a Display for total points. On a terminal it draws a bar;
// elsewhere it prints a line per point and at most one line per `every`
// within a point.
func New(out io.Writer, total int, every time.Duration) *Display {
	d := &Display{out: out, total: total, every: every}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		d.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("points"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	return d
}

// Point announces that point p starts.
func (d *Display) Point(p spec.Point) {
	if d.bar != nil {
		d.bar.Describe(fmt.Sprintf("%s rep %d", p.Key, p.Repetition))
		return
	}
	fmt.Fprintf(d.out, "[%d/%d] %s rep %d\n", p.Index+1, d.total, p.Key, p.Repetition)
	d.last = time.Now()
}

// Event shows progress within a point.
func (d *Display) Event(e runner.Event) {
	if d.bar != nil {
		d.bar.Describe(fmt.Sprintf("%s rep %d: %s %d%%", e.Point.Key, e.Point.Repetition, e.Phase, 100*e.Applied/max(e.Records, 1)))
		return
	}
	if time.Since(d.last) >= d.every {
		d.last = time.Now()
		fmt.Fprintf(d.out, "        %s phase: %d/%d records\n", e.Phase, e.Applied, e.Records)
	}
}

// Done marks a point finished.
func (d *Display) Done() {
	if d.bar != nil {
		_ = d.bar.Add(1)
	}
}

// Finish clears the bar.
func (d *Display) Finish() {
	if d.bar != nil {
		_ = d.bar.Finish()
	}
}
