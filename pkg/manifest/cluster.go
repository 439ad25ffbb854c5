package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"
)

// DefaultMaxPasses is how many passes over the objects a cluster restore
// makes at most: each pass retries the objects that failed on a missing
// dependency (a namespace, a CRD not yet served) in the pass before.
const DefaultMaxPasses = 5

// MaxFailuresNamed is how many failed objects a summary names.
const MaxFailuresNamed = 3

// ErrObjectsFailed: some objects of a cluster restore could not be
// restored; the error names the first few and counts all.
var ErrObjectsFailed = errors.New("objects failed to restore")

// Outcomes of one object in a cluster restore, as summaries name them.
const (
	OutcomeCreated = "created"
	OutcomeExisted = "already exists"
	OutcomeUpdated = "updated"
)

// ClusterRestorer creates the objects of a resource tree in a cluster
// through the dynamic client (see the package documentation, Cluster
// restore).
type ClusterRestorer struct {
	Client dynamic.Interface
	// Mapper maps kinds to resources; a meta.ResettableRESTMapper is
	// reset between passes, so kinds whose CRDs the restore created are
	// found.
	Mapper       meta.RESTMapper
	FieldManager string
	// MaxPasses (0: DefaultMaxPasses) bounds the retry passes.
	MaxPasses int
	// PassInterval times the pass number is waited before each retry pass
	// (0 in tests), for CRDs to be established.
	PassInterval time.Duration
}

// Failure is an object a cluster restore could not restore.
type Failure struct {
	Object string
	Err    error
}

// ClusterResult lists the objects (Object.String()) by outcome.
type ClusterResult struct {
	Created []string
	// Existed were there already and were left alone (with
	// OverrideResources: held the backed-up content already).
	Existed []string
	Updated []string
	Skipped []Skipped
	Failed  []Failure
	// Relinked counts the restored objects whose ownerReferences were
	// set again to their owners' new UIDs.
	Relinked int
}

// Counts is the one-line tally of r.
func (r ClusterResult) Counts() string {
	return fmt.Sprintf("created %d, already existed %d, updated %d, skipped %d, failed %d",
		len(r.Created), len(r.Existed), len(r.Updated), len(r.Skipped), len(r.Failed))
}

// Err is nil when no object failed, else ErrObjectsFailed with the counts
// and the first MaxFailuresNamed failures.
func (r ClusterResult) Err() error {
	if len(r.Failed) == 0 {
		return nil
	}
	named := r.FirstFailures()
	if more := len(r.Failed) - len(named); more > 0 {
		named = append(named, fmt.Sprintf("and %d more", more))
	}
	total := len(r.Created) + len(r.Existed) + len(r.Updated) + len(r.Failed)
	return fmt.Errorf("%d of %d %w (%s): %s", len(r.Failed), total, ErrObjectsFailed, r.Counts(), strings.Join(named, "; "))
}

// FirstFailures names the first MaxFailuresNamed failed objects and why.
func (r ClusterResult) FirstFailures() []string {
	var named []string
	for _, f := range r.Failed[:min(len(r.Failed), MaxFailuresNamed)] {
		named = append(named, f.Object+": "+f.Err.Error())
	}
	return named
}

// ownerKey identifies an owner as an ownerReference names it, in the
// namespace of the object referring to it ("" for cluster-scoped owners).
type ownerKey struct {
	group, kind, namespace, name string
}

// planned is one object a restore takes, prepared for create.
type planned struct {
	source Object
	obj    *unstructured.Unstructured
	owners []metav1.OwnerReference
}

