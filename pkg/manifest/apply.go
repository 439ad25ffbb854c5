package manifest

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"
)

// AnnotationRestoredBy marks an object a manifest restore created. Its
// value identifies the restore (the executor uses
// "<namespace>/<RestoreSession>/<uid>"), so a retried restore recognises
// its own objects and nothing else.
const AnnotationRestoredBy = "restore.kubestash.com/restored-by"

// ErrObjectExists: an object of a planned name exists in the restore
// namespace with other content, and was not created by this restore.
var ErrObjectExists = errors.New("object already exists in the restore namespace with different content")

// ErrObjectExistsUnreadable: an object of a planned name exists where the
// restore may create but not read (Secrets of another namespace than the
// RestoreSession's), so its content cannot be compared.
var ErrObjectExistsUnreadable = errors.New("object already exists in the restore namespace, which this restore may not read to compare")

// Applier creates planned objects through the dynamic client.
type Applier struct {
	Client dynamic.Interface
	// Mapper maps each object's kind to its resource (discovery-backed in
	// the executor).
	Mapper       meta.RESTMapper
	FieldManager string
}

// ApplyResult lists the objects (Kind namespace/name) by outcome.
type ApplyResult struct {
	// Created were created now.
	Created []string
	// Present existed already: created by an earlier attempt of the same
	// restore, or holding exactly the planned content.
	Present []string
}

// Apply creates objs in order, each marked with AnnotationRestoredBy =
// restoredBy. It stops at the first error; what it created stays (a retry
// recognises it).
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured, restoredBy string) (ApplyResult, error) {
	logger := klog.FromContext(ctx)
	var res ApplyResult
	if restoredBy == "" {
		return res, errors.New("restoredBy is required: it marks the objects this restore creates")
	}
	for _, planned := range objs {
		obj := planned.DeepCopy()
		ann := obj.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[AnnotationRestoredBy] = restoredBy
		obj.SetAnnotations(ann)
		what := describe(obj)

		gvk := obj.GroupVersionKind()
		mapping, err := a.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return res, fmt.Errorf("%s: finding its API resource (is the %s CRD installed?): %w", what, gvk.GroupKind(), err)
		}
		if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
			return res, fmt.Errorf("%s: %s is not namespaced; a manifest restore creates namespaced objects only", what, gvk.GroupKind())
		}
		client := a.Client.Resource(mapping.Resource).Namespace(obj.GetNamespace())
		_, err = client.Create(ctx, obj, metav1.CreateOptions{FieldManager: a.FieldManager})
		if err == nil {
			logger.Info("Created object", "kind", gvk.Kind, "object", klog.KObj(obj))
			res.Created = append(res.Created, what)
			continue
		}
		if !apierrors.IsAlreadyExists(err) {
			return res, fmt.Errorf("creating %s: %w", what, err)
		}
		existing, err := client.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if apierrors.IsForbidden(err) {
			// A restore into another namespace may create Secrets there
			// but not read them, so it cannot tell its own from others'.
			return res, fmt.Errorf("%w: %s; it was left unchanged: delete it or restore under another name", ErrObjectExistsUnreadable, what)
		}
		if err != nil {
			return res, fmt.Errorf("%s exists, reading it: %w", what, err)
		}
		switch {
		case existing.GetAnnotations()[AnnotationRestoredBy] == restoredBy:
			logger.Info("Object was restored by an earlier attempt", "kind", gvk.Kind, "object", klog.KObj(obj))
		case SameContent(existing, planned):
			logger.Info("Object exists with the restored content; left as it is", "kind", gvk.Kind, "object", klog.KObj(obj))
		default:
			return res, fmt.Errorf("%w: %s; it was left unchanged: delete it or restore under another name", ErrObjectExists, what)
		}
		res.Present = append(res.Present, what)
	}
	return res, nil
}

// SameContent reports whether existing holds everything planned says:
// every label and annotation (but AnnotationRestoredBy) and every field
// outside metadata and status, with equal values. Fields only existing has
// (defaults the API server filled in) do not count as differences, except
// in a Secret's data: a key more is other content.
func SameContent(existing, planned *unstructured.Unstructured) bool {
	for key, pv := range planned.Object {
		if key == "metadata" || key == "status" {
			continue
		}
		if !covers(existing.Object[key], pv) {
			return false
		}
	}
	if isSecret(planned) && !reflect.DeepEqual(existing.Object["data"], planned.Object["data"]) {
		return false
	}
	el, pl := existing.GetLabels(), planned.GetLabels()
	for k, v := range pl {
		if ev, ok := el[k]; !ok || ev != v {
			return false
		}
	}
	ea, pa := existing.GetAnnotations(), planned.GetAnnotations()
	for k, v := range pa {
		if k == AnnotationRestoredBy {
			continue
		}
		if ev, ok := ea[k]; !ok || ev != v {
			return false
		}
	}
	return true
}

// covers reports whether have holds want: maps may have more keys, lists
// must match element by element, numbers compare by value.
func covers(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return len(w) == 0 && have == nil
		}
		for k, wv := range w {
			hv, present := h[k]
			if !present && wv != nil {
				return false
			}
			if present && !covers(hv, wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return len(w) == 0 && have == nil
		}
		if len(h) != len(w) {
			return false
		}
		for i := range w {
			if !covers(h[i], w[i]) {
				return false
			}
		}
		return true
	}
	if hn, ok := number(have); ok {
		if wn, ok := number(want); ok {
			return hn == wn
		}
	}
	return reflect.DeepEqual(have, want)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
