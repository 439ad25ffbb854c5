package manifest

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// neverRestored are resources a cluster restore skips whatever the params
// say: they belong to the cluster's machinery (nodes, their CSI and
// attachment records, endpoint slices the endpoint controllers rebuild),
// are history (events), or are the backup system's own sessions, which
// would start backups or restores again.
var neverRestored = map[schema.GroupResource]bool{
	{Resource: "nodes"}:                                        true,
	{Resource: "events"}:                                       true,
	{Group: "events.k8s.io", Resource: "events"}:               true,
	{Group: "discovery.k8s.io", Resource: "endpointslices"}:    true,
	{Group: "storage.k8s.io", Resource: "csinodes"}:            true,
	{Group: "storage.k8s.io", Resource: "volumeattachments"}:   true,
	{Group: "core.kubestash.com", Resource: "backupsessions"}:  true,
	{Group: "core.kubestash.com", Resource: "restoresessions"}: true,
}

// NeverRestored reports whether gr is on the list a cluster restore always
// skips (nodes, events, endpointslices, csinodes, volumeattachments, the
// backup system's session objects, componentstatuses).
func NeverRestored(gr schema.GroupResource) bool {
	return neverRestored[gr]
}

var (
	podsResource = schema.GroupResource{Resource: "pods"}
	jobsResource = schema.GroupResource{Group: "batch", Resource: "jobs"}
	pvResource   = schema.GroupResource{Resource: "persistentvolumes"}
	pvcResource  = schema.GroupResource{Resource: "persistentvolumeclaims"}
	svcResource  = schema.GroupResource{Resource: "services"}
)

// finished reports whether o is a Pod or Job that has run to its end:
// restoring it would run it again.
func finished(o Object) bool {
	switch o.Resource {
	case podsResource:
		phase, _, _ := unstructured.NestedString(o.Obj.Object, "status", "phase")
		return phase == "Succeeded" || phase == "Failed"
	case jobsResource:
		conds, _, _ := unstructured.NestedSlice(o.Obj.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if (m["type"] == "Complete" || m["type"] == "Failed") && m["status"] == "True" {
				return true
			}
		}
	}
	return false
}

// restoreOrder is the order of the resources restored first, so that what
// others depend on exists before them: definitions and namespaces, storage,
// identities and configuration, then workloads and their services
// (KubeStash's order). Every other resource follows alphabetically.
var restoreOrder = []string{
	"customresourcedefinitions.apiextensions.k8s.io",
	"namespaces",
	"storageclasses.storage.k8s.io",
	"volumesnapshotclasses.snapshot.storage.k8s.io",
	"volumesnapshotcontents.snapshot.storage.k8s.io",
	"volumesnapshots.snapshot.storage.k8s.io",
	"persistentvolumes",
	"persistentvolumeclaims",
	"serviceaccounts",
	"secrets",
	"configmaps",
	"limitranges",
	"pods",
	"replicasets.apps",
	"clusterclasses.cluster.x-k8s.io",
	"endpoints",
	"services",
}

func orderRank(gr schema.GroupResource) int {
	s := gr.String()
	for i, r := range restoreOrder {
		if r == s {
			return i
		}
	}
	return len(restoreOrder)
}

// SortForRestore orders objs in place for restore: restoreOrder's
// resources first in that order, then every other resource alphabetically;
// within a resource by namespace and name.
func SortForRestore(objs []Object) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		ra, rb := orderRank(a.Resource), orderRank(b.Resource)
		if ra != rb {
			return ra < rb
		}
		if a.Resource != b.Resource {
			return a.Resource.String() < b.Resource.String()
		}
		if a.Obj.GetNamespace() != b.Obj.GetNamespace() {
			return a.Obj.GetNamespace() < b.Obj.GetNamespace()
		}
		return a.Obj.GetName() < b.Obj.GetName()
	})
}

// Skipped is an object a restore leaves out, and why.
type Skipped struct {
	Object Object
	Reason string
}

// Select returns the objects of a resource tree the options restore, in
// restore order, and those it leaves out. On top of the filter: the
// never-restored resources and finished Pods and Jobs are left out,
// PersistentVolumes unless RestorePVs, and the Namespace object of a
// namespace some taken object lives in is taken too (its objects cannot be
// created without it), even when the resource or label filters leave
// namespaces out.
func Select(objs []Object, o ClusterOptions) (take []Object, skip []Skipped) {
	var namespaces []Object
	needed := map[string]bool{}
	for _, obj := range objs {
		ok, why := o.Match(obj)
		switch {
		case NeverRestored(obj.Resource):
			ok, why = false, "never restored"
		case finished(obj):
			ok, why = false, "finished"
		case obj.Resource == pvResource && !o.RestorePVs:
			ok, why = false, ParamRestorePVs+" is not true"
		}
		if isNamespace(obj) && o.NamespaceIncluded(obj.Obj.GetName()) {
			// Decided below, once it is known which objects need it.
			namespaces = append(namespaces, obj)
			if ok {
				needed[obj.Obj.GetName()] = true
			} else {
				skip = append(skip, Skipped{Object: obj, Reason: why})
			}
			continue
		}
		if !ok {
			skip = append(skip, Skipped{Object: obj, Reason: why})
			continue
		}
		take = append(take, obj)
		if ns := obj.Obj.GetNamespace(); ns != "" {
			needed[ns] = true
		}
	}
	for _, ns := range namespaces {
		if !needed[ns.Obj.GetName()] {
			continue
		}
		take = append(take, ns)
		// A namespace first skipped by a filter is taken after all.
		for i := range skip {
			if skip[i].Object.Obj == ns.Obj {
				skip = append(skip[:i], skip[i+1:]...)
				break
			}
		}
	}
	SortForRestore(take)
	return take, skip
}

