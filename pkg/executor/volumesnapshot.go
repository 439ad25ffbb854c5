package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/manifest"
	"github.com/restore-controller/restore/pkg/refs"
)

// A volume snapshot restore (task invocation.TaskVolumeSnapshotRestore)
// moves no data itself: it creates one PVC per
// targetVolumes.volumeClaimTemplates entry whose dataSource is a CSI
// VolumeSnapshot a VolumeSnapshotter backup recorded, and the storage
// driver fills the new volume from the snapshot.

// Component names a VolumeSnapshotter backup gives its components (KubeStash's
// pvc-addon): one component for a PVC or a Deployment, one per replica of a
// StatefulSet.
const (
	ComponentVolumeSnapshot          = "volumesnapshot"
	ComponentVolumeSnapshotPodPrefix = "volumesnapshot-pod-"
)

// The dataSource of a PVC restored from a VolumeSnapshot.
const (
	VolumeSnapshotGroup = "snapshot.storage.k8s.io"
	VolumeSnapshotKind  = "VolumeSnapshot"
)

// PodOrdinalVariable is substituted in a claim template's name with the
// replica ordinal of a volumesnapshot-pod-<ordinal> component.
const PodOrdinalVariable = "POD_ORDINAL"

// EventReasonWaitForFirstConsumer is the reason of the Event
// kube-controller-manager's persistentvolume-binder records on a claim
// whose StorageClass binds on first use (volumeBindingMode
// WaitForFirstConsumer): such a claim stays Pending until a Pod uses it.
const EventReasonWaitForFirstConsumer = "WaitForFirstConsumer"

// Reasons and messages of what the restore reports.
const (
	// EventReasonClaimsWaitForConsumer is the reason of the Event the
	// executor records on its RestoreSession for restored claims that wait
	// for their first consumer.
	EventReasonClaimsWaitForConsumer = "RestoredClaimsWaitForFirstConsumer"
	messageClaimsWaitForConsumer     = "component %q: PersistentVolumeClaims %s were created from their VolumeSnapshots; their StorageClass binds them when the first Pod uses them"
	messageClaimsExist               = "PersistentVolumeClaims %s already exist: a volume snapshot restore never overwrites a claim; delete them or restore under other names (spec.addon.tasks[%d].targetVolumes.volumeClaimTemplates)"
	messageClaimLost                 = "PersistentVolumeClaim %s/%s lost its volume"
)

// ErrClaimsExist: a PVC the restore would create exists and is not one an
// earlier attempt of the same restore created.
var ErrClaimsExist = errors.New("claims exist")

// VolumeSnapshotOrdinal parses a VolumeSnapshotter component name:
// "volumesnapshot" (no replica) or "volumesnapshot-pod-<ordinal>".
func VolumeSnapshotOrdinal(component string) (ordinal int, isReplica bool, err error) {
	if component == ComponentVolumeSnapshot {
		return 0, false, nil
	}
	rest, ok := strings.CutPrefix(component, ComponentVolumeSnapshotPodPrefix)
	if ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
			return n, true, nil
		}
	}
	return 0, false, fmt.Errorf("component %q is not a volume snapshot component: want %q or %q<ordinal>",
		component, ComponentVolumeSnapshot, ComponentVolumeSnapshotPodPrefix)
}

// PlannedClaim is a PVC the restore creates and the VolumeSnapshot it is
// created from.
type PlannedClaim struct {
	// Template is the index of its entry in volumeClaimTemplates.
	Template int
	PVC      *corev1.PersistentVolumeClaim
	Stat     storagev1alpha1.VolumeSnapshotterStats
}

