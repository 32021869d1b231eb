package results

import "sort"

// Cell is every repetition of one point (same Key), in repetition order.
type Cell struct {
	Key      string
	Workload string
	Strategy string
	Reps     []Result
}

// First is the cell's first repetition, which carries the settings shared
// by all of them.
func (c Cell) First() Result { return c.Reps[0] }

// Group gathers results into cells, in the order their keys first appear.
func Group(rs []Result) []Cell {
	idx := map[string]int{}
	var cells []Cell
	for _, r := range rs {
		i, ok := idx[r.Key]
		if !ok {
			i = len(cells)
			idx[r.Key] = i
			cells = append(cells, Cell{Key: r.Key, Workload: r.Workload, Strategy: r.Strategy})
		}
		cells[i].Reps = append(cells[i].Reps, r)
	}
	for i := range cells {
		sort.SliceStable(cells[i].Reps, func(a, b int) bool { return cells[i].Reps[a].Repetition < cells[i].Reps[b].Repetition })
	}
	return cells
}

// Values applies f to every repetition.
func (c Cell) Values(f func(Result) float64) []float64 {
	out := make([]float64, len(c.Reps))
	for i, r := range c.Reps {
		out[i] = f(r)
	}
	return out
}
