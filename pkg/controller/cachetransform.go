package controller

import (
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/cache"
)

// The informer caches hold every RestoreSession and every Job the
// controller made, thousands of each when many restores were started
// together. What the controller never reads is dropped before an object
// enters a cache (cache transforms), so memory follows what it needs.

// annotationLastApplied is kubectl apply's copy of the whole object, as
// large as the object itself and never read by the controller.
const annotationLastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// trimObjectMeta drops managedFields (the field owners of every write,
// often larger than the spec) and kubectl's last-applied annotation from
// any cached object. The controller writes with Update and Create, never
// with server-side apply, so it does not need them.
func trimObjectMeta(obj any) (any, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		// A tombstone (cache.DeletedFinalStateUnknown) is passed through.
		return obj, nil
	}
	m.SetManagedFields(nil)
	if a := m.GetAnnotations(); a[annotationLastApplied] != "" {
		delete(a, annotationLastApplied)
		m.SetAnnotations(a)
	}
	return obj, nil
}

// trimJob keeps of a Job only what the controller reads from the cache:
// its metadata (name, labels, annotations, owner, UID, creation and
// deletion time) and status (conditions). The spec, whose pod template is
// most of a Job's size, is dropped: the controller builds Jobs, it never
// reads their spec back, and it never updates a cached Job.
func trimJob(obj any) (any, error) {
	if job, ok := obj.(*batchv1.Job); ok {
		job.Spec = batchv1.JobSpec{}
	}
	return trimObjectMeta(obj)
}

// setCacheTransforms installs the transforms on the controller's
// informers; it must run before they start.
func setCacheTransforms(jobs cache.SharedIndexInformer, others ...cache.SharedIndexInformer) error {
	if err := jobs.SetTransform(trimJob); err != nil {
		return err
	}
	for _, inf := range others {
		if err := inf.SetTransform(trimObjectMeta); err != nil {
			return err
		}
	}
	return nil
}
