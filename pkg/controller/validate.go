package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/status"
)

// validate checks what the CRD schema cannot: that the referenced objects
// exist and agree with each other. It records status.dependencies, and
// ValidationPassed True, or False with a message naming every bad field.
// An invalid RestoreSession is not retried with backoff: a change of any
// object it refers to wakes it through the dependency index, so creating a
// missing Snapshot later lets the restore proceed.
//
// Validation runs until it passes once. After that the restore is committed
// to the objects it resolved (a Snapshot resolved from "latest" stays the
// same even when a newer one appears).
func (c *Controller) validate(ctx context.Context, s *restoreState) (bool, error) {
	errs, deps, err := c.resolve(ctx, s)
	if err != nil {
		return false, err
	}
	st := s.status()
	st.Dependencies = deps
	if len(errs) > 0 {
		msg := validationMessage(errs)
		if !status.IsFalse(st, corev1alpha1.TypeValidationPassed) || conditionMessage(st, corev1alpha1.TypeValidationPassed) != msg {
			s.recordEvent(corev1.EventTypeWarning, EventReasonInvalid, msg)
		}
		s.setCondition(corev1alpha1.TypeValidationPassed, metav1.ConditionFalse, corev1alpha1.ReasonResourceValidationFailed, msg)
		return false, nil
	}
	s.setCondition(corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, corev1alpha1.ReasonResourceValidationPassed, corev1alpha1.MessageResourceValidationPassed)
	return true, nil
}

func validationMessage(errs field.ErrorList) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return strings.Join(msgs, "; ")
}

func conditionMessage(st *corev1alpha1.RestoreSessionStatus, condType string) string {
	for _, cond := range st.Conditions {
		if cond.Type == condType {
			return cond.Message
		}
	}
	return ""
}

