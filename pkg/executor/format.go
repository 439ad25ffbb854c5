// Sizes and durations in the forms KubeStash writes them into status fields.

package executor

import (
	"time"

	"github.com/restore-controller/restore/internal/units"
)

// FormatBytes renders n in binary units as KubeStash writes sizes ("1.5 MiB").
func FormatBytes(n int64) string { return units.FormatBytes(n) }

// formatDuration rounds for status fields.
func formatDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Second).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	default:
		return d.String()
	}
}
