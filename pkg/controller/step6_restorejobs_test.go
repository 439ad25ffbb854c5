package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	core "k8s.io/client-go/testing"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/names"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

func volumeNamed(vols []corev1.Volume, name string) *corev1.Volume {
	for i := range vols {
		if vols[i].Name == name {
			return &vols[i]
		}
	}
	return nil
}

func mountAt(mounts []corev1.VolumeMount, path string) *corev1.VolumeMount {
	for i := range mounts {
		if mounts[i].MountPath == path {
			return &mounts[i]
		}
	}
	return nil
}

func TestSampleJobs(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Addon.Tasks[0].Params = &runtime.RawExtension{Raw: []byte(`{"include":"/data/db"}`)}
	})
	f.start()
	f.mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
	if c := condition(rs, corev1alpha1.TypeRestoreExecutorEnsured); c.Message != corev1alpha1.MessageRestoreExecutorEnsured {
		t.Errorf("message = %q", c.Message)
	}
	// The Jobs were created in this very sync and are not in the cache
	// yet: that is no reason to call them deleted.
	if c := condition(rs, corev1alpha1.TypeRestoreIncomplete); c != nil {
		t.Errorf("RestoreIncomplete set on the first sync: %+v", c)
	}
	expectPhase(t, rs, corev1alpha1.RestorePending)
	if rs.Status.TotalComponents != 2 {
		t.Errorf("totalComponents = %d, want 2", rs.Status.TotalComponents)
	}

	jobs := f.jobs()
	if len(jobs) != 2 {
		t.Fatalf("got %d Jobs, want 2", len(jobs))
	}
	for i, comp := range []string{"pod-0", "pod-2"} {
		job := jobs[i]
		ordinal := comp[len("pod-"):]
		if want := "restore-sample-restore-" + comp; job.Name != want {
			t.Errorf("Job name = %q, want %q", job.Name, want)
		}
		if len(job.Name) > 63 {
			t.Errorf("Job name %q is longer than 63", job.Name)
		}
		owner := metav1.GetControllerOf(&job)
		if owner == nil || owner.UID != testRSUID || owner.Kind != "RestoreSession" || owner.APIVersion != "core.kubestash.com/v1alpha1" || owner.Name != testRSName {
			t.Errorf("Job %s controller = %+v", job.Name, owner)
		}
		for what, labels := range map[string]map[string]string{"Job": job.Labels, "pod": job.Spec.Template.Labels} {
			for k, v := range map[string]string{LabelManagedBy: ManagedByValue, LabelInvokerName: testRSName, LabelInvokerNamespace: testNS} {
				if labels[k] != v {
					t.Errorf("%s %s label %s = %q, want %q", what, job.Name, k, labels[k], v)
				}
			}
		}
		if job.Annotations[AnnotationComponent] != comp {
			t.Errorf("Job %s component annotation = %q", job.Name, job.Annotations[AnnotationComponent])
		}
		if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 2 {
			t.Errorf("backoffLimit = %v, want 2", job.Spec.BackoffLimit)
		}
		pod := job.Spec.Template.Spec
		if pod.RestartPolicy != corev1.RestartPolicyNever || pod.ServiceAccountName != "restore-executor-sample-restore" {
			t.Errorf("restartPolicy %s, serviceAccount %q", pod.RestartPolicy, pod.ServiceAccountName)
		}
		if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
			t.Fatalf("containers %d, init containers %d", len(pod.Containers), len(pod.InitContainers))
		}
		ctr := pod.Containers[0]

		// The target StatefulSet, read once by the sync, gives each Job
		// its replica's claim (the Job's shape: package jobbuild).
		data := volumeNamed(pod.Volumes, "data")
		if data == nil || data.PersistentVolumeClaim == nil || data.PersistentVolumeClaim.ClaimName != "data-restore-sts-"+ordinal {
			t.Errorf("Job %s data volume = %+v, want claim data-restore-sts-%s", job.Name, data, ordinal)
		}
		if m := mountAt(ctr.VolumeMounts, testDataMount); m == nil || m.Name != "data" {
			t.Errorf("Job %s mounts %v at %s, want the data volume", job.Name, m, testDataMount)
		}
		if got := envValue(ctr.Env, invocation.EnvSnapshot); got != testSnapshot {
			t.Errorf("Job %s restores snapshot %q, want the resolved %q", job.Name, got, testSnapshot)
		}
		if !slices.Contains(ctr.Args, "--include=/data/db") {
			t.Errorf("Job %s args %v lack the task's params", job.Name, ctr.Args)
		}
	}

	// The replicas' PVCs were created from the StatefulSet's claim
	// templates, not owned: they hold the restored data.
	for _, name := range []string{"data-restore-sts-0", "data-restore-sts-2"} {
		pvc, err := f.kubeClient.CoreV1().PersistentVolumeClaims(testNS).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("PVC %s: %v", name, err)
			continue
		}
		if len(pvc.OwnerReferences) != 0 {
			t.Errorf("PVC %s is owned: %+v", name, pvc.OwnerReferences)
		}
		if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("1Gi")) != 0 {
			t.Errorf("PVC %s requests %s", name, q.String())
		}
	}
	if ev := f.events(); countPrefix(ev, "Normal "+EventReasonRestoreJobCreated) != 2 || !hasEvent(ev, "Normal "+EventReasonRestoreStarted) {
		t.Errorf("events = %v", ev)
	}

	// Idempotent: a second sync creates nothing.
	f.mustSync()
	for _, w := range f.writes() {
		if strings.HasPrefix(w, "create ") {
			t.Errorf("second sync: %s", w)
		}
	}
	if n := len(f.jobs()); n != 2 {
		t.Errorf("got %d Jobs after the second sync", n)
	}
}

