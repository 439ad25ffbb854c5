package controller

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	core "k8s.io/client-go/testing"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/names"
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

func TestComponents(t *testing.T) {
	tests := []struct {
		name      string
		requested []string
		want      []string
	}{
		{"all components when none requested", nil, []string{"pod-0", "pod-1", "pod-2"}},
		{"subset", []string{"pod-2"}, []string{"pod-2"}},
		{"sample", []string{"pod-0", "pod-2"}, []string{"pod-0", "pod-2"}},
		{"duplicates count once", []string{"pod-2", "pod-0", "pod-2"}, []string{"pod-0", "pod-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Components = tt.requested })
			f.start().mustSync()
			rs := f.rs()
			if int(rs.Status.TotalComponents) != len(tt.want) {
				t.Errorf("totalComponents = %d, want %d", rs.Status.TotalComponents, len(tt.want))
			}
			var got []string
			for _, job := range f.jobs() {
				got = append(got, job.Annotations[AnnotationComponent])
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Jobs restore components %v, want %v", got, tt.want)
			}
		})
	}
}

// pausedBy is the pause mark of the sample RestoreSession.
const pausedBy = testNS + "/" + testRSName

func TestPauseBackups(t *testing.T) {
	for _, outcome := range []corev1alpha1.RestorePhase{corev1alpha1.RestoreSucceeded, corev1alpha1.RestoreFailed} {
		t.Run(string(outcome), func(t *testing.T) {
			f := newFixture(t)
			f.objects = append(f.objects,
				newBackupConfiguration("same-target", stsTarget(testSTS), false, nil),
				newBackupConfiguration("other-target", stsTarget("other-sts"), false, nil),
				newBackupConfiguration("owner-paused", stsTarget(testSTS), true, map[string]string{"note": "paused by its owner"}),
			)
			f.start()
			if _, err := f.sync(); err != nil {
				t.Fatal(err)
			}
			writes := f.writes()
			fin := indexOf(writes, "patch restoresessions demo/sample-restore")
			pause := indexOf(writes, "patch backupconfigurations demo/same-target")
			firstJob := indexOf(writes, "create jobs ")
			if fin < 0 || pause < 0 || firstJob < 0 || fin > pause || pause > firstJob {
				t.Errorf("want finalizer patch < pause patch < first Job; writes: %v", writes)
			}
			for _, bc := range []string{"other-target", "owner-paused"} {
				if indexOf(writes, "patch backupconfigurations demo/"+bc) >= 0 {
					t.Errorf("BackupConfiguration %s was patched: %v", bc, writes)
				}
			}
			for _, a := range f.client.Actions() {
				if p, ok := a.(core.PatchAction); ok && a.GetResource().Resource == "backupconfigurations" {
					if p.GetPatchType() != types.MergePatchType {
						t.Errorf("pause patch type = %s, want merge", p.GetPatchType())
					}
					var patch map[string]map[string]any
					if err := json.Unmarshal(p.GetPatch(), &patch); err != nil {
						t.Fatal(err)
					}
					if patch["spec"]["paused"] != true || len(patch) != 2 {
						t.Errorf("pause patch = %s", p.GetPatch())
					}
				}
			}
			f.refresh()

			rs := f.rs()
			if !slices.Contains(rs.Finalizers, FinalizerRestore) {
				t.Errorf("finalizers = %v, want %s", rs.Finalizers, FinalizerRestore)
			}
			wantPaused := []common.TypedObjectReference{{APIGroup: "core.kubestash.com", Kind: "BackupConfiguration", Namespace: testNS, Name: "same-target"}}
			if !slices.Equal(rs.Status.PausedBackups, wantPaused) {
				t.Errorf("pausedBackups = %+v, want %+v", rs.Status.PausedBackups, wantPaused)
			}
			if bc := f.bc("same-target"); !bc.Spec.Paused || bc.Annotations[AnnotationPausedBy] != pausedBy {
				t.Errorf("same-target: paused=%v annotations=%v", bc.Spec.Paused, bc.Annotations)
			}
			if bc := f.bc("other-target"); bc.Spec.Paused {
				t.Errorf("other-target was paused")
			}
			if ev := f.events(); !hasEvent(ev, "Normal "+EventReasonBackupPaused) {
				t.Errorf("no %s event in %v", EventReasonBackupPaused, ev)
			}

			// A running restore does not pause again.
			f.mustSync()
			if n := countPrefix(f.writes(), "patch backupconfigurations"); n != 0 {
				t.Errorf("running sync patched BackupConfigurations %d times", n)
			}

			// The restore ends.
			f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": outcome})
			f.mustSync()
			expectPhase(t, f.rs(), outcome)
			if bc := f.bc("same-target"); bc.Spec.Paused || bc.Annotations[AnnotationPausedBy] != "" {
				t.Errorf("same-target not resumed at the end: paused=%v annotations=%v", bc.Spec.Paused, bc.Annotations)
			}
			if bc := f.bc("owner-paused"); !bc.Spec.Paused || bc.Annotations["note"] == "" {
				t.Errorf("owner-paused was resumed or changed: %+v", bc)
			}
			if !slices.Equal(f.rs().Status.PausedBackups, wantPaused) {
				t.Errorf("pausedBackups after resume = %+v, want the record kept", f.rs().Status.PausedBackups)
			}
			if ev := f.events(); !hasEvent(ev, "Normal "+EventReasonBackupResumed) {
				t.Errorf("no %s event in %v", EventReasonBackupResumed, ev)
			}

			// The next sync only removes the finalizer.
			f.mustSync()
			if w := f.writes(); !slices.Equal(w, []string{"patch restoresessions demo/sample-restore"}) {
				t.Errorf("writes after the end = %v, want only the finalizer patch", w)
			}
			if fins := f.rs().Finalizers; slices.Contains(fins, FinalizerRestore) {
				t.Errorf("finalizer not removed: %v", fins)
			}
			// And then nothing at all.
			f.mustSync()
			if w := f.writes(); len(w) != 0 {
				t.Errorf("a finished RestoreSession was processed again: %v", w)
			}
		})
	}
}