// PlanVolumeSnapshotClaims pairs the claim templates of task taskIndex with
// the component's volume snapshots and returns the PVCs to create in
// namespace, marked with restoredBy (manifest.AnnotationRestoredBy).
//
// The template's name, with ${POD_ORDINAL} replaced by the replica's
// ordinal for a volumesnapshot-pod-<ordinal> component, is the PVC's name.
// Pairing: a template whose PVC name equals a snapshot's pvcName (the claim
// it was taken of) takes that snapshot; the other templates take the
// remaining snapshots in the order both are listed. A template left
// without a snapshot is an error; snapshots left without a template are
// not restored.
func PlanVolumeSnapshotClaims(namespace, component string, taskIndex int, templates []corev1.PersistentVolumeClaimTemplate,
	stats []storagev1alpha1.VolumeSnapshotterStats, restoredBy string) ([]PlannedClaim, error) {
	path := fmt.Sprintf("spec.addon.tasks[%d].targetVolumes.volumeClaimTemplates", taskIndex)
	if len(templates) == 0 {
		return nil, fmt.Errorf("%s: required: a volume snapshot restore creates one PVC per claim template", path)
	}
	ordinal, isReplica, err := VolumeSnapshotOrdinal(component)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	if isReplica {
		vars[PodOrdinalVariable] = strconv.Itoa(ordinal)
	}
	names := make([]string, len(templates))
	seen := map[string]int{}
	for i, tpl := range templates {
		name, err := invocation.Substitute(tpl.Name, vars)
		if err != nil {
			return nil, fmt.Errorf("%s[%d].metadata.name %q: %w (component %q is not a StatefulSet replica's)", path, i, tpl.Name, err, component)
		}
		if name == "" {
			return nil, fmt.Errorf("%s[%d].metadata.name: required", path, i)
		}
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s[%d].metadata.name: %q is also the name of entry %d", path, i, name, j)
		}
		seen[name] = i
		names[i] = name
	}
	for i, st := range stats {
		if st.VolumeSnapshotName == "" {
			return nil, fmt.Errorf("component %q: volumeSnapshotterStats[%d] (pvcName %q) names no VolumeSnapshot", component, i, st.PVCName)
		}
	}

	pair := make([]int, len(templates)) // template → stat index
	used := make([]bool, len(stats))
	for i := range pair {
		pair[i] = -1
		for j, st := range stats {
			if !used[j] && st.PVCName == names[i] {
				pair[i], used[j] = j, true
				break
			}
		}
	}
	next := 0
	var unpaired []string
	for i := range pair {
		if pair[i] >= 0 {
			continue
		}
		for next < len(stats) && used[next] {
			next++
		}
		if next == len(stats) {
			unpaired = append(unpaired, fmt.Sprintf("[%d] %q", i, names[i]))
			continue
		}
		pair[i], used[next] = next, true
	}
	if len(unpaired) > 0 {
		return nil, fmt.Errorf("%s%s: component %q recorded %d volume snapshots, none left to restore them from",
			path, strings.Join(unpaired, ", "), component, len(stats))
	}

	out := make([]PlannedClaim, 0, len(templates))
	for i, tpl := range templates {
		st := stats[pair[i]]
		ann := maps.Clone(tpl.Annotations)
		if ann == nil {
			ann = map[string]string{}
		}
		ann[manifest.AnnotationRestoredBy] = restoredBy
		spec := *tpl.Spec.DeepCopy()
		// The API server requires dataSource and dataSourceRef to agree;
		// the snapshot is the only source.
		spec.DataSourceRef = nil
		spec.DataSource = &corev1.TypedLocalObjectReference{
			APIGroup: ptr.To(VolumeSnapshotGroup), Kind: VolumeSnapshotKind, Name: st.VolumeSnapshotName,
		}
		out = append(out, PlannedClaim{Template: i, Stat: st, PVC: &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: names[i], Namespace: namespace, Labels: maps.Clone(tpl.Labels), Annotations: ann},
			Spec:       spec,
		}})
	}
	return out, nil
}

// VolumeSnapshotRestore creates a component's claims and waits for them.
type VolumeSnapshotRestore struct {
	Kube kubernetes.Interface
	// PollInterval is how often the claims are looked at; default 2s.
	PollInterval time.Duration
}

// ClaimsResult is what became of the created claims.
type ClaimsResult struct {
	// Bound and WaitingForConsumer name the claims (namespace/name).
	Bound, WaitingForConsumer []string
}

