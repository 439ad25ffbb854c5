package controller

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
)

func TestTarget(t *testing.T) {
	tests := []struct {
		name   string
		target common.TypedObjectReference
		object runtime.Object
	}{
		{"StatefulSet", *stsTarget(testSTS), newStatefulSet()},
		{"Deployment", common.TypedObjectReference{APIGroup: "apps", Kind: refs.KindDeployment, Name: "web", Namespace: testNS},
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: testNS}}},
		{"DaemonSet", common.TypedObjectReference{APIGroup: "apps", Kind: refs.KindDaemonSet, Name: "agent"},
			&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: testNS}}},
		{"PersistentVolumeClaim", common.TypedObjectReference{Kind: refs.KindPersistentVolumeClaim, Name: "restore-pvc", Namespace: testNS},
			&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "restore-pvc", Namespace: testNS}}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" found", func(t *testing.T) {
			f := newFixture(t)
			f.removeObject(newStatefulSet())
			f.kubeObjects = append(f.kubeObjects, tt.object)
			f.editRS(func(rs *corev1alpha1.RestoreSession) { setTarget(rs, tt.target) })
			f.start()
			res := f.mustSync()
			rs := f.rs()
			if rs.Status.TargetFound == nil || !*rs.Status.TargetFound {
				t.Errorf("targetFound = %v, want true", rs.Status.TargetFound)
			}
			expectCondition(t, rs, corev1alpha1.TypeRestoreTargetFound, metav1.ConditionTrue, corev1alpha1.ReasonRestoreTargetFound, tt.target.Name)
			if res.requeueAfter != 0 {
				t.Errorf("requeueAfter = %v, want none", res.requeueAfter)
			}
			if n := len(f.jobs()); n != 2 {
				t.Errorf("got %d Jobs, want 2", n)
			}
		})
		t.Run(tt.name+" missing, then appears", func(t *testing.T) {
			f := newFixture(t)
			f.removeObject(newStatefulSet())
			f.editRS(func(rs *corev1alpha1.RestoreSession) { setTarget(rs, tt.target) })
			f.start()
			res := f.mustSync()
			rs := f.rs()
			if rs.Status.TargetFound == nil || *rs.Status.TargetFound {
				t.Errorf("targetFound = %v, want false", rs.Status.TargetFound)
			}
			expectCondition(t, rs, corev1alpha1.TypeRestoreTargetFound, metav1.ConditionFalse, corev1alpha1.ReasonRestoreTargetNotFound, tt.target.Name)
			if res.requeueAfter != 7*time.Second {
				t.Errorf("requeueAfter = %v, want the TargetPollInterval 7s", res.requeueAfter)
			}
			expectNoJobs(t, f)
			if ev := f.events(); !hasEvent(ev, "Warning "+EventReasonTargetNotFound) {
				t.Errorf("no Warning %s event in %v", EventReasonTargetNotFound, ev)
			}
			// Polling again while it is still missing changes nothing.
			if _, err := f.sync(); err != nil {
				t.Fatal(err)
			}
			if w := f.writes(); len(w) != 0 {
				t.Errorf("second poll wrote %v", w)
			}
			if ev := f.events(); len(ev) != 0 {
				t.Errorf("second poll recorded %v", ev)
			}

			if err := f.kubeClient.Tracker().Add(tt.object); err != nil {
				t.Fatal(err)
			}
			f.clock.Step(7 * time.Second)
			f.mustSync()
			rs = f.rs()
			if rs.Status.TargetFound == nil || !*rs.Status.TargetFound {
				t.Errorf("targetFound = %v after the target appeared, want true", rs.Status.TargetFound)
			}
			expectCondition(t, rs, corev1alpha1.TypeRestoreTargetFound, metav1.ConditionTrue, corev1alpha1.ReasonRestoreTargetFound)
			if n := len(f.jobs()); n != 2 {
				t.Errorf("got %d Jobs after the target appeared, want 2", n)
			}
		})
	}
}

func TestTargetUnsupportedKind(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Target = &common.TypedObjectReference{APIGroup: "kubedb.com", Kind: "Postgres", Name: "pg"}
	})
	f.start().mustSync()
	rs := f.rs()
	// The spec is immutable, so an unsupported kind can never be found:
	// it is a validation error naming the field, not a wait.
	if rs.Status.Phase != corev1alpha1.RestoreInvalid {
		t.Errorf("phase = %q, want Invalid", rs.Status.Phase)
	}
	expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionFalse, corev1alpha1.ReasonResourceValidationFailed, `spec.target.kind: Invalid value: "Postgres"`)
	expectNoJobs(t, f)
}

// setTarget points the RestoreSession at target; a Deployment or DaemonSet
// gets targetVolumes, which the controller cannot derive for them.
func setTarget(rs *corev1alpha1.RestoreSession, target common.TypedObjectReference) {
	rs.Spec.Target = target.DeepCopy()
	if target.Kind == refs.KindDeployment || target.Kind == refs.KindDaemonSet {
		rs.Spec.Addon.Tasks[0].TargetVolumes = &corev1alpha1.TargetVolumeInfo{
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "app-data"},
			}}},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
		}
	}
}

// A workload target written without its apiGroup, as KubeStash's docs do,
// is the same target as with apps: validation passes, it is found, and a
// BackupConfiguration of it spelled either way is the same target.
func TestWorkloadTargetWithoutGroup(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.Target.APIGroup = "" })
	f.start()
	f.mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, corev1alpha1.ReasonResourceValidationPassed)
	expectCondition(t, rs, corev1alpha1.TypeRestoreTargetFound, metav1.ConditionTrue, "")

	withoutGroup := &common.TypedObjectReference{Kind: refs.KindStatefulSet, Name: testSTS}
	if targetKey(withoutGroup, testNS) != targetKey(stsTarget(testSTS), testNS) {
		t.Errorf("targetKey without group %q differs from targetKey with apps %q", targetKey(withoutGroup, testNS), targetKey(stsTarget(testSTS), testNS))
	}
}
