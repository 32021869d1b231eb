package results

import "sort"

// CellReps is every repetition of one cell (same Key), in repetition order.
type CellReps struct {
	Key      string
	Workload string
	Strategy string
	Reps     []Result
}

// First is the cell's first repetition, which carries the settings shared
// by all of them.
func (c CellReps) First() Result { return c.Reps[0] }

// ByCell gathers results into cells, in the order their keys first appear.
func ByCell(rs []Result) []CellReps {
	idx := map[string]int{}
	var cells []CellReps
	for _, r := range rs {
		i, ok := idx[r.Key]
		if !ok {
			i = len(cells)
			idx[r.Key] = i
			cells = append(cells, CellReps{Key: r.Key, Workload: r.Workload, Strategy: r.Strategy})
		}
		cells[i].Reps = append(cells[i].Reps, r)
	}
	for i := range cells {
		sort.SliceStable(cells[i].Reps, func(a, b int) bool { return cells[i].Reps[a].Repetition < cells[i].Reps[b].Repetition })
	}
	return cells
}

// Values applies f to every repetition.
func (c CellReps) Values(f func(Result) float64) []float64 {
	out := make([]float64, len(c.Reps))
	for i, r := range c.Reps {
		out[i] = f(r)
	}
	return out
}