// A sync that must create the Jobs again (the status write of the first
// one was lost) finds them and creates nothing.
func TestEnsureRestoreJobsIdempotentAfterLostStatus(t *testing.T) {
	f := newFixture(t).start()
	f.mustSync()
	f.updateRS(func(rs *corev1alpha1.RestoreSession) { rs.Status = corev1alpha1.RestoreSessionStatus{} })
	f.mustSync()
	for _, w := range f.writes() {
		if strings.HasPrefix(w, "create jobs") {
			t.Errorf("created again: %s", w)
		}
	}
	expectCondition(t, f.rs(), corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
}

func TestJobUndefinedVariable(t *testing.T) {
	f := newFixture(t)
	fn := newFunction()
	fn.Spec.Args = append(fn.Spec.Args, "--target=${nope}")
	f.replaceObject(fn)
	f.start().mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionFalse, corev1alpha1.ReasonFailedToEnsureRestoreExecutor, "${nope}", `Function "workload-restore" args[7]`)
	expectPhase(t, rs, corev1alpha1.RestoreFailed)
	expectNoJobs(t, f)
	if n := countPrefix(f.writes(), "create "); n != 0 {
		t.Errorf("created objects for a Job that cannot be built: %v", f.writes())
	}
	if ev := f.events(); !hasEvent(ev, "Warning "+EventReasonRestoreJobsFailed) || !hasEvent(ev, "Warning "+EventReasonRestoreFailed) {
		t.Errorf("events = %v", ev)
	}
}

// TestJobTemplateServiceAccount: a service account named in the
// jobTemplate is the user's to grant: the controller creates no RBAC and
// the Jobs run as it. (How jobTemplate and containerRuntimeSettings shape
// a Job: package jobbuild.)
func TestJobTemplateServiceAccount(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{Env: []corev1.EnvVar{{Name: "FOO", Value: "bar"}}}
		rs.Spec.Addon.JobTemplate = &corev1alpha1.PodTemplateSpec{
			Spec: corev1alpha1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}, ServiceAccountName: "custom-sa"},
		}
	})
	f.start().mustSync()
	// The user's service account gets the executor's grants, as the
	// controller's own does; it is neither created nor changed.
	ctx := context.Background()
	name := "restore-executor-sample-restore"
	for _, w := range f.writes() {
		if strings.HasPrefix(w, "create serviceaccounts") || strings.HasPrefix(w, "update serviceaccounts") {
			t.Errorf("service account written although jobTemplate names one: %s", w)
		}
	}
	role, err := f.kubeClient.RbacV1().Roles(testNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
		return slices.Equal(r.Resources, []string{"repositories"}) && slices.Equal(r.ResourceNames, []string{testRepo})
	}) {
		t.Errorf("Role rules %+v do not grant the Repository", role.Rules)
	}
	binding, err := f.kubeClient.RbacV1().RoleBindings(testNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "custom-sa", Namespace: testNS}}; !equality.Semantic.DeepEqual(binding.Subjects, want) {
		t.Errorf("binding subjects %+v, want %+v", binding.Subjects, want)
	}
	if writes := f.writes(); indexOf(writes, "create rolebindings") > indexOf(writes, "create jobs") {
		t.Errorf("Jobs created before their permissions: %v", writes)
	}
	jobs := f.jobs()
	if len(jobs) != 2 {
		t.Fatalf("got %d Jobs", len(jobs))
	}
	for _, job := range jobs {
		pod := job.Spec.Template.Spec
		if pod.ServiceAccountName != "custom-sa" || pod.NodeSelector["disk"] != "ssd" || envValue(pod.Containers[0].Env, "FOO") != "bar" {
			t.Errorf("Job %s: serviceAccountName %q, nodeSelector %v, env %v", job.Name, pod.ServiceAccountName, pod.NodeSelector, pod.Containers[0].Env)
		}
	}
}