// Create creates the planned claims. Nothing is created when any exists
// already, unless it carries the same restoredBy mark: an earlier attempt
// of this restore (a retried Job) created it, and it is used as it is.
// taskIndex names the templates in the error.
func (r VolumeSnapshotRestore) Create(ctx context.Context, planned []PlannedClaim, taskIndex int) ([]*corev1.PersistentVolumeClaim, error) {
	logger := klog.FromContext(ctx)
	claims := make([]*corev1.PersistentVolumeClaim, len(planned))
	var existing []string
	for i, p := range planned {
		got, err := r.Kube.CoreV1().PersistentVolumeClaims(p.PVC.Namespace).Get(ctx, p.PVC.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("getting PersistentVolumeClaim %s/%s: %w", p.PVC.Namespace, p.PVC.Name, err)
		case got.Annotations[manifest.AnnotationRestoredBy] == p.PVC.Annotations[manifest.AnnotationRestoredBy]:
			claims[i] = got
		default:
			existing = append(existing, p.PVC.Namespace+"/"+p.PVC.Name)
		}
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("%w: "+messageClaimsExist, ErrClaimsExist, strings.Join(existing, ", "), taskIndex)
	}
	for i, p := range planned {
		if claims[i] != nil {
			logger.Info("Claim exists from an earlier attempt", "pvc", klog.KObj(claims[i]))
			continue
		}
		created, err := r.Kube.CoreV1().PersistentVolumeClaims(p.PVC.Namespace).Create(ctx, p.PVC, metav1.CreateOptions{FieldManager: fieldManagerVolumeSnapshot})
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("%w: "+messageClaimsExist, ErrClaimsExist, p.PVC.Namespace+"/"+p.PVC.Name, taskIndex)
		}
		if err != nil {
			return nil, fmt.Errorf("creating PersistentVolumeClaim %s/%s from VolumeSnapshot %s: %w", p.PVC.Namespace, p.PVC.Name, p.Stat.VolumeSnapshotName, err)
		}
		logger.Info("Created claim from VolumeSnapshot", "pvc", klog.KObj(created), "volumeSnapshot", p.Stat.VolumeSnapshotName, "snapshotOf", p.Stat.PVCName)
		claims[i] = created
	}
	return claims, nil
}

const fieldManagerVolumeSnapshot = "restore-executor"

// Wait waits until every claim is Bound or waits for its first consumer
// (kube-controller-manager recorded EventReasonWaitForFirstConsumer on it).
// A claim that lost its volume is an error; ctx ends the wait.
func (r VolumeSnapshotRestore) Wait(ctx context.Context, claims []*corev1.PersistentVolumeClaim) (ClaimsResult, error) {
	interval := r.PollInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	logger := klog.FromContext(ctx)
	var res ClaimsResult
	pending := slices.Clone(claims)
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		var still []*corev1.PersistentVolumeClaim
		for _, pvc := range pending {
			key := pvc.Namespace + "/" + pvc.Name
			got, err := r.Kube.CoreV1().PersistentVolumeClaims(pvc.Namespace).Get(ctx, pvc.Name, metav1.GetOptions{})
			if err != nil {
				return false, fmt.Errorf("getting PersistentVolumeClaim %s: %w", key, err)
			}
			switch got.Status.Phase {
			case corev1.ClaimBound:
				logger.Info("Claim is bound", "pvc", klog.KObj(got), "volume", got.Spec.VolumeName)
				res.Bound = append(res.Bound, key)
				continue
			case corev1.ClaimLost:
				return false, fmt.Errorf(messageClaimLost, pvc.Namespace, pvc.Name)
			}
			waits, err := r.waitsForConsumer(ctx, got)
			if err != nil {
				return false, err
			}
			if waits {
				logger.Info("Claim waits for its first consumer", "pvc", klog.KObj(got))
				res.WaitingForConsumer = append(res.WaitingForConsumer, key)
				continue
			}
			still = append(still, got)
		}
		pending = still
		if len(pending) > 0 {
			logger.V(2).Info("Waiting for claims to be bound", "pending", len(pending))
		}
		return len(pending) == 0, nil
	})
	if err != nil && len(pending) > 0 && ctx.Err() != nil {
		var names []string
		for _, pvc := range pending {
			names = append(names, pvc.Namespace+"/"+pvc.Name)
		}
		err = fmt.Errorf("PersistentVolumeClaims %s are not bound yet: %w", strings.Join(names, ", "), err)
	}
	return res, err
}

