package executor

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/engine"
	corev1alpha1ac "github.com/restore-controller/restore/pkg/generated/applyconfiguration/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/manifest"
)

// ClusterManifestFieldManager is the field manager of the objects a
// cluster manifest restore creates, applies and re-links.
const ClusterManifestFieldManager = "restore-executor"

// Event of a cluster manifest restore's tally on the RestoreSession. The
// component status has no fields for the counts, so the Event (and the
// error of a failed component) carries them.
const (
	EventReasonManifestsRestored = "ManifestsRestored"
	EventReasonManifestsFailed   = "ManifestsRestoreFailed"
	eventMessageManifests        = "component %q: %s"
)

// clusterRestorePassInterval spaces the retry passes (1s, 2s, …) so a CRD
// created in one pass is served in the next (a variable for tests).
var clusterRestorePassInterval = time.Second

// RunClusterManifestRestore restores a manifest component in the
// resource tree layout (KubeStash's kubedump-addon, task manifest-restore)
// with the task's params: it restores the component's files with kopia
// into a private directory, reads them (manifest.ReadResourceTree),
// restores the objects into the cluster (manifest.ClusterRestorer), and
// reports the component Succeeded, or Failed when any object failed, the
// error counting created, already existed, updated, skipped and failed
// objects and naming the first failures. The same tally goes into an
// Event on the RestoreSession.
func RunClusterManifestRestore(ctx context.Context, c Clients, mc ManifestClients, o RunOptions, opts manifest.ClusterOptions) error {
	return runReported(ctx, c, o, func(ctx context.Context, in *RestoreInputs, sw *StatusWriter) (*engine.Progress, error) {
		var objs []manifest.Object
		err := withRestoredManifests(ctx, in, o, func(dir string, _ engine.SnapshotEntry) error {
			got, err := manifest.ReadResourceTree(dir)
			objs = append(objs, got...)
			return err
		})
		if err != nil {
			return nil, err
		}
		logger := klog.FromContext(ctx)
		logger.Info("Restoring cluster resources", "inSnapshot", len(objs), "override", opts.OverrideResources)
		r := &manifest.ClusterRestorer{Client: mc.Dynamic, Mapper: mc.Mapper, FieldManager: ClusterManifestFieldManager,
			PassInterval: clusterRestorePassInterval}
		res := r.Restore(ctx, objs, opts)
		logger.Info("Cluster resources restored", "counts", res.Counts(), "relinked", res.Relinked,
			"created", res.Created, "alreadyExisted", res.Existed, "updated", res.Updated)
		sw.Manifests = manifestCounts(res)
		restoreErr := res.Err()
		recordManifestEvent(ctx, c, in.Session, o.Component, res, restoreErr)
		return nil, restoreErr
	})
}

// manifestCounts is the status form of a cluster restore's tally.
func manifestCounts(res manifest.ClusterResult) *corev1alpha1ac.ManifestRestoreCountsApplyConfiguration {
	mc := corev1alpha1ac.ManifestRestoreCounts().
		WithCreated(int32(len(res.Created))).WithAlreadyExisted(int32(len(res.Existed))).
		WithUpdated(int32(len(res.Updated))).WithSkipped(int32(len(res.Skipped))).
		WithFailed(int32(len(res.Failed)))
	if named := res.FirstFailures(); len(named) > 0 {
		mc.WithFailures(named...)
	}
	return mc
}

// recordManifestEvent records the tally as an Event on the RestoreSession;
// a restore whose identity may not create Events only logs it.
func recordManifestEvent(ctx context.Context, c Clients, rs *corev1alpha1.RestoreSession, component string, res manifest.ClusterResult, restoreErr error) {
	eventType, reason, msg := corev1.EventTypeNormal, EventReasonManifestsRestored, fmt.Sprintf(eventMessageManifests, component, res.Counts())
	if restoreErr != nil {
		eventType, reason, msg = corev1.EventTypeWarning, EventReasonManifestsFailed, fmt.Sprintf(eventMessageManifests, component, restoreErr.Error())
	}
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: rs.Name + "-", Namespace: rs.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: corev1alpha1.SchemeGroupVersion.String(), Kind: "RestoreSession",
			Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID,
		},
		Reason: reason, Message: msg, Type: eventType,
		Source:         corev1.EventSource{Component: "restore-executor"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	if _, err := c.Kube.CoreV1().Events(rs.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		klog.FromContext(ctx).Info("Could not record the restore's tally as an Event", "err", err, "tally", msg)
	}
}