func TestTargetVolumeClaimTemplates(t *testing.T) {
	f := newFixture(t)
	// One of the two claims exists already.
	f.kubeObjects = append(f.kubeObjects, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "restore-data-restore-sts-2", Namespace: testNS, Labels: map[string]string{"pre": "existing"}}})
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Addon.Tasks[0].TargetVolumes = &corev1alpha1.TargetVolumeInfo{
			VolumeMounts: []corev1.VolumeMount{{Name: "restore-data", MountPath: "/restore"}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{
				ObjectMeta: metav1.ObjectMeta{Name: "restore-data", Labels: map[string]string{"from": "template"}},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}},
				},
			}},
		}
	})
	f.start().mustSync()
	writes := f.writes()
	if indexOf(writes, "create persistentvolumeclaims demo/restore-data-restore-sts-0") < 0 {
		t.Errorf("missing claim not created: %v", writes)
	}
	if indexOf(writes, "create persistentvolumeclaims demo/data-restore-sts") >= 0 {
		t.Errorf("the StatefulSet's own claims were created although targetVolumes are given: %v", writes)
	}
	ctx := context.Background()
	pvc, err := f.kubeClient.CoreV1().PersistentVolumeClaims(testNS).Get(ctx, "restore-data-restore-sts-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pvc.OwnerReferences) != 0 || pvc.Labels["from"] != "template" {
		t.Errorf("created PVC: owners %v, labels %v", pvc.OwnerReferences, pvc.Labels)
	}
	if existing, _ := f.kubeClient.CoreV1().PersistentVolumeClaims(testNS).Get(ctx, "restore-data-restore-sts-2", metav1.GetOptions{}); existing.Labels["pre"] != "existing" {
		t.Errorf("existing PVC replaced: %+v", existing)
	}
	for _, job := range f.jobs() {
		ordinal := strings.TrimPrefix(job.Annotations[AnnotationComponent], "pod-")
		pod := job.Spec.Template.Spec
		v := volumeNamed(pod.Volumes, "restore-data")
		if v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "restore-data-restore-sts-"+ordinal {
			t.Errorf("Job %s restore-data volume = %+v", job.Name, v)
		}
		ctr := pod.Containers[0]
		if m := mountAt(ctr.VolumeMounts, "/restore"); m == nil || m.Name != "restore-data" {
			t.Errorf("Job %s mount = %+v", job.Name, m)
		}
		if got := envValue(ctr.Env, invocation.EnvTargetMountPaths); got != "/restore" {
			t.Errorf("Job %s target mount paths = %q", job.Name, got)
		}
	}
	expectCondition(t, f.rs(), corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
}

