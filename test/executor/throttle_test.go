package executor

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/test/framework"
)

// TestRestoreJobBandwidthLimit: a restore Job with --bandwidth-limit
// (the bandwidthLimit task param) reads the storage no faster than the
// limit: the 48 MiB of random data take at least 90 % of size/limit, and
// the restore is still exact.
func TestRestoreJobBandwidthLimit(t *testing.T) {
	const limit = 12 << 20 // bytes per second
	storageDir := t.TempDir()
	vol := corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: storageDir, Type: ptr.To(corev1.HostPathDirectory)}}
	runRestoreJob(t, storageCase{
		backend: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderLocal,
			Local:    &storagev1alpha1.LocalSpec{VolumeSource: vol, MountPath: "/safe/data"},
		},
		seedArgs: []string{"--local-storage-dir", storageDir},
		check:    func(t *testing.T) {},
		jobArgs:  []string{"--bandwidth-limit=12Mi"},
		checkRestored: func(t *testing.T, src, restored string, final corev1alpha1.ComponentRestoreStatus) {
			want := framework.ScanTree(t, src)
			framework.ExpectSameTree(t, "the throttled restore", want, restored)
			_, bytes := want.Stats()
			d, err := time.ParseDuration(final.Duration)
			if err != nil {
				t.Fatalf("component duration %q: %v", final.Duration, err)
			}
			minimum := time.Duration(float64(bytes) / limit * 0.9 * float64(time.Second))
			t.Logf("restored %d bytes in %s at a limit of %d B/s (at least %s)", bytes, d, limit, minimum)
			if d < minimum {
				t.Errorf("restore of %d bytes took %s at a limit of %d B/s, want at least %s", bytes, d, limit, minimum)
			}
		},
	})
}
