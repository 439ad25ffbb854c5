package status

import (
	"fmt"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// progressStep is the granularity, in percent, at which a component's
// reported percentage enters the summary.
const progressStep = 10

// Progress summarises the components of a restore in one line for
// `kubectl get restore`: "<succeeded>/<total> components, <percent>%",
// followed by ", <n> failed" when some failed. It is empty until the total
// is known or a component reports.
//
// The percentage is the mean over all total components: a Succeeded
// component counts 100, any other its last reported percentage rounded
// down to a multiple of progressStep, one that has not reported 0.
// Rounding never shows 100% before every component has succeeded, so
// "100%" always means done.
//
// The step bounds what the summary costs: the controller writes status
// only when it changes, so a restore executor's progress report that stays
// within a step costs no API call, and each component moves the summary at
// most 100/progressStep times.
func Progress(st *corev1alpha1.RestoreSessionStatus) string {
	// As in ComponentsPhase, components may report before TotalComponents
	// is recorded.
	total := max(int(st.TotalComponents), len(st.Components))
	if total == 0 {
		return ""
	}
	succeeded, failed, sum := 0, 0, 0
	for _, c := range st.Components {
		switch {
		case c.Phase == corev1alpha1.RestoreSucceeded:
			succeeded++
			sum += 100
			continue
		case c.Phase == corev1alpha1.RestoreFailed:
			failed++
		}
		if c.Progress != nil {
			p := min(max(int(c.Progress.Percentage), 0), 100)
			sum += p - p%progressStep
		}
	}
	percent := (sum + total/2) / total
	if succeeded < total {
		percent = min(percent, 99)
	}
	s := fmt.Sprintf("%d/%d components, %d%%", succeeded, total, percent)
	if failed > 0 {
		s += fmt.Sprintf(", %d failed", failed)
	}
	return s
}
