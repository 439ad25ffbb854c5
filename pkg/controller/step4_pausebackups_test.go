package controller

import (
	"encoding/json"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	core "k8s.io/client-go/testing"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

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
