package jobbuild

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

// A volume snapshot task's volumeClaimTemplates are the claims its
// executor creates from VolumeSnapshots: the Job mounts none of them, the
// controller creates none (TargetClaims), and a Job without any target
// volume is accepted, with or without a target.
func TestVolumeSnapshotTaskMountsNoClaims(t *testing.T) {
	for _, tc := range []struct {
		name      string
		task      string
		noTarget  bool
		wantClaim bool
	}{
		{name: "task name", task: invocation.TaskVolumeSnapshotRestore},
		{name: "docs' alias, no target", task: invocation.TaskVolumeSnapshotRestoreAlias, noTarget: true},
		{name: "a data task mounts and creates them", task: testRestoreTask, wantClaim: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleInput()
			in.Component = "volumesnapshot-pod-2"
			if tc.wantClaim {
				in.Component = "pod-2"
			}
			if tc.noTarget {
				in.RestoreSession.Spec.Target = nil
			}
			ref := corev1alpha1.TaskReference{Name: tc.task, TargetVolumes: &corev1alpha1.TargetVolumeInfo{
				VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{ObjectMeta: metav1.ObjectMeta{Name: "restore-data-${POD_ORDINAL}"}}},
			}}
			in.RestoreSession.Spec.Addon.Tasks = []corev1alpha1.TaskReference{ref}
			in.Tasks[0].Ref = ref
			job, err := RestoreJob(in)
			if err != nil {
				t.Fatal(err)
			}
			var claims []string
			for _, v := range job.Spec.Template.Spec.Volumes {
				if v.PersistentVolumeClaim != nil && v.Name != volumeBackend {
					claims = append(claims, v.PersistentVolumeClaim.ClaimName)
				}
			}
			targets, err := TargetClaims(in)
			if err != nil {
				t.Fatal(err)
			}
			if (len(claims) > 0) != tc.wantClaim || (len(targets) > 0) != tc.wantClaim {
				t.Errorf("Job mounts claims %v and the controller would create %d; want claims: %v", claims, len(targets), tc.wantClaim)
			}
			if !tc.wantClaim && envValue(job.Spec.Template.Spec.Containers[0].Env, invocation.EnvTaskName) != tc.task {
				t.Errorf("the executor is not told its task %q", tc.task)
			}
		})
	}
}