func TestJobNotControlled(t *testing.T) {
	foreign := func(labels map[string]string) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "restore-sample-restore-pod-2", Namespace: testNS, Labels: labels}}
	}
	tests := []struct {
		name string
		job  *batchv1.Job
	}{
		// In the cache (it carries the managed-by label the informer
		// selects on).
		{"in the cache", foreign(map[string]string{LabelManagedBy: ManagedByValue})},
		// Not in the cache: Create says AlreadyExists.
		{"only in the API", foreign(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.kubeObjects = append(f.kubeObjects, tt.job)
			f.start().mustSync()
			rs := f.rs()
			expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionFalse, corev1alpha1.ReasonFailedToEnsureRestoreExecutor,
				"Job demo/restore-sample-restore-pod-2 already exists and is not controlled by this RestoreSession")
			expectPhase(t, rs, corev1alpha1.RestoreFailed)
			job, err := f.kubeClient.BatchV1().Jobs(testNS).Get(context.Background(), tt.job.Name, metav1.GetOptions{})
			if err != nil || len(job.OwnerReferences) != 0 {
				t.Errorf("the foreign Job was changed or adopted: %+v, %v", job, err)
			}
		})
	}
}

func TestLongRestoreSessionName(t *testing.T) {
	long := "a-restore-session-with-a-name-long-enough-to-overflow-job-names-easily"
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Name = long
		rs.Spec.DataSource.Components = nil // pod-0, pod-1, pod-2
	})
	f.start()
	if _, err := f.syncName(long); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	jobs := f.jobs()
	if len(jobs) != 3 {
		t.Fatalf("got %d Jobs, want 3", len(jobs))
	}
	seen := map[string]bool{}
	for _, job := range jobs {
		if errs := validation.IsDNS1123Label(job.Name); len(errs) > 0 {
			t.Errorf("Job name %q: %v", job.Name, errs)
		}
		if seen[job.Name] {
			t.Errorf("duplicate Job name %q", job.Name)
		}
		seen[job.Name] = true
		if errs := validation.IsValidLabelValue(job.Labels[LabelInvokerName]); len(errs) > 0 {
			t.Errorf("invoker label %q: %v", job.Labels[LabelInvokerName], errs)
		}
	}
	sa := names.ServiceAccount(f.rsNamed(long))
	if errs := validation.IsDNS1123Label(sa); len(errs) > 0 {
		t.Errorf("service account name %q: %v", sa, errs)
	}
	// The Jobs are found again by their labels: nothing is created twice,
	// and a component finishing is seen.
	if _, err := f.syncName(long); err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(f.writes(), "create "); n != 0 {
		t.Errorf("second sync created %v", f.writes())
	}
	if owned, err := f.c.ownedJobs(f.rsNamed(long)); err != nil || len(owned) != 3 {
		t.Errorf("ownedJobs = %d, %v; want 3", len(owned), err)
	}
}

// A Deployment target with neither targetVolumes nor claim templates mounts
// no target volume, and says so to the executor.
// A Deployment has no volumes the controller can derive: without
// targetVolumes the restore would land in the restore executor's own container, so
// it fails before any Job exists, naming the field.
func TestDeploymentTargetNeedsTargetVolumes(t *testing.T) {
	f := newFixture(t)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Target = &common.TypedObjectReference{APIGroup: "apps", Kind: refs.KindDeployment, Name: testSTS}
	})
	f.kubeObjects = append(f.kubeObjects, deploymentNamed(testSTS))
	f.start().mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionFalse, corev1alpha1.ReasonFailedToEnsureRestoreExecutor,
		"spec.addon.tasks[0].targetVolumes", "Deployment")
	expectPhase(t, rs, corev1alpha1.RestoreFailed)
	expectNoJobs(t, f)
}