func TestDeleteRunningRestoreResumesBackups(t *testing.T) {
	f := newFixture(t)
	f.objects = append(f.objects, newBackupConfiguration("same-target", stsTarget(testSTS), false, nil))
	f.start().mustSync()
	if !f.bc("same-target").Spec.Paused {
		t.Fatal("backup not paused")
	}
	f.updateRS(func(rs *corev1alpha1.RestoreSession) {
		now := metav1.NewTime(testStart)
		rs.DeletionTimestamp = &now
	})
	f.mustSync()
	if bc := f.bc("same-target"); bc.Spec.Paused || bc.Annotations[AnnotationPausedBy] != "" {
		t.Errorf("backup not resumed on deletion: %+v", bc)
	}
	if fins := f.rs().Finalizers; slices.Contains(fins, FinalizerRestore) {
		t.Errorf("finalizer not removed on deletion: %v", fins)
	}
	if n := countPrefix(f.writes(), "update restoresessions/status"); n != 0 {
		t.Errorf("a deleted RestoreSession's status was written")
	}
}

func TestDeadline(t *testing.T) {
	f := newFixture(t)
	f.objects = append(f.objects, newBackupConfiguration("same-target", stsTarget(testSTS), false, nil))
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.RestoreTimeout = &metav1.Duration{Duration: 10 * time.Minute}
	})
	f.start()
	res := f.mustSync()
	deadline := testStart.Add(10 * time.Minute)
	rs := f.rs()
	if d := rs.Status.RestoreDeadline; d == nil || !d.Time.Equal(deadline) {
		t.Fatalf("restoreDeadline = %v, want %v", d, deadline)
	}
	if res.requeueAfter <= 0 || res.requeueAfter > 10*time.Minute+time.Second {
		t.Errorf("requeueAfter = %v, want the deadline", res.requeueAfter)
	}
	for _, job := range f.jobs() {
		if ads := job.Spec.ActiveDeadlineSeconds; ads == nil || *ads != 600 {
			t.Errorf("Job %s activeDeadlineSeconds = %v, want 600", job.Name, ads)
		}
	}

	// Later syncs never move the deadline.
	f.clock.Step(5 * time.Minute)
	res = f.mustSync()
	if d := f.rs().Status.RestoreDeadline; !d.Time.Equal(deadline) {
		t.Errorf("restoreDeadline moved to %v", d)
	}
	if res.requeueAfter <= 0 || res.requeueAfter > 5*time.Minute+time.Second {
		t.Errorf("requeueAfter = %v, want the remaining 5m", res.requeueAfter)
	}

	// pod-0 finishes, pod-2 does not.
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreRunning})
	f.setJobCondition(names.RestoreJob(f.rs(), "pod-0"), batchv1.JobComplete, "", "")
	f.clock.Step(6 * time.Minute)
	f.events()
	f.mustSync()

	rs = f.rs()
	wantMsg := fmt.Sprintf(MessageDeadlineExceeded, "10m0s", deadline.Format(time.RFC3339), 1, 2)
	expectCondition(t, rs, corev1alpha1.TypeDeadlineExceeded, metav1.ConditionTrue, corev1alpha1.ReasonFailedToCompleteWithinDeadline)
	if c := condition(rs, corev1alpha1.TypeDeadlineExceeded); c != nil && c.Message != wantMsg {
		t.Errorf("message = %q, want %q", c.Message, wantMsg)
	}
	expectPhase(t, rs, corev1alpha1.RestoreFailed)
	jobs := f.jobs()
	if len(jobs) != 1 || jobs[0].Annotations[AnnotationComponent] != "pod-0" {
		t.Errorf("remaining Jobs = %d, want only the finished pod-0", len(jobs))
	}
	if bc := f.bc("same-target"); bc.Spec.Paused {
		t.Errorf("backup not resumed at the deadline")
	}
	ev := f.events()
	if !hasEvent(ev, "Warning "+EventReasonDeadlineExceeded) || !hasEvent(ev, "Warning "+EventReasonRestoreFailed) {
		t.Errorf("events %v lack %s and %s", ev, EventReasonDeadlineExceeded, EventReasonRestoreFailed)
	}
	if rs.Status.Components["pod-2"].Phase != corev1alpha1.RestoreRunning {
		t.Errorf("the controller changed a component: %+v", rs.Status.Components)
	}
}

