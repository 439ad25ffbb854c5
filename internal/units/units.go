// Package units formats sizes the way KubeStash writes them into status
// fields and messages ("1.5 MiB"). The restore engine, the executor and the
// controller share it; it imports nothing of Kubernetes or kopia.
package units

import "fmt"

// FormatBytes renders n in binary units ("512 B", "1.5 MiB").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