func TestRestoreJobsRBAC(t *testing.T) {
	f := newFixture(t).start()
	f.mustSync()
	ctx := context.Background()
	name := "restore-executor-sample-restore"
	sa, err := f.kubeClient.CoreV1().ServiceAccounts(testNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role, err := f.kubeClient.RbacV1().Roles(testNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	binding, err := f.kubeClient.RbacV1().RoleBindings(testNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range []metav1.Object{sa, role, binding} {
		if owner := metav1.GetControllerOf(obj); owner == nil || owner.UID != testRSUID {
			t.Errorf("%s is not owned by the RestoreSession: %+v", obj.GetName(), obj.GetOwnerReferences())
		}
	}
	wantRules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{testSecret}},
		{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions"}, Verbs: []string{"get"}, ResourceNames: []string{testRSName}},
		{APIGroups: []string{"core.kubestash.com"}, Resources: []string{"restoresessions/status"}, Verbs: []string{"get", "patch"}, ResourceNames: []string{testRSName}},
		{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"backupstorages"}, Verbs: []string{"get"}, ResourceNames: []string{testStorage}},
		{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"repositories"}, Verbs: []string{"get"}, ResourceNames: []string{testRepo}},
		{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"snapshots"}, Verbs: []string{"get"}, ResourceNames: []string{testSnapshot}},
	}
	if !equality.Semantic.DeepEqual(role.Rules, wantRules) {
		t.Errorf("rules =\n%+v\nwant\n%+v", role.Rules, wantRules)
	}
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: testNS}}
	if !equality.Semantic.DeepEqual(binding.Subjects, wantSubjects) || binding.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}) {
		t.Errorf("binding = %+v / %+v", binding.Subjects, binding.RoleRef)
	}
	writes := f.writes()
	if indexOf(writes, "create rolebindings") > indexOf(writes, "create jobs") {
		t.Errorf("Jobs created before their permissions: %v", writes)
	}
	if slices.Contains(f.rs().Finalizers, FinalizerRestore) {
		t.Errorf("finalizer added although nothing lies outside the namespace")
	}
}

// A Repository of another namespace whose BackupStorage allows the
// restoring namespace (the owner's consent) is restored from through a Role
// in that namespace naming exactly the objects read there.
func TestRestoreJobsRBACConsentedDataNamespace(t *testing.T) {
	f := newFixture(t)
	moveDataSource(f, testDataNS, &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromAll)}})
	f.start()
	if _, err := f.sync(); err != nil {
		t.Fatal(err)
	}
	expectCondition(t, f.rs(), corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
	writes := f.writes()
	foreignName := "restore-executor-demo-sample-restore"
	fin := indexOf(writes, "patch restoresessions demo/sample-restore")
	foreignRole := indexOf(writes, "create roles "+testDataNS+"/"+foreignName)
	if fin < 0 || foreignRole < 0 || fin > foreignRole {
		t.Errorf("want the finalizer before the Role in another namespace: %v", writes)
	}
	if indexOf(writes, "create rolebindings "+testDataNS+"/"+foreignName) < 0 {
		t.Errorf("no RoleBinding in the data namespace: %v", writes)
	}
	f.refresh()
	ctx := context.Background()
	role, err := f.kubeClient.RbacV1().Roles(testDataNS).Get(ctx, foreignName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{testSecret}},
		{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"backupstorages"}, Verbs: []string{"get"}, ResourceNames: []string{testStorage}},
		{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"repositories"}, Verbs: []string{"get"}, ResourceNames: []string{testRepo}},
		{APIGroups: []string{"storage.kubestash.com"}, Resources: []string{"snapshots"}, Verbs: []string{"get"}, ResourceNames: []string{testSnapshot}},
	}
	if !equality.Semantic.DeepEqual(role.Rules, want) || len(role.OwnerReferences) != 0 {
		t.Errorf("foreign role rules\n%+v\nwant\n%+v\nowners %+v", role.Rules, want, role.OwnerReferences)
	}
	binding, err := f.kubeClient.RbacV1().RoleBindings(testDataNS).Get(ctx, foreignName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if binding.Subjects[0].Namespace != testNS || binding.RoleRef.Name != foreignName {
		t.Errorf("foreign binding %+v", binding)
	}
	local, err := f.kubeClient.RbacV1().Roles(testNS).Get(ctx, "restore-executor-sample-restore", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range local.Rules {
		if r.Resources[0] == "secrets" {
			t.Errorf("local Role grants secrets: %+v", r)
		}
	}
	if !slices.Contains(f.rs().Finalizers, FinalizerRestore) {
		t.Errorf("no finalizer")
	}

	// The restore ends: the foreign Role and RoleBinding go, then the
	// finalizer.
	f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreSucceeded, "pod-2": corev1alpha1.RestoreSucceeded})
	f.mustSync()
	if _, err := f.kubeClient.RbacV1().Roles(testDataNS).Get(ctx, foreignName, metav1.GetOptions{}); err == nil {
		t.Errorf("foreign Role not deleted at the end")
	}
	if _, err := f.kubeClient.RbacV1().RoleBindings(testDataNS).Get(ctx, foreignName, metav1.GetOptions{}); err == nil {
		t.Errorf("foreign RoleBinding not deleted at the end")
	}
	if _, err := f.kubeClient.RbacV1().Roles(testNS).Get(ctx, "restore-executor-sample-restore", metav1.GetOptions{}); err != nil {
		t.Errorf("the owned local Role was deleted: %v", err)
	}
	f.mustSync()
	if slices.Contains(f.rs().Finalizers, FinalizerRestore) {
		t.Errorf("finalizer not removed after the end")
	}
}