// waitsForConsumer reports whether the binder recorded that pvc waits for
// its first consumer. The field selector narrows the list on the server;
// the loop checks again for clients that do not apply it.
func (r VolumeSnapshotRestore) waitsForConsumer(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (bool, error) {
	sel := fields.Set{"involvedObject.uid": string(pvc.UID), "reason": EventReasonWaitForFirstConsumer}.AsSelector().String()
	events, err := r.Kube.CoreV1().Events(pvc.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return false, fmt.Errorf("listing the Events of PersistentVolumeClaim %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	for _, e := range events.Items {
		if e.InvolvedObject.UID == pvc.UID && e.Reason == EventReasonWaitForFirstConsumer {
			return true, nil
		}
	}
	return false, nil
}

// RunVolumeSnapshotRestore restores a VolumeSnapshotter component of a
// RestoreSession (the restore-volumesnapshot subcommand): it plans the
// claims of the task o.TaskName from the component's
// volumeSnapshotterStats (PlanVolumeSnapshotClaims), creates them in the
// RestoreSession's namespace, waits until each is Bound or waits for its
// first consumer, and reports status.components[Component] like a data
// restore. Claims waiting for a consumer are named in an Event on the
// RestoreSession. Only o's identity fields and TaskName are used.
func RunVolumeSnapshotRestore(ctx context.Context, c Clients, o RunOptions, r VolumeSnapshotRestore) error {
	return reportComponent(ctx, c, o, func(ctx context.Context, _ *StatusWriter) (*engine.Progress, error) {
		rs, stats, err := resolveVolumeSnapshots(ctx, c, o)
		if err != nil {
			return nil, err
		}
		taskIndex := slices.IndexFunc(rs.Spec.Addon.Tasks, func(t corev1alpha1.TaskReference) bool { return t.Name == o.TaskName })
		if taskIndex < 0 {
			return nil, fmt.Errorf("task %q is not a task of RestoreSession %s/%s", o.TaskName, rs.Namespace, rs.Name)
		}
		var templates []corev1.PersistentVolumeClaimTemplate
		if tv := rs.Spec.Addon.Tasks[taskIndex].TargetVolumes; tv != nil {
			templates = tv.VolumeClaimTemplates
		}
		planned, err := PlanVolumeSnapshotClaims(rs.Namespace, o.Component, taskIndex, templates, stats, RestoredByValue(rs.Namespace, rs.Name, string(rs.UID)))
		if err != nil {
			return nil, err
		}
		claims, err := r.Create(ctx, planned, taskIndex)
		if err != nil {
			return nil, err
		}
		res, err := r.Wait(ctx, claims)
		if err != nil {
			return nil, err
		}
		klog.FromContext(ctx).Info("Claims restored from VolumeSnapshots", "bound", res.Bound, "waitingForFirstConsumer", res.WaitingForConsumer)
		if len(res.WaitingForConsumer) > 0 {
			recordEvent(ctx, c.Kube, rs, corev1.EventTypeNormal, EventReasonClaimsWaitForConsumer,
				fmt.Sprintf(messageClaimsWaitForConsumer, o.Component, strings.Join(res.WaitingForConsumer, ", ")))
		}
		return nil, nil
	})
}

// resolveVolumeSnapshots GETs the RestoreSession and the Snapshot and
// returns the component's volume snapshots.
func resolveVolumeSnapshots(ctx context.Context, c Clients, o RunOptions) (*corev1alpha1.RestoreSession, []storagev1alpha1.VolumeSnapshotterStats, error) {
	if o.Snapshot == "" || o.Snapshot == corev1alpha1.SnapshotLatest {
		return nil, nil, fmt.Errorf("snapshot %q: the executor needs a resolved Snapshot name", o.Snapshot)
	}
	rs, err := c.Restore.CoreV1alpha1().RestoreSessions(o.Namespace).Get(ctx, o.RestoreSession, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("getting RestoreSession %s/%s: %w", o.Namespace, o.RestoreSession, err)
	}
	dataNS := refs.DataNamespace(rs)
	snap, err := c.Restore.StorageV1alpha1().Snapshots(dataNS).Get(ctx, o.Snapshot, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("getting Snapshot %s/%s: %w", dataNS, o.Snapshot, err)
	}
	comp, ok := snap.Status.Components[o.Component]
	if !ok {
		return nil, nil, fmt.Errorf("Snapshot %s/%s has no component %q", dataNS, o.Snapshot, o.Component)
	}
	if len(comp.VolumeSnapshotterStats) == 0 {
		return nil, nil, fmt.Errorf("Snapshot %s/%s component %q has no volumeSnapshotterStats: it is not a volume snapshot backup", dataNS, o.Snapshot, o.Component)
	}
	return rs, comp.VolumeSnapshotterStats, nil
}

// recordEvent records an Event on the RestoreSession; failing to is
// logged, never fatal.
func recordEvent(ctx context.Context, kube kubernetes.Interface, rs *corev1alpha1.RestoreSession, eventType, reason, message string) {
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", rs.Name, now.UnixNano()), Namespace: rs.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: corev1alpha1.SchemeGroupVersion.String(), Kind: "RestoreSession",
			Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID,
		},
		Reason: reason, Message: message, Type: eventType,
		Source:         corev1.EventSource{Component: fieldManagerVolumeSnapshot},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	if _, err := kube.CoreV1().Events(rs.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		klog.FromContext(ctx).Error(err, "Recording an Event", "reason", reason)
	}
}