// Restore restores the objects of a resource tree per opts: it selects
// (Select), prepares (PrepareForCreate) and creates them in restore order,
// in passes while objects fail on missing dependencies, and then re-links
// the ownerReferences of the objects it created or updated to the live
// UIDs of their owners among the objects of this restore. An object that
// exists is left alone (OutcomeExisted) unless opts.OverrideResources.
// Failures of single objects are in the result; Restore itself does not
// stop on them.
func (r *ClusterRestorer) Restore(ctx context.Context, objs []Object, opts ClusterOptions) ClusterResult {
	logger := klog.FromContext(ctx)
	take, skip := Select(objs, opts)
	res := ClusterResult{Skipped: skip}
	for _, s := range skip {
		logger.V(2).Info("Skipping object", "object", s.Object.String(), "reason", s.Reason)
	}

	restoredPVs := map[string]bool{}
	for _, o := range take {
		if o.Resource == pvResource {
			restoredPVs[o.Obj.GetName()] = true
		}
	}
	plan := make([]planned, 0, len(take))
	for _, o := range take {
		plan = append(plan, planned{
			source: o,
			obj:    PrepareForCreate(o, opts, func(pv string) bool { return restoredPVs[pv] }),
			owners: o.Obj.GetOwnerReferences(),
		})
	}

	maxPasses := r.MaxPasses
	if maxPasses <= 0 {
		maxPasses = DefaultMaxPasses
	}
	live := map[ownerKey]types.UID{}
	var relink []int // plan indexes created or updated
	pending := make([]int, len(plan))
	for i := range pending {
		pending[i] = i
	}
	for pass := 1; len(pending) > 0; pass++ {
		if pass > 1 {
			if m, ok := r.Mapper.(meta.ResettableRESTMapper); ok {
				m.Reset()
			}
			logger.Info("Retrying objects that missed a dependency", "pass", pass, "objects", len(pending))
			if err := sleep(ctx, time.Duration(pass-1)*r.PassInterval); err != nil {
				for _, i := range pending {
					res.Failed = append(res.Failed, Failure{Object: plan[i].source.String(), Err: err})
				}
				break
			}
		}
		var retry []int
		for _, i := range pending {
			p := plan[i]
			outcome, obj, err := r.restoreOne(ctx, p.obj, opts.OverrideResources)
			if err != nil {
				if missingDependency(err) && pass < maxPasses {
					retry = append(retry, i)
					continue
				}
				logger.Error(err, "Restoring object failed", "object", p.source.String())
				res.Failed = append(res.Failed, Failure{Object: p.source.String(), Err: err})
				continue
			}
			logger.V(1).Info("Restored object", "object", p.source.String(), "outcome", outcome)
			gvk := obj.GroupVersionKind()
			live[ownerKey{gvk.Group, gvk.Kind, obj.GetNamespace(), obj.GetName()}] = obj.GetUID()
			switch outcome {
			case OutcomeCreated:
				res.Created = append(res.Created, p.source.String())
				relink = append(relink, i)
			case OutcomeUpdated:
				res.Updated = append(res.Updated, p.source.String())
				relink = append(relink, i)
			default:
				res.Existed = append(res.Existed, p.source.String())
			}
		}
		pending = retry
	}

	for _, i := range relink {
		p := plan[i]
		refs := relinkOwners(p.owners, p.obj.GetNamespace(), live)
		if len(refs) < len(p.owners) {
			logger.Info("Dropping owner references to owners this restore did not restore", "object", p.source.String(),
				"dropped", len(p.owners)-len(refs))
		}
		if len(refs) == 0 {
			continue
		}
		if err := r.setOwners(ctx, p.obj, refs); err != nil {
			res.Failed = append(res.Failed, Failure{Object: p.source.String(), Err: fmt.Errorf("re-linking its owners: %w", err)})
			continue
		}
		res.Relinked++
	}
	return res
}

// relinkOwners returns owners with the UIDs of the live owners, leaving
// out those not in live.
func relinkOwners(owners []metav1.OwnerReference, namespace string, live map[ownerKey]types.UID) []metav1.OwnerReference {
	var out []metav1.OwnerReference
	for _, ref := range owners {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			continue
		}
		uid, ok := live[ownerKey{gv.Group, ref.Kind, namespace, ref.Name}]
		if !ok {
			uid, ok = live[ownerKey{gv.Group, ref.Kind, "", ref.Name}]
		}
		if !ok {
			continue
		}
		ref.UID = uid
		out = append(out, ref)
	}
	return out
}

// resourceFor is the client of obj's resource (in its namespace when
// namespaced).
func (r *ClusterRestorer) resourceFor(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := r.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("finding the API resource of %s: %w", gvk.GroupKind(), err)
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			return nil, fmt.Errorf("%s is namespaced, but the object was stored without a namespace", gvk.GroupKind())
		}
		return r.Client.Resource(mapping.Resource).Namespace(obj.GetNamespace()), nil
	}
	if obj.GetNamespace() != "" {
		return nil, fmt.Errorf("%s is cluster-scoped, but the object was stored in namespace %s", gvk.GroupKind(), obj.GetNamespace())
	}
	return r.Client.Resource(mapping.Resource), nil
}

// restoreOne creates obj, or finds it existing and leaves it (or, with
// override, applies it), returning the outcome and the live object.
func (r *ClusterRestorer) restoreOne(ctx context.Context, obj *unstructured.Unstructured, override bool) (string, *unstructured.Unstructured, error) {
	client, err := r.resourceFor(obj)
	if err != nil {
		return "", nil, err
	}
	created, err := client.Create(ctx, obj, metav1.CreateOptions{FieldManager: r.FieldManager})
	if err == nil {
		return OutcomeCreated, created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return "", nil, fmt.Errorf("creating: %w", err)
	}
	existing, err := client.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("exists, reading it: %w", err)
	}
	// An object already holding the backed-up content is left as it is
	// even with override: an apply would still rewrite its managedFields.
	if !override || SameContent(existing, obj) {
		return OutcomeExisted, existing, nil
	}
	// Forced server-side apply takes the backed-up fields over from
	// whichever manager owns them; fields the backup does not hold stay.
	applied, err := client.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: r.FieldManager, Force: true})
	if err != nil {
		return "", nil, fmt.Errorf("exists, overriding it: %w", err)
	}
	return OutcomeUpdated, applied, nil
}

// setOwners merge-patches obj's ownerReferences to refs. The patch is an
// update of its own, not part of the applied configuration, so a later
// forced apply of the backed-up object (without owners) does not take
// them away.
func (r *ClusterRestorer) setOwners(ctx context.Context, obj *unstructured.Unstructured, refs []metav1.OwnerReference) error {
	client, err := r.resourceFor(obj)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": refs}})
	if err != nil {
		return err
	}
	_, err = client.Patch(ctx, obj.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: r.FieldManager})
	return err
}

// missingDependency reports whether err may go away once other objects of
// the restore exist: a namespace or kind not found (a CRD created but not
// yet served), an admission check naming something not found, or an API
// server too busy to answer.
func missingDependency(err error) bool {
	switch {
	case meta.IsNoMatchError(err), apierrors.IsNotFound(err),
		apierrors.IsServerTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsTimeout(err):
		return true
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "not found"):
		return true
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