// TestRestoreJobsPodSecurity: the level the namespace enforces reaches the
// restore Jobs, and a Job whose pods it would reject fails the restore
// before anything is created. (What each level means for a Job: package
// jobbuild.)
func TestRestoreJobsPodSecurity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		edit    func(*corev1alpha1.RestoreSession)
		nonRoot bool
		failed  []string
	}{
		{name: "unlabelled", nonRoot: false},
		{name: "restricted", labels: enforce("restricted"), nonRoot: true},
		{name: "baseline: a privileged container is refused", labels: enforce("baseline"),
			edit: func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}
			},
			failed: []string{`Unable to build the restore Job of component "pod-0"`, `would violate PodSecurity "baseline:latest" of namespace "demo"`, "privileged", psapi.EnforceLevelLabel}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.replaceKubeObject(newNamespace(testNS, tc.labels))
			f.replaceObject(s3BackupStorage())
			if tc.edit != nil {
				f.editRS(tc.edit)
			}
			f.start().mustSync()
			rs := f.rs()
			if tc.failed != nil {
				expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionFalse, corev1alpha1.ReasonFailedToEnsureRestoreExecutor, tc.failed...)
				expectPhase(t, rs, corev1alpha1.RestoreFailed)
				expectNoJobs(t, f)
				return
			}
			expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
			jobs := f.jobs()
			if len(jobs) != 2 {
				t.Fatalf("got %d Jobs, want 2", len(jobs))
			}
			for _, job := range jobs {
				if nonRoot := ptr.Deref(job.Spec.Template.Spec.SecurityContext.RunAsNonRoot, false); nonRoot != tc.nonRoot {
					t.Errorf("Job %s runAsNonRoot %t, want %t", job.Name, nonRoot, tc.nonRoot)
				}
			}
		})
	}
}

// TestLocalStorageForbiddenByPodSecurity: a local BackupStorage on a
// hostPath in a namespace that enforces baseline or restricted fails the
// restore before anything is created, saying why and what to do; on a PVC,
// or where Pod Security allows hostPath, it restores.
func TestLocalStorageForbiddenByPodSecurity(t *testing.T) {
	msg := func(level string) string {
		return `BackupStorage demo/local-storage is a local (hostPath) storage, which Pod Security "` + level + `" in namespace "demo" forbids: ` +
			`use an s3 BackupStorage (or a local one on a PersistentVolumeClaim) or relax the namespace's pod-security.kubernetes.io/enforce label`
	}
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		storage *storagev1alpha1.BackupStorage
		want    string // the failure message, "" for a restore that goes on
	}{
		{"hostPath, restricted", enforce("restricted"), hostPathBackupStorage(), msg("restricted")},
		{"hostPath, baseline", enforce("baseline"), hostPathBackupStorage(), msg("baseline")},
		{"hostPath, privileged", enforce("privileged"), hostPathBackupStorage(), ""},
		{"hostPath, unlabelled", nil, hostPathBackupStorage(), ""},
		{"PVC, restricted", enforce("restricted"), newBackupStorage(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.replaceKubeObject(newNamespace(testNS, tc.labels))
			f.replaceObject(tc.storage)
			f.start().mustSync()
			rs := f.rs()
			if tc.want == "" {
				expectCondition(t, rs, corev1alpha1.TypeRestoreExecutorEnsured, metav1.ConditionTrue, corev1alpha1.ReasonSuccessfullyEnsuredRestoreExecutor)
				if n := len(f.jobs()); n != 2 {
					t.Errorf("got %d Jobs, want 2", n)
				}
				return
			}
			c := condition(rs, corev1alpha1.TypeRestoreExecutorEnsured)
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != corev1alpha1.ReasonFailedToEnsureRestoreExecutor || c.Message != tc.want {
				t.Errorf("RestoreExecutorEnsured = %+v\nwant False/%s with %q", c, corev1alpha1.ReasonFailedToEnsureRestoreExecutor, tc.want)
			}
			expectPhase(t, rs, corev1alpha1.RestoreFailed)
			expectNoJobs(t, f)
			for _, w := range f.writes() {
				if strings.HasPrefix(w, "create ") && !strings.HasPrefix(w, "create events") {
					t.Errorf("created %s for a restore that cannot run", w)
				}
			}
			if ev := f.events(); !slices.Contains(ev, "Warning "+EventReasonRestoreJobsFailed+" "+tc.want) {
				t.Errorf("events = %v, want the failure as a warning", ev)
			}
		})
	}
}

