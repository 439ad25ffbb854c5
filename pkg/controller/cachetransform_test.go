package controller

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestCacheTransforms(t *testing.T) {
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name: "x", Namespace: testNS, UID: "uid-1", Labels: map[string]string{"a": "b"},
			Annotations:   map[string]string{annotationLastApplied: "{...}", AnnotationComponent: "pod-0"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		}
	}
	job := &batchv1.Job{
		ObjectMeta: meta(),
		Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "restore"}}}}},
		Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}},
	}
	rs := &corev1alpha1.RestoreSession{ObjectMeta: meta(), Spec: corev1alpha1.RestoreSessionSpec{Addon: corev1alpha1.AddonInfo{Name: testAddon}}}
	tombstone := cache.DeletedFinalStateUnknown{Key: "demo/x", Obj: rs}
	for _, tc := range []struct {
		name      string
		transform func(any) (any, error)
		in        any
		check     func(t *testing.T, out any)
	}{{
		name: "a Job keeps its metadata and status, loses its spec", transform: trimJob, in: job,
		check: func(t *testing.T, out any) {
			j := out.(*batchv1.Job)
			if len(j.Spec.Template.Spec.Containers) != 0 {
				t.Errorf("spec kept: %+v", j.Spec)
			}
			if _, done := jobFinished(j); !done || j.UID != "uid-1" || j.Labels["a"] != "b" || j.Annotations[AnnotationComponent] != "pod-0" {
				t.Errorf("lost what the controller reads: %+v", j)
			}
		},
	}, {
		name: "a RestoreSession keeps its spec", transform: trimObjectMeta, in: rs,
		check: func(t *testing.T, out any) {
			if r := out.(*corev1alpha1.RestoreSession); r.Spec.Addon.Name != testAddon || r.Labels["a"] != "b" {
				t.Errorf("lost what the controller reads: %+v", r)
			}
		},
	}, {
		name: "a tombstone passes through", transform: trimObjectMeta, in: tombstone,
		check: func(t *testing.T, out any) {
			if _, ok := out.(cache.DeletedFinalStateUnknown); !ok {
				t.Errorf("got %T", out)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.transform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
			if m, ok := out.(metav1.Object); ok {
				if len(m.GetManagedFields()) != 0 {
					t.Errorf("managedFields kept: %v", m.GetManagedFields())
				}
				if _, ok := m.GetAnnotations()[annotationLastApplied]; ok {
					t.Errorf("last-applied annotation kept")
				}
			}
		})
	}
}
