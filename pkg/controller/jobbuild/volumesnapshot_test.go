package jobbuild

import (
	"slices"
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

// A volume snapshot restore reads nothing from the storage: its Job gets
// no backend volume, none of the storage's runtime settings (whose env may
// carry credentials) and not its service account; a data restore of the
// same storage gets all three.
func TestVolumeSnapshotJobGetsNothingOfTheStorage(t *testing.T) {
	const storageEnv, storageSA = "AWS_SECRET_ACCESS_KEY", "storage-identity"
	for _, tc := range []struct {
		name        string
		task        string
		wantStorage bool
	}{
		{name: "volume snapshot restore", task: invocation.TaskVolumeSnapshotRestore},
		{name: "docs' alias", task: invocation.TaskVolumeSnapshotRestoreAlias},
		{name: "data restore", task: testRestoreTask, wantStorage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleInput()
			in.Component = "volumesnapshot-pod-2"
			if tc.wantStorage {
				in.Component = "pod-2"
			}
			bs := localBackupStorage()
			bs.Spec.RuntimeSettings = &corev1alpha1.RuntimeSettings{
				Container: &corev1alpha1.ContainerRuntimeSettings{Env: []corev1.EnvVar{{
					Name: storageEnv, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "s3-credentials"}, Key: storageEnv,
					}},
				}}},
				Pod: &corev1alpha1.PodRuntimeSettings{ServiceAccountName: storageSA},
			}
			in.Storage = bs
			ref := corev1alpha1.TaskReference{Name: tc.task, TargetVolumes: &corev1alpha1.TargetVolumeInfo{
				VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{ObjectMeta: metav1.ObjectMeta{Name: "restore-data-${POD_ORDINAL}"}}},
			}}
			if tc.wantStorage {
				ref = in.RestoreSession.Spec.Addon.Tasks[0]
			}
			in.RestoreSession.Spec.Addon.Tasks = []corev1alpha1.TaskReference{ref}
			in.Tasks[0].Ref = ref
			job, err := RestoreJob(in)
			if err != nil {
				t.Fatal(err)
			}
			pod := job.Spec.Template.Spec
			gotBackend := volumeNamed(pod.Volumes, volumeBackend) != nil
			var gotEnv bool
			for _, c := range pod.Containers {
				gotEnv = gotEnv || slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == storageEnv })
			}
			gotSA := pod.ServiceAccountName == storageSA
			if gotBackend != tc.wantStorage || gotEnv != tc.wantStorage {
				t.Errorf("backend volume %v, storage env %v; want both %v", gotBackend, gotEnv, tc.wantStorage)
			}
			if gotSA {
				t.Errorf("the Job runs as the storage's service account %q; the controller picks the account (StorageServiceAccount)", storageSA)
			}
			if got := StorageServiceAccount(ReadStorage(in.RestoreSession, bs)) == storageSA; got != tc.wantStorage {
				t.Errorf("the storage's service account is offered: %v, want %v", got, tc.wantStorage)
			}
		})
	}
}