// Annotations that record the binding and scheduling of a claim in its old
// cluster; a restored claim binds and schedules anew.
var claimBindingAnnotations = []string{
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.kubernetes.io/selected-node",
}

// jobControllerUIDLabels are the labels the Job controller derives from a
// Job's UID; a restored Job gets a new UID, so its generated selector and
// these labels must go.
var jobControllerUIDLabels = []string{"controller-uid", "batch.kubernetes.io/controller-uid"}

// PrepareForCreate returns a copy of o's object ready to be created in
// another life of the cluster: Strip's fields (uid, resourceVersion,
// generation, creationTimestamp, managedFields, ownerReferences, …, and
// status) and generateName go, and per resource:
//   - a Pod's spec.nodeName (the scheduler places it again);
//   - a Service's clusterIP and clusterIPs unless "None" (headless), and
//     every port's nodePort: the cluster allocates them again;
//   - a claim's spec.volumeName unless keepVolume says its volume is
//     restored with it, and its binding annotations; storageClassName is
//     mapped by StorageClassMappings (a PersistentVolume's too);
//   - a PersistentVolume's claimRef uid and resourceVersion (it binds to
//     the restored claim of that name);
//   - a Job's generated selector and controller-uid labels (unless
//     spec.manualSelector).
func PrepareForCreate(o Object, opts ClusterOptions, keepVolume func(name string) bool) *unstructured.Unstructured {
	out := Strip(o.Obj)
	unstructured.RemoveNestedField(out.Object, "metadata", "generateName")
	mapClass := func(path ...string) {
		if sc, found, _ := unstructured.NestedString(out.Object, path...); found {
			if to, ok := opts.StorageClassMappings[sc]; ok {
				_ = unstructured.SetNestedField(out.Object, to, path...)
			}
		}
	}
	switch o.Resource {
	case podsResource:
		unstructured.RemoveNestedField(out.Object, "spec", "nodeName")
	case svcResource:
		if ip, _, _ := unstructured.NestedString(out.Object, "spec", "clusterIP"); ip != "None" {
			unstructured.RemoveNestedField(out.Object, "spec", "clusterIP")
			unstructured.RemoveNestedField(out.Object, "spec", "clusterIPs")
		}
		if ports, found, _ := unstructured.NestedSlice(out.Object, "spec", "ports"); found {
			for _, p := range ports {
				if m, ok := p.(map[string]any); ok {
					delete(m, "nodePort")
				}
			}
			_ = unstructured.SetNestedSlice(out.Object, ports, "spec", "ports")
		}
		unstructured.RemoveNestedField(out.Object, "spec", "healthCheckNodePort")
	case pvcResource:
		vol, _, _ := unstructured.NestedString(out.Object, "spec", "volumeName")
		if vol != "" && (keepVolume == nil || !keepVolume(vol)) {
			unstructured.RemoveNestedField(out.Object, "spec", "volumeName")
		}
		if ann := out.GetAnnotations(); ann != nil {
			for _, a := range claimBindingAnnotations {
				delete(ann, a)
			}
			if len(ann) == 0 {
				ann = nil
			}
			out.SetAnnotations(ann)
		}
		mapClass("spec", "storageClassName")
	case pvResource:
		unstructured.RemoveNestedField(out.Object, "spec", "claimRef", "uid")
		unstructured.RemoveNestedField(out.Object, "spec", "claimRef", "resourceVersion")
		mapClass("spec", "storageClassName")
	case jobsResource:
		if manual, _, _ := unstructured.NestedBool(out.Object, "spec", "manualSelector"); !manual {
			unstructured.RemoveNestedField(out.Object, "spec", "selector")
			labels, _, _ := unstructured.NestedStringMap(out.Object, "spec", "template", "metadata", "labels")
			for _, l := range jobControllerUIDLabels {
				delete(labels, l)
			}
			if labels != nil {
				_ = unstructured.SetNestedStringMap(out.Object, labels, "spec", "template", "metadata", "labels")
			}
		}
	}
	return out
}