// TestPodSecurityNamespaceUnreadable: without the namespace's labels no
// Job is built; the sync is retried.
func TestPodSecurityNamespaceUnreadable(t *testing.T) {
	f := newFixture(t)
	f.replaceObject(s3BackupStorage())
	f.start()
	f.kubeClient.PrependReactor("get", "namespaces", func(core.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("apiserver unavailable")
	})
	if _, err := f.sync(); err == nil || !strings.Contains(err.Error(), "reading namespace demo for its Pod Security level") {
		t.Errorf("sync error = %v, want the namespace read's", err)
	}
	f.refresh()
	expectNoJobs(t, f)
	if c := condition(f.rs(), corev1alpha1.TypeRestoreExecutorEnsured); c != nil {
		t.Errorf("RestoreExecutorEnsured set: %+v", c)
	}
}

// The storage's runtime settings reach the restore Jobs under the
// RestoreSession's: the storage's nodeSelector and service account are
// used where the RestoreSession gives none, its resources lose to the
// RestoreSession's containerRuntimeSettings.
func TestJobStorageRuntimeSettings(t *testing.T) {
	f := newFixture(t)
	bs := newBackupStorage()
	bs.Spec.RuntimeSettings = &corev1alpha1.RuntimeSettings{
		Pod: &corev1alpha1.PodRuntimeSettings{
			NodeSelector:       map[string]string{"kubernetes.io/hostname": "node-with-backups"},
			ServiceAccountName: "storage-identity",
			PodAnnotations:     map[string]string{"storage": "annotated"},
		},
		Container: &corev1alpha1.ContainerRuntimeSettings{
			Resources: memory("1Gi"),
			Env:       []corev1.EnvVar{{Name: "FROM_STORAGE", Value: "yes"}},
		},
	}
	f.replaceObject(bs)
	f.editRS(func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Addon.ContainerRuntimeSettings = &corev1alpha1.ContainerRuntimeSettings{Resources: memory("256Mi")}
	})
	f.start().mustSync()
	for _, w := range f.writes() {
		if strings.HasPrefix(w, "create serviceaccounts") {
			t.Errorf("service account created although the storage names one: %s", w)
		}
	}
	jobs := f.jobs()
	if len(jobs) == 0 {
		t.Fatal("no Jobs")
	}
	for _, job := range jobs {
		pod := job.Spec.Template
		ctr := pod.Spec.Containers[0]
		if pod.Spec.ServiceAccountName != "storage-identity" {
			t.Errorf("serviceAccountName = %q, want the storage's", pod.Spec.ServiceAccountName)
		}
		if pod.Spec.NodeSelector["kubernetes.io/hostname"] != "node-with-backups" {
			t.Errorf("nodeSelector = %v, want the storage's", pod.Spec.NodeSelector)
		}
		if pod.Annotations["storage"] != "annotated" || pod.Annotations[AnnotationComponent] == "" {
			t.Errorf("pod annotations = %v, want the storage's and the controller's", pod.Annotations)
		}
		if !equality.Semantic.DeepEqual(ctr.Resources, *memory("256Mi")) {
			t.Errorf("resources = %+v, want the RestoreSession's", ctr.Resources)
		}
		if envValue(ctr.Env, "FROM_STORAGE") != "yes" {
			t.Errorf("env lacks the storage's FROM_STORAGE: %+v", ctr.Env)
		}
	}
}

func memory(q string) *corev1.ResourceRequirements {
	return &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(q)}}
}
