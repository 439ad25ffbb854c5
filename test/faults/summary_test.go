package faults

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// caseResult is one case's summary line.
type caseResult struct {
	number   int
	name     string
	passed   bool
	figures  []string
	duration time.Duration
}

func (r *caseResult) String() string {
	verdict := "PASS"
	if !r.passed {
		verdict = "FAIL"
	}
	return fmt.Sprintf("case %d %s: %s %s (%s)", r.number, r.name, verdict, strings.Join(r.figures, ", "), r.duration.Round(100*time.Millisecond))
}

// summary collects the cases' lines for the suite's last lines.
var summary results

type results struct {
	mu    sync.Mutex
	cases []*caseResult
}

// figures records key figures of a running case; the case's line is
// printed, and kept for the totals, when its test ends.
type figures struct {
	mu sync.Mutex
	r  *caseResult
}

// startCase begins case number's summary line.
func startCase(t *testing.T, number int, name string) *figures {
	t.Helper()
	begin := time.Now()
	f := &figures{r: &caseResult{number: number, name: name}}
	t.Cleanup(func() {
		f.mu.Lock()
		f.r.passed = !t.Failed()
		f.r.duration = time.Since(begin)
		line := f.r.String()
		f.mu.Unlock()
		fmt.Println(line)
		summary.mu.Lock()
		summary.cases = append(summary.cases, f.r)
		summary.mu.Unlock()
	})
	return f
}

// add records a key figure, e.g. add("kills", 9).
func (f *figures) add(name string, value any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.r.figures = append(f.r.figures, fmt.Sprintf("%s=%v", name, value))
}

// print writes every case's line in case order and the totals.
func (s *results) print(w io.Writer, wall time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	slices.SortStableFunc(s.cases, func(a, b *caseResult) int { return a.number - b.number })
	passed := 0
	fmt.Fprintln(w, "--- fault-injection summary")
	for _, r := range s.cases {
		fmt.Fprintln(w, r)
		if r.passed {
			passed++
		}
	}
	fmt.Fprintf(w, "faults: %d cases, %d passed, %d failed, wall time %s\n", len(s.cases), passed, len(s.cases)-passed, wall.Round(time.Second))
}
