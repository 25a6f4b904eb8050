package schedule

import (
	"sort"
	"time"

	"github.com/herd-run/herd/internal/protocol"
)

// ShareFiles splits files (in collection order) into one share per worker
// for a split collection: each worker collects, and so imports, its share.
// Shares are balanced longest-first by the durations earlier runs recorded
// for each file's tests; files without any count as the median file, and
// when nothing is recorded the file sizes stand in for the work. Each share
// keeps collection order. The split depends only on its inputs.
func ShareFiles(files []protocol.File, durations map[string]time.Duration, workers int) [][]string {
	if workers < 1 {
		workers = 1
	}
	shares := make([][]string, workers)
	if len(files) == 0 {
		return shares
	}
	byFile := make(map[string]float64, len(files))
	for _, f := range files {
		byFile[f.ID] = 0
	}
	for id, d := range durations {
		for k := len(id); k > 0; {
			if _, ok := byFile[id[:k]]; ok {
				byFile[id[:k]] += d.Seconds()
				break
			}
			k = lastSep(id[:k])
		}
	}
	weight := make([]float64, len(files))
	var known []float64
	for i, f := range files {
		if w := byFile[f.ID]; w > 0 {
			weight[i] = w
			known = append(known, w)
		}
	}
	if len(known) == 0 {
		for i, f := range files {
			weight[i] = float64(f.Size) + 1
		}
	} else {
		sort.Float64s(known)
		median := known[len(known)/2]
		for i := range weight {
			if weight[i] == 0 {
				weight[i] = median
			}
		}
	}
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return weight[order[a]] > weight[order[b]] })
	load := make([]float64, workers)
	owner := make([]int, len(files))
	for _, i := range order {
		best := 0
		for w := 1; w < workers; w++ {
			if load[w] < load[best] {
				best = w
			}
		}
		owner[i] = best
		load[best] += weight[i]
	}
	for i, f := range files {
		shares[owner[i]] = append(shares[owner[i]], f.ID)
	}
	return shares
}

// lastSep returns where the last "::" of id starts, or 0.
func lastSep(id string) int {
	for k := len(id) - 2; k > 0; k-- {
		if id[k] == ':' && id[k+1] == ':' {
			return k
		}
	}
	return 0
}
