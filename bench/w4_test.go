package bench

import (
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/memsdk/mem-go/mock"
)

// TestW4Distribution runs the report's W4 (W3 with a noisy neighbour
// spending 30% of the key's budget) many times with the SDK and prints how
// many runs met how many 429s, and the efficiency's spread: one report run
// shows one draw of the goroutine order, and the tail is what a user meets.
// It runs only when MEMBENCH_W4_RUNS is set (300 runs take about 10 s):
//
//	MEMBENCH_W4_RUNS=300 go test ./bench -run TestW4Distribution -v
func TestW4Distribution(t *testing.T) {
	runs, err := strconv.Atoi(os.Getenv("MEMBENCH_W4_RUNS"))
	if err != nil || runs < 1 {
		t.Skip("set MEMBENCH_W4_RUNS=N to run W4 N times")
	}
	var w workload
	for _, x := range workloads(fullSizes) {
		if x.name == "W4" {
			w = x
		}
	}
	per429 := map[int]int{}
	routes := map[string]int{}
	var effs []float64
	calls := 0
	for range runs {
		r := run(t, w, contenders[0].name, newSDK, mock.Faults{}, nil)
		per429[r.n429]++
		for route, n := range r.route429 {
			routes[route] += n
		}
		effs = append(effs, r.efficiency())
		calls = max(calls, r.calls)
	}
	slices.Sort(effs)
	t.Logf("W4 × %d runs (about %d calls each): runs by number of 429s %v; 429s by route %v; efficiency min %.3f, p10 %.3f, p50 %.3f",
		runs, calls, per429, routes, effs[0], effs[runs/10], effs[runs/2])
	worst := 0
	for n := range per429 {
		worst = max(worst, n)
	}
	if float64(worst) > 0.01*float64(calls) {
		t.Errorf("a run met %d 429s in about %d calls (goal: at most 1%%)", worst, calls)
	}
}