// ClusterDump is a manifest component dumped from the live cluster in the
// resource tree layout: the objects Filter takes (the kubedump-addon's
// filter params, same meaning), with the Namespace objects of the
// namespaces they live in.
type ClusterDump struct {
	Component string
	Filter    manifest.Filter
}

// DumpClusterComponent lists every listable resource discovery knows (but
// those a restore never restores, and cluster-scoped ones unless
// Filter.IncludeClusterResources), keeps what d.Filter takes, and writes
// it into dir/<component> as a snapshot source recorded at
// ManifestHostPath.
func DumpClusterComponent(ctx context.Context, mc ManifestClients, d ClusterDump, dir string) (ComponentSources, error) {
	if mc.Discovery == nil {
		return ComponentSources{}, fmt.Errorf("component %q: dumping a cluster needs discovery", d.Component)
	}
	lists, err := mc.Discovery.ServerPreferredResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return ComponentSources{}, fmt.Errorf("component %q: discovering resources: %w", d.Component, err)
	}
	if err != nil {
		klog.FromContext(ctx).Info("Some API groups could not be discovered; their objects are not dumped", "err", err)
	}
	var objs []manifest.Object
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return ComponentSources{}, fmt.Errorf("component %q: %w", d.Component, err)
		}
		for _, ar := range list.APIResources {
			gr := schema.GroupResource{Group: gv.Group, Resource: ar.Name}
			isNamespaces := gr == schema.GroupResource{Resource: "namespaces"}
			switch {
			case strings.Contains(ar.Name, "/"), !slices.Contains(ar.Verbs, "list"), manifest.NeverRestored(gr):
				continue
			case !isNamespaces && !ar.Namespaced && !d.Filter.IncludeClusterResources:
				continue
			case !isNamespaces && !d.Filter.ResourceIncluded(gr, ar.Kind):
				continue
			}
			got, err := listResource(ctx, mc, gv.WithResource(ar.Name), gv.WithKind(ar.Kind), ar.Namespaced, d.Filter)
			if err != nil {
				return ComponentSources{}, fmt.Errorf("component %q: %w", d.Component, err)
			}
			for _, obj := range got {
				objs = append(objs, manifest.Object{Resource: gr, Obj: obj})
			}
		}
	}
	// Select applies the filter as a restore with these params would,
	// and keeps the Namespace objects the taken objects need.
	take, _ := manifest.Select(objs, manifest.ClusterOptions{Filter: d.Filter, RestorePVs: true})
	if len(take) == 0 {
		return ComponentSources{}, fmt.Errorf("component %q: no object matches the filter", d.Component)
	}
	compDir := filepath.Join(dir, d.Component)
	if err := manifest.WriteResourceTree(compDir, take); err != nil {
		return ComponentSources{}, fmt.Errorf("component %q: %w", d.Component, err)
	}
	klog.FromContext(ctx).Info("Dumped cluster resources", "component", d.Component, "objects", len(take))
	return ComponentSources{Name: d.Component, Sources: []engine.SnapshotSource{{Dir: compDir, HostPath: ManifestHostPath}}}, nil
}

// listResource lists a resource: per included namespace when the filter
// names namespaces, else across all of them.
func listResource(ctx context.Context, mc ManifestClients, gvr schema.GroupVersionResource, gvk schema.GroupVersionKind, namespaced bool, f manifest.Filter) ([]*unstructured.Unstructured, error) {
	namespaces := []string{metav1.NamespaceAll}
	if namespaced && len(f.IncludeNamespaces) > 0 && !slices.Contains(f.IncludeNamespaces, "*") {
		namespaces = f.IncludeNamespaces
	}
	var out []*unstructured.Unstructured
	for _, ns := range namespaces {
		client := mc.Dynamic.Resource(gvr)
		var list *unstructured.UnstructuredList
		var err error
		if namespaced {
			list, err = client.Namespace(ns).List(ctx, metav1.ListOptions{})
		} else {
			list, err = client.List(ctx, metav1.ListOptions{})
		}
		if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			// Served by discovery but not listable after all (an
			// aggregated API gone since): nothing to dump.
			klog.FromContext(ctx).Info("Resource not listable; not dumped", "resource", gvr.GroupResource(), "err", err)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", gvr.GroupResource(), err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			// List items may come without their kind.
			if obj.GetKind() == "" {
				obj.SetGroupVersionKind(gvk)
			}
			out = append(out, obj)
		}
	}
	return out, nil
}