// resolve looks up every object the RestoreSession refers to and stores the
// ones found in s. It returns the user's errors as a field.ErrorList and
// only API failures a retry can fix as error.
func (c *Controller) resolve(ctx context.Context, s *restoreState) (field.ErrorList, []corev1alpha1.ResourceFoundStatus, error) {
	rs := s.rs
	var errs field.ErrorList
	var deps []corev1alpha1.ResourceFoundStatus
	dep := func(group, kind, namespace, name string, found bool) {
		deps = append(deps, corev1alpha1.ResourceFoundStatus{APIGroup: group, Kind: kind, Namespace: namespace, Name: name, Found: found})
	}
	ds := rs.Spec.DataSource
	dsPath := field.NewPath("spec", "dataSource")
	ns := dataSourceNamespace(rs)
	storageGroup := storagev1alpha1.SchemeGroupVersion.Group

	if t := rs.Spec.Target; t != nil && t.Namespace != "" && t.Namespace != rs.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("spec", "target", "namespace"), t.Namespace,
			fmt.Sprintf("must be the RestoreSession's namespace %q: restore Jobs can mount only volumes of their own namespace", rs.Namespace)))
	}

	if t := rs.Spec.Target; t != nil && !supportedTarget(t.APIGroup, t.Kind) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "target", "kind"), t.Kind, fmt.Sprintf(messageTargetUnsupported, t.Kind, t.APIGroup)))
	}

	// Repository, when named.
	if ds.Repository != "" {
		repo, err := c.repositories.Repositories(ns).Get(ds.Repository)
		switch {
		case apierrors.IsNotFound(err):
			errs = append(errs, field.Invalid(dsPath.Child("repository"), ds.Repository, fmt.Sprintf("Repository %s/%s not found", ns, ds.Repository)))
			dep(storageGroup, "Repository", ns, ds.Repository, false)
		case err != nil:
			return nil, nil, err
		default:
			s.repository = repo
		}
	}

	// Snapshot: named, or the newest Succeeded one of the Repository.
	snapPath := dsPath.Child("snapshot")
	if ds.Snapshot == corev1alpha1.SnapshotLatest {
		snap, err := c.latestSnapshot(ns, ds.Repository)
		if err != nil {
			return nil, nil, err
		}
		if snap == nil {
			errs = append(errs, field.Invalid(snapPath, ds.Snapshot, fmt.Sprintf("Repository %s/%s has no Succeeded Snapshot", ns, ds.Repository)))
			dep(storageGroup, "Snapshot", ns, ds.Snapshot, false)
		}
		s.snapshot = snap
	} else {
		snap, err := c.snapshots.Snapshots(ns).Get(ds.Snapshot)
		switch {
		case apierrors.IsNotFound(err):
			errs = append(errs, field.Invalid(snapPath, ds.Snapshot, fmt.Sprintf("Snapshot %s/%s not found", ns, ds.Snapshot)))
			dep(storageGroup, "Snapshot", ns, ds.Snapshot, false)
		case err != nil:
			return nil, nil, err
		default:
			s.snapshot = snap
		}
	}
	if snap := s.snapshot; snap != nil {
		deps = append([]corev1alpha1.ResourceFoundStatus{{APIGroup: storageGroup, Kind: "Snapshot", Namespace: ns, Name: snap.Name, Found: true}}, deps...)
		errs = append(errs, checkSnapshot(snap, ds, snapPath)...)
		if ds.Repository == "" && snap.Spec.Repository != "" {
			repo, err := c.repositories.Repositories(ns).Get(snap.Spec.Repository)
			switch {
			case apierrors.IsNotFound(err):
				errs = append(errs, field.Invalid(snapPath, ds.Snapshot, fmt.Sprintf("Repository %s/%s of the Snapshot not found", ns, snap.Spec.Repository)))
				dep(storageGroup, "Repository", ns, snap.Spec.Repository, false)
			case err != nil:
				return nil, nil, err
			default:
				s.repository = repo
			}
		}
	}

	// BackupStorage of the Repository, and whether it may be used from
	// the Repository's namespace.
	if repo := s.repository; repo != nil {
		dep(storageGroup, "Repository", repo.Namespace, repo.Name, true)
		bsNamespace := repo.Spec.StorageRef.Namespace
		if bsNamespace == "" {
			bsNamespace = repo.Namespace
		}
		bs, err := c.backupStorages.BackupStorages(bsNamespace).Get(repo.Spec.StorageRef.Name)
		switch {
		case apierrors.IsNotFound(err):
			errs = append(errs, field.Invalid(dsPath.Child("repository"), repo.Name,
				fmt.Sprintf("BackupStorage %s/%s of the Repository not found", bsNamespace, repo.Spec.StorageRef.Name)))
			dep(storageGroup, "BackupStorage", bsNamespace, repo.Spec.StorageRef.Name, false)
		case err != nil:
			return nil, nil, err
		default:
			dep(storageGroup, "BackupStorage", bs.Namespace, bs.Name, true)
			allowed, err := c.usagePolicyAllows(ctx, bs.Spec.UsagePolicy, bs.Namespace, repo.Namespace)
			if err != nil {
				return nil, nil, err
			}
			if !allowed {
				errs = append(errs, field.Invalid(dsPath.Child("repository"), repo.Name,
					fmt.Sprintf("the usagePolicy of BackupStorage %s/%s does not allow namespace %q", bs.Namespace, bs.Name, repo.Namespace)))
			} else {
				s.storage = bs
			}
		}
	}

	addonErrs, addonDeps := c.resolveAddon(s)
	errs = append(errs, addonErrs...)
	deps = append(deps, addonDeps...)
	errs = append(errs, checkSingleton(s)...)

	secretErrs, err := c.checkEncryptionSecret(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	errs = append(errs, secretErrs...)

	hookErrs, hookDeps, err := c.checkHooks(ctx, rs)
	if err != nil {
		return nil, nil, err
	}
	errs = append(errs, hookErrs...)
	deps = append(deps, hookDeps...)

	manifestErrs, err := c.checkManifestOptions(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	errs = append(errs, manifestErrs...)
	return errs, deps, nil
}

// checkSnapshot checks that the Snapshot agrees with the data source and
// holds restorable components.
func checkSnapshot(snap *storagev1alpha1.Snapshot, ds corev1alpha1.RestoreDataSource, snapPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	name := snap.Namespace + "/" + snap.Name
	if ds.Repository != "" && snap.Spec.Repository != ds.Repository {
		errs = append(errs, field.Invalid(snapPath, ds.Snapshot,
			fmt.Sprintf("Snapshot %s belongs to Repository %q, not to spec.dataSource.repository %q", name, snap.Spec.Repository, ds.Repository)))
	}
	if snap.Status.Phase != storagev1alpha1.SnapshotSucceeded {
		phase := string(snap.Status.Phase)
		if phase == "" {
			phase = "without a phase"
		}
		errs = append(errs, field.Invalid(snapPath, ds.Snapshot,
			fmt.Sprintf("Snapshot %s is %s: only a Succeeded Snapshot can be restored", name, phase)))
		return errs
	}
	available := slices.Sorted(maps.Keys(snap.Status.Components))
	if len(available) == 0 {
		return append(errs, field.Invalid(snapPath, ds.Snapshot, fmt.Sprintf("Snapshot %s has no components", name)))
	}
	for i, comp := range ds.Components {
		if _, ok := snap.Status.Components[comp]; !ok {
			errs = append(errs, field.Invalid(field.NewPath("spec", "dataSource", "components").Index(i), comp,
				fmt.Sprintf("not a component of Snapshot %s (components: %s)", name, strings.Join(available, ", "))))
		}
	}
	for _, comp := range selectedComponents(snap, ds.Components) {
		c := snap.Status.Components[comp]
		if c.Driver != "" && c.Driver != storagev1alpha1.DriverKopia {
			errs = append(errs, field.Invalid(snapPath, ds.Snapshot,
				fmt.Sprintf("component %q of Snapshot %s was backed up with driver %s: only %s snapshots can be restored", comp, name, c.Driver, storagev1alpha1.DriverKopia)))
		} else if len(c.KopiaStats) == 0 {
			errs = append(errs, field.Invalid(snapPath, ds.Snapshot,
				fmt.Sprintf("component %q of Snapshot %s has no kopiaStats: nothing to restore", comp, name)))
		}
	}
	return errs
}

// latestSnapshot is the Succeeded Snapshot of the Repository with the newest
// snapshotTime; ties go to the greater name, so the choice is stable.
func (c *Controller) latestSnapshot(namespace, repository string) (*storagev1alpha1.Snapshot, error) {
	selector := labels.SelectorFromSet(labels.Set{storagev1alpha1.LabelRepoName: repository})
	snaps, err := c.snapshots.Snapshots(namespace).List(selector)
	if err != nil {
		return nil, err
	}
	var latest *storagev1alpha1.Snapshot
	for _, snap := range snaps {
		if snap.Status.Phase != storagev1alpha1.SnapshotSucceeded || snap.Status.SnapshotTime == nil || snap.Spec.Repository != repository {
			continue
		}
		if latest == nil || latest.Status.SnapshotTime.Before(snap.Status.SnapshotTime) ||
			(latest.Status.SnapshotTime.Equal(snap.Status.SnapshotTime) && snap.Name > latest.Name) {
			latest = snap
		}
	}
	return latest, nil
}

// resolveAddon checks the Addon, its restore tasks, their Functions and the
// task parameters.
func (c *Controller) resolveAddon(s *restoreState) (field.ErrorList, []corev1alpha1.ResourceFoundStatus) {
	var errs field.ErrorList
	var deps []corev1alpha1.ResourceFoundStatus
	addonsGroup := addonsv1alpha1.SchemeGroupVersion.Group
	spec := s.rs.Spec.Addon
	addonPath := field.NewPath("spec", "addon")
	addon, err := c.addons.Get(spec.Name)
	if err != nil {
		errs = append(errs, field.Invalid(addonPath.Child("name"), spec.Name, fmt.Sprintf("Addon %q not found", spec.Name)))
		return errs, append(deps, corev1alpha1.ResourceFoundStatus{APIGroup: addonsGroup, Kind: "Addon", Name: spec.Name, Found: false})
	}
	s.addon = addon
	deps = append(deps, corev1alpha1.ResourceFoundStatus{APIGroup: addonsGroup, Kind: "Addon", Name: addon.Name, Found: true})

	seenFunctions := map[string]bool{}
	s.tasks = nil
	for i, ref := range spec.Tasks {
		taskPath := addonPath.Child("tasks").Index(i)
		task, found := findTask(addon.Spec.RestoreTasks, ref.Name)
		if !found {
			detail := fmt.Sprintf("Addon %q has no restore task %q (restore tasks: %s)", addon.Name, ref.Name, strings.Join(taskNames(addon.Spec.RestoreTasks), ", "))
			if _, isBackup := findTask(addon.Spec.BackupTasks, ref.Name); isBackup {
				detail = fmt.Sprintf("task %q of Addon %q is a backup task, not a restore task", ref.Name, addon.Name)
			}
			errs = append(errs, field.Invalid(taskPath.Child("name"), ref.Name, detail))
			continue
		}
		if task.Executor != "" && task.Executor != addonsv1alpha1.ExecutorJob {
			errs = append(errs, field.Invalid(taskPath.Child("name"), ref.Name,
				fmt.Sprintf("task %q runs with executor %s: this controller runs restore tasks as Jobs only", ref.Name, task.Executor)))
		}
		fn, err := c.functions.Get(task.Function)
		if err != nil {
			errs = append(errs, field.Invalid(taskPath.Child("name"), ref.Name,
				fmt.Sprintf("Function %q of task %q not found", task.Function, ref.Name)))
			if !seenFunctions[task.Function] {
				deps = append(deps, corev1alpha1.ResourceFoundStatus{APIGroup: addonsGroup, Kind: "Function", Name: task.Function, Found: false})
			}
			seenFunctions[task.Function] = true
			continue
		}
		if !seenFunctions[fn.Name] {
			deps = append(deps, corev1alpha1.ResourceFoundStatus{APIGroup: addonsGroup, Kind: "Function", Name: fn.Name, Found: true})
		}
		seenFunctions[fn.Name] = true
		params, paramErrs := taskParams(ref, task, taskPath.Child("params"))
		errs = append(errs, paramErrs...)
		s.tasks = append(s.tasks, resolvedTask{ref: ref, task: task, function: fn, params: params})
	}
	return errs, deps
}

// taskParams merges the user's params over the Addon's defaults. Every
// param must be declared by the task; a required param needs a value.
func taskParams(ref corev1alpha1.TaskReference, task addonsv1alpha1.Task, path *field.Path) (map[string]string, field.ErrorList) {
	return resolveParams(ref.Params, task.Parameters, fmt.Sprintf("task %q", task.Name), "its Addon", path)
}

// resolveParams merges the params given as a JSON object over the defaults
// of their definitions. Every param must be declared; a required param
// needs a value. owner ("task \"x\"") and definer ("its Addon") name the
// declarations in errors.
func resolveParams(raw *runtime.RawExtension, defs []common.ParameterDefinition, owner, definer string, path *field.Path) (map[string]string, field.ErrorList) {
	var errs field.ErrorList
	given := map[string]any{}
	if raw != nil && len(raw.Raw) > 0 {
		if err := json.Unmarshal(raw.Raw, &given); err != nil {
			return nil, field.ErrorList{field.Invalid(path, string(raw.Raw), "must be an object of parameter values: "+err.Error())}
		}
	}
	declared := map[string]bool{}
	names := make([]string, 0, len(defs))
	params := map[string]string{}
	for _, p := range defs {
		declared[p.Name] = true
		names = append(names, p.Name)
		if p.Default != "" {
			params[p.Name] = p.Default
		}
	}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if !declared[name] {
			errs = append(errs, field.Invalid(path.Child(name), given[name],
				fmt.Sprintf("not a parameter of %s (parameters: %s)", owner, strings.Join(slices.Sorted(slices.Values(names)), ", "))))
			continue
		}
		params[name] = paramString(given[name])
	}
	for _, p := range defs {
		if _, ok := params[p.Name]; p.Required && !ok {
			errs = append(errs, field.Required(path.Child(p.Name), fmt.Sprintf("%s requires it and %s gives no default", owner, definer)))
		}
	}
	return params, errs
}

