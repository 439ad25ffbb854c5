package controller

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
	"github.com/restore-controller/restore/pkg/status"
)

// dependencyIndex indexes RestoreSessions by the objects whose changes can
// change their sync result, so an event on a Snapshot, Repository, Addon,
// HookTemplate or BackupConfiguration wakes exactly the RestoreSessions that refer to it.
const dependencyIndex = "dependency"

// unvalidatedKey is indexed for every RestoreSession that has not passed
// validation: changes of Functions and BackupStorages, which are reached only
// indirectly, wake all of them.
const unvalidatedKey = "Unvalidated"

func dependencyKey(kind, namespace, name string) string {
	return strings.Join([]string{kind, namespace, name}, "/")
}

func targetKey(t *common.TypedObjectReference, defaultNamespace string) string {
	ns := t.Namespace
	if ns == "" {
		ns = defaultNamespace
	}
	return strings.Join([]string{"Target", refs.TargetGroup(t), t.Kind, ns, t.Name}, "/")
}

func dependencyIndexFunc(obj any) ([]string, error) {
	rs, ok := obj.(*corev1alpha1.RestoreSession)
	if !ok {
		return nil, nil
	}
	ds := rs.Spec.DataSource
	ns := refs.DataNamespace(rs)
	keys := []string{dependencyKey("Addon", "", rs.Spec.Addon.Name)}
	if ds.Repository != "" {
		keys = append(keys, dependencyKey("Repository", ns, ds.Repository))
	}
	switch {
	case ds.Snapshot == "":
		// No data source: nothing to wait for (validation refuses it).
	case ds.Snapshot == corev1alpha1.SnapshotLatest:
		keys = append(keys, dependencyKey("SnapshotOfRepository", ns, ds.Repository))
	default:
		keys = append(keys, dependencyKey("Snapshot", ns, ds.Snapshot))
	}
	if rs.Spec.Target != nil {
		keys = append(keys, targetKey(rs.Spec.Target, rs.Namespace))
	}
	// Hooks resolve their HookTemplate again when they run, so a
	// template's change matters for the whole restore.
	for _, stage := range []hookStage{preRestore, postRestore} {
		for _, h := range stage.hooks(rs) {
			keys = append(keys, dependencyKey("HookTemplate", refs.HookTemplate(rs, h).Namespace, h.HookTemplate.Name))
		}
	}
	if !status.IsTrue(&rs.Status, corev1alpha1.TypeValidationPassed) {
		keys = append(keys, unvalidatedKey)
	}
	return keys, nil
}

func dependencyKeysOfSnapshot(obj any) []string {
	snap, ok := obj.(*storagev1alpha1.Snapshot)
	if !ok {
		return nil
	}
	return []string{
		dependencyKey("Snapshot", snap.Namespace, snap.Name),
		dependencyKey("SnapshotOfRepository", snap.Namespace, snap.Spec.Repository),
	}
}

// dependencyKeysOfObject returns the keys of a Repository or an Addon by
// name; Functions and BackupStorages wake every unvalidated RestoreSession.
func dependencyKeysOfObject(kind string) func(obj any) []string {
	return func(obj any) []string {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil
		}
		switch kind {
		case "Function", "BackupStorage":
			return []string{unvalidatedKey}
		default:
			return []string{dependencyKey(kind, m.GetNamespace(), m.GetName())}
		}
	}
}

func dependencyKeysOfBackupConfiguration(obj any) []string {
	bc, ok := obj.(*corev1alpha1.BackupConfiguration)
	if !ok || bc.Spec.Target == nil {
		return nil
	}
	return []string{targetKey(bc.Spec.Target, bc.Namespace)}
}