// Components that all finished just before the deadline are no failure.
func TestDeadlinePassedAfterAllComponentsFinished(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.RestoreTimeout = &metav1.Duration{Duration: time.Minute}
	})
	f.start().mustSync()
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreSucceeded})
	f.clock.Step(2 * time.Minute)
	f.mustSync()
	rs := f.rs()
	expectPhase(t, rs, corev1alpha1.RestoreSucceeded)
	if condition(rs, corev1alpha1.TypeDeadlineExceeded) != nil {
		t.Errorf("DeadlineExceeded set although every component finished")
	}
	if n := countPrefix(f.writes(), "delete jobs"); n != 0 {
		t.Errorf("deleted %d Jobs", n)
	}
}

// The deadline, once set, holds even if spec.restoreTimeout is removed; the
// controller must not crash on it.
func TestDeadlineAfterTimeoutRemoved(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.RestoreTimeout = &metav1.Duration{Duration: time.Minute}
	})
	f.start().mustSync()
	f.updateRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.RestoreTimeout = nil })
	f.clock.Step(2 * time.Minute)
	f.mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeDeadlineExceeded, metav1.ConditionTrue, corev1alpha1.ReasonFailedToCompleteWithinDeadline, "since removed")
	expectPhase(t, rs, corev1alpha1.RestoreFailed)
	if n := countPrefix(f.writes(), "delete jobs"); n != 2 {
		t.Errorf("deleted %d Jobs, want 2", n)
	}
}

// TestProgressReportsCostNoAPICalls: once the Jobs exist, a sync woken by an
// executor's progress report reads only the cache and writes nothing, as
// long as the report leaves status.progress's summary unchanged (it moves
// in steps of ten percent, see status.Progress).
func TestProgressReportsCostNoAPICalls(t *testing.T) {
	f := newFixture(t)
	f.start().mustSync()
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreRunning})
	f.mustSync() // phase Running is written
	f.updateRS(func(rs *corev1alpha1.RestoreSession) {
		c := rs.Status.Components["pod-0"]
		c.Progress = &corev1alpha1.RestoreProgress{TotalBytes: 100, RestoredBytes: 5, Percentage: 5}
		rs.Status.Components["pod-0"] = c
	})
	if _, err := f.sync(); err != nil { // sync clears the recorded actions first
		t.Fatal(err)
	}
	if a := f.kubeClient.Actions(); len(a) != 0 {
		t.Errorf("sync after a progress report called the Kubernetes API: %v", a)
	}
	if a := f.client.Actions(); len(a) != 0 {
		t.Errorf("sync after a progress report called the API: %v", a)
	}
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
