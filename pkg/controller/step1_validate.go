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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/jobbuild"
	"github.com/restore-controller/restore/pkg/refs"
	"github.com/restore-controller/restore/pkg/status"
)

// Step 1, validate: the objects the RestoreSession refers to exist, agree
// with each other and may be used (their owners' consent, package refs);
// records ValidationPassed. Later syncs reload what it resolved
// (loadDependencies).

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
// ones found, and usable with their owners' consent, in s. It returns the
// user's errors as a field.ErrorList and only API failures a retry can fix
// as error.
func (c *Controller) resolve(ctx context.Context, s *restoreState) (field.ErrorList, []corev1alpha1.ResourceFoundStatus, error) {
	rs := s.rs
	var errs field.ErrorList

	if t := rs.Spec.Target; t != nil && t.Namespace != "" && t.Namespace != rs.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("spec", "target", "namespace"), t.Namespace,
			fmt.Sprintf("must be the RestoreSession's namespace %q: restore Jobs can mount only volumes of their own namespace", rs.Namespace)))
	}

	if t := rs.Spec.Target; t != nil && !supportedTarget(refs.TargetGroup(t), t.Kind) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "target", "kind"), t.Kind, fmt.Sprintf(messageTargetUnsupported, t.Kind, refs.TargetGroup(t))))
	}

	// The schema lets spec.dataSource be absent, as KubeStash's does (its
	// docs show cluster-resource restores without one). Without it there
	// is no Snapshot to restore and nothing else to resolve against.
	if !hasDataSource(rs) {
		return append(errs, field.Required(field.NewPath("spec", "dataSource"), messageNoDataSource)), nil, nil
	}
	// KubeStash's point-in-time recovery replays a database's log up to a
	// time; a kopia snapshot is a copy of files at one moment, with no log
	// to replay. The schema accepts pitr so KubeStash YAML applies; the
	// restore cannot do what it asks.
	if rs.Spec.DataSource.PITR != nil {
		return append(errs, field.Forbidden(field.NewPath("spec", "dataSource", "pitr"), messagePITRUnsupported)), nil, nil
	}

	res, err := c.resolver().Resolve(ctx, rs, "")
	if err != nil {
		return nil, nil, err
	}
	s.setResolution(res)
	errs = append(errs, res.Errors...)
	deps := res.Dependencies
	if s.snapshot != nil {
		errs = append(errs, checkSnapshot(s.snapshot, rs.Spec.DataSource, restoredDriver(rs), field.NewPath("spec", "dataSource", "snapshot"))...)
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

const (
	messageNoDataSource    = "names the Repository and Snapshot to restore from; a RestoreSession without one has nothing to restore"
	messagePITRUnsupported = "point-in-time recovery is not supported: kopia snapshots carry no point-in-time log to replay; name a Snapshot (or latest) in spec.dataSource.snapshot instead"
)

// hasDataSource reports whether the RestoreSession names data to restore.
// The schema requires spec.dataSource.snapshot or pitr inside a data
// source, so with neither the data source is absent.
func hasDataSource(rs *corev1alpha1.RestoreSession) bool {
	return rs.Spec.DataSource.Snapshot != "" || rs.Spec.DataSource.PITR != nil
}

// checkSnapshot checks that the Snapshot agrees with the data source and
// holds components the restore's tasks can restore: of driver want, with
// its statistics.
func checkSnapshot(snap *storagev1alpha1.Snapshot, ds corev1alpha1.RestoreDataSource, want storagev1alpha1.Driver, snapPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	name := snap.Namespace + "/" + snap.Name
	if snap.Spec.Repository == "" {
		// KubeStash's schema lets a Snapshot omit its Repository (its
		// VolumeSnapshotter Snapshots do); the executor finds the data
		// through it.
		errs = append(errs, field.Invalid(snapPath, ds.Snapshot,
			fmt.Sprintf("Snapshot %s has no spec.repository: the Repository that holds its data is unknown", name)))
	} else if ds.Repository != "" && snap.Spec.Repository != ds.Repository {
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
		if d := componentDriver(c); d != want {
			errs = append(errs, field.Invalid(snapPath, ds.Snapshot, driverMismatchMessage(comp, name, d, want)))
		} else if want == storagev1alpha1.DriverVolumeSnapshotter {
			if len(c.VolumeSnapshotterStats) == 0 {
				errs = append(errs, field.Invalid(snapPath, ds.Snapshot,
					fmt.Sprintf("component %q of Snapshot %s has no volumeSnapshotterStats: nothing to restore", comp, name)))
			}
		} else if len(c.KopiaStats) == 0 {
			errs = append(errs, field.Invalid(snapPath, ds.Snapshot,
				fmt.Sprintf("component %q of Snapshot %s has no kopiaStats: nothing to restore", comp, name)))
		}
	}
	return errs
}

// componentDriver is the driver that stored a component: the one it names,
// or, for a component that names none, the one whose statistics it
// carries. A component with neither is taken as Kopia, this project's own
// format (its kopiaStats are checked then).
func componentDriver(c storagev1alpha1.Component) storagev1alpha1.Driver {
	switch {
	case c.Driver != "":
		return c.Driver
	case len(c.KopiaStats) > 0:
		return storagev1alpha1.DriverKopia
	case len(c.ResticStats) > 0:
		return storagev1alpha1.DriverRestic
	case len(c.VolumeSnapshotterStats) > 0:
		return storagev1alpha1.DriverVolumeSnapshotter
	case c.WalGStats != nil:
		return storagev1alpha1.DriverWalG
	case c.MedusaStats != nil:
		return storagev1alpha1.DriverMedusa
	case len(c.SolrStats) > 0:
		return storagev1alpha1.DriverSolr
	case len(c.ClickHouseStats) > 0:
		return storagev1alpha1.DriverClickHouseBackup
	case len(c.Neo4jStats) > 0:
		return storagev1alpha1.DriverNeo4jAdmin
	default:
		return storagev1alpha1.DriverKopia
	}
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
		errs = append(errs, checkTaskParamValues(task, params, taskPath.Child("params"))...)
		s.tasks = append(s.tasks, jobbuild.Task{Ref: ref, AddonTask: task, Function: fn, Params: params})
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

// checkEncryptionSecret checks that the encryption Secret the
// RestoreSession may read (refs.Resolution.EncryptionSecret) exists and
// holds a password.
func (c *Controller) checkEncryptionSecret(ctx context.Context, s *restoreState) (field.ErrorList, error) {
	ref := s.encryptionSecret
	if ref == nil {
		return nil, nil // why not is reported by the resolution
	}
	path := field.NewPath("spec", "dataSource", "encryptionSecret")
	secret, err := c.kubeClient.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return field.ErrorList{field.Invalid(path, ref.Name, fmt.Sprintf("Secret %s not found", ref))}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading encryption Secret %s: %w", ref, err)
	}
	if len(secret.Data[storagev1alpha1.EncryptionKeyKopia]) == 0 && len(secret.Data[storagev1alpha1.EncryptionKeyRestic]) == 0 {
		return field.ErrorList{field.Invalid(path, ref.Name, fmt.Sprintf("Secret %s has no key %s (or %s)",
			ref, storagev1alpha1.EncryptionKeyKopia, storagev1alpha1.EncryptionKeyRestic))}, nil
	}
	return nil, nil
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

// loadDependencies reloads, on syncs after validation passed, the objects
// validation resolved, with the same rules: the owners' consent is checked
// again, so a consent withdrawn since leaves the object out. The Snapshot is
// the one recorded in status.dependencies, so a "latest" restore keeps the
// Snapshot it started with. Objects deleted or refused since stay nil: the
// steps that need them report it.
func (c *Controller) loadDependencies(ctx context.Context, s *restoreState) error {
	res, err := c.resolver().Resolve(ctx, s.rs, refs.ResolvedSnapshotName(s.rs))
	if err != nil {
		return err
	}
	s.setResolution(res)
	// Addon problems were reported by validation; a task whose Addon or
	// Function disappeared since is simply missing from s.tasks.
	_, _ = c.resolveAddon(s)
	return nil
}
