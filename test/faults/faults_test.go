package faults

import (
	"testing"
)

// TestFaults runs the cases. Cases 1 (the controller SIGKILLed) and 3
// (kube-apiserver stopped) disturb every restore on the cluster, so each
// runs alone; the others disturb only their own namespace, storage or
// volume and run in parallel.
func TestFaults(t *testing.T) {
	t.Run("1-controller-killed", testControllerKilled)
	t.Run("3-apiserver-restarted", testAPIServerRestarted)
	t.Run("parallel", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			run  func(*testing.T)
		}{
			{"2-executor-killed", testExecutorKilled},
			{"4-storage-unreachable", testStorageUnreachable},
			{"5-corrupted-repository", testCorruptedRepository},
			{"6-bad-credentials", testBadCredentials},
			{"7-target-full", testTargetFull},
			{"8-deadline", testDeadline},
			{"9-delete-while-running", testDeleteWhileRunning},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t)
			})
		}
	})
}