func paramString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// checkEncryptionSecret checks that the encryption Secret (the
// RestoreSession's, else the Repository's) exists and holds a password.
func (c *Controller) checkEncryptionSecret(ctx context.Context, s *restoreState) (field.ErrorList, error) {
	path := field.NewPath("spec", "dataSource", "encryptionSecret")
	namespace, name, ok := encryptionSecretRef(s)
	if !ok {
		if s.repository == nil {
			return nil, nil // already reported
		}
		return field.ErrorList{field.Required(path,
			fmt.Sprintf("neither the RestoreSession nor Repository %s/%s names an encryption Secret", s.repository.Namespace, s.repository.Name))}, nil
	}
	secret, err := c.kubeClient.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return field.ErrorList{field.Invalid(path, name, fmt.Sprintf("Secret %s/%s not found", namespace, name))}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading encryption Secret %s/%s: %w", namespace, name, err)
	}
	if len(secret.Data[storagev1alpha1.EncryptionKeyKopia]) == 0 && len(secret.Data[storagev1alpha1.EncryptionKeyRestic]) == 0 {
		return field.ErrorList{field.Invalid(path, name, fmt.Sprintf("Secret %s/%s has no key %s (or %s)",
			namespace, name, storagev1alpha1.EncryptionKeyKopia, storagev1alpha1.EncryptionKeyRestic))}, nil
	}
	return nil, nil
}

// encryptionSecretRef is the namespace and name of the Secret the executor
// decrypts the repository with.
func encryptionSecretRef(s *restoreState) (namespace, name string, ok bool) {
	if ref := s.rs.Spec.DataSource.EncryptionSecret; ref != nil {
		namespace = ref.Namespace
		if namespace == "" {
			namespace = s.rs.Namespace
		}
		return namespace, ref.Name, true
	}
	if s.repository != nil && s.repository.Spec.EncryptionSecret != nil {
		ref := s.repository.Spec.EncryptionSecret
		namespace = ref.Namespace
		if namespace == "" {
			namespace = s.repository.Namespace
		}
		return namespace, ref.Name, true
	}
	return "", "", false
}

func findTask(tasks []addonsv1alpha1.Task, name string) (addonsv1alpha1.Task, bool) {
	for _, t := range tasks {
		if t.Name == name {
			return t, true
		}
	}
	return addonsv1alpha1.Task{}, false
}

func taskNames(tasks []addonsv1alpha1.Task) []string {
	names := make([]string, 0, len(tasks))
	for _, t := range tasks {
		names = append(names, t.Name)
	}
	return names
}
