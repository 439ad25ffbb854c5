package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	core "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	psapi "k8s.io/pod-security-admission/api"
	testingclock "k8s.io/utils/clock/testing"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned/fake"
	informers "github.com/restore-controller/restore/pkg/generated/informers/externalversions"
	"github.com/restore-controller/restore/pkg/refs"
)

// The sample of /work/shared/reference/restoresession.md.
const (
	testNS           = "demo"
	testRSName       = "sample-restore"
	testRSUID        = "rs-uid-1"
	testRepo         = "gcs-demo-repo"
	testStorage      = "local-storage"
	testSnapshot     = "gcs-demo-repo-sample-backup-sts-demo-session-1702543201"
	testAddon        = "workload-addon"
	testRestoreTask  = "logical-backup-restore"
	testBackupTask   = "logical-backup"
	testFunction     = "workload-restore"
	testSecret       = "encrypt-secret"
	testSTS          = "restore-sts"
	testBackendMount = "/kubestash-backend"
	testDataMount    = "/data"
)

var testStart = time.Date(2023, 12, 18, 9, 13, 35, 0, time.UTC)

var (
	gvrRestoreSessions = corev1alpha1.SchemeGroupVersion.WithResource("restoresessions")
	gvrBackupConfigs   = corev1alpha1.SchemeGroupVersion.WithResource("backupconfigurations")
	gvrJobs            = batchv1.SchemeGroupVersion.WithResource("jobs")
)

// fixture holds the fake clients, informer factories and objects of one
// test, like kubernetes/sample-controller's controller_test.go.
type fixture struct {
	t *testing.T

	client     *fake.Clientset
	kubeClient *k8sfake.Clientset
	informers  informers.SharedInformerFactory
	kubeInf    kubeinformers.SharedInformerFactory
	clock      *testingclock.FakeClock
	recorder   *record.FakeRecorder
	c          *Controller
	opts       Options

	// Objects the clients and the caches start with.
	objects     []runtime.Object
	kubeObjects []runtime.Object
}

// newFixture returns a fixture holding the sample RestoreSession and
// everything it refers to.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: testingclock.NewFakeClock(testStart)}
	f.objects = []runtime.Object{
		newRestoreSession(), newRepository(), newBackupStorage(), newSnapshot(testSnapshot, testStart.Add(-time.Hour), storagev1alpha1.SnapshotSucceeded),
		newAddon(), newFunction(),
	}
	f.kubeObjects = []runtime.Object{newNamespace(testNS, nil), newSecret(testNS, testSecret, storagev1alpha1.EncryptionKeyKopia), newStatefulSet()}
	return f
}

// start builds the clients, the informer factories and the controller, and
// fills the informers' indexers with the objects.
func (f *fixture) start() *fixture {
	f.t.Helper()
	f.client = fake.NewClientset(f.objects...)
	f.kubeClient = k8sfake.NewClientset(f.kubeObjects...)
	f.informers = informers.NewSharedInformerFactory(f.client, 0)
	f.kubeInf = kubeinformers.NewSharedInformerFactoryWithOptions(f.kubeClient, 0, kubeinformers.WithTweakListOptions(ManagedJobsSelector))
	f.recorder = record.NewFakeRecorder(1000)
	f.newController()
	f.refresh()
	return f
}

// restart replaces the controller with a new one on the same clients, as
// a restarted controller process: the old one's hook attempts are stopped
// (as its Run would at shutdown), the new one has informers of its own.
func (f *fixture) restart() {
	f.t.Helper()
	f.c.hookAttempts.stop()
	f.informers = informers.NewSharedInformerFactory(f.client, 0)
	f.kubeInf = kubeinformers.NewSharedInformerFactoryWithOptions(f.kubeClient, 0, kubeinformers.WithTweakListOptions(ManagedJobsSelector))
	f.newController()
	f.refresh()
}

// newController builds a controller on the fixture's clients and informer
// factories. Its hook attempts are stopped when the test ends.
func (f *fixture) newController() {
	f.t.Helper()
	opts := f.opts
	opts.Recorder = f.recorder
	opts.Clock = f.clock
	if opts.TargetPollInterval == 0 {
		opts.TargetPollInterval = 7 * time.Second
	}
	c, err := New(context.Background(), f.kubeClient, f.client, f.kubeInf, f.informers, opts)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	f.t.Cleanup(c.queue.ShutDown)
	f.t.Cleanup(c.hookAttempts.stop)
	f.c = c
}

// refresh copies what the fake API servers hold into the indexers, as the
// informers would between two syncs.
func (f *fixture) refresh() {
	f.t.Helper()
	ctx := context.Background()
	replace := func(inf cache.SharedIndexInformer, objs []any) {
		if err := inf.GetIndexer().Replace(objs, ""); err != nil {
			f.t.Fatalf("replacing indexer: %v", err)
		}
	}
	all := metav1.ListOptions{}
	rsl, _ := f.client.CoreV1alpha1().RestoreSessions("").List(ctx, all)
	replace(f.informers.Core().V1alpha1().RestoreSessions().Informer(), items(rsl.Items))
	htl, _ := f.client.CoreV1alpha1().HookTemplates("").List(ctx, all)
	replace(f.informers.Core().V1alpha1().HookTemplates().Informer(), items(htl.Items))
	bcl, _ := f.client.CoreV1alpha1().BackupConfigurations("").List(ctx, all)
	replace(f.informers.Core().V1alpha1().BackupConfigurations().Informer(), items(bcl.Items))
	snl, _ := f.client.StorageV1alpha1().Snapshots("").List(ctx, all)
	replace(f.informers.Storage().V1alpha1().Snapshots().Informer(), items(snl.Items))
	rpl, _ := f.client.StorageV1alpha1().Repositories("").List(ctx, all)
	replace(f.informers.Storage().V1alpha1().Repositories().Informer(), items(rpl.Items))
	bsl, _ := f.client.StorageV1alpha1().BackupStorages("").List(ctx, all)
	replace(f.informers.Storage().V1alpha1().BackupStorages().Informer(), items(bsl.Items))
	adl, _ := f.client.AddonsV1alpha1().Addons().List(ctx, all)
	replace(f.informers.Addons().V1alpha1().Addons().Informer(), items(adl.Items))
	fnl, _ := f.client.AddonsV1alpha1().Functions().List(ctx, all)
	replace(f.informers.Addons().V1alpha1().Functions().Informer(), items(fnl.Items))
	jl, _ := f.kubeClient.BatchV1().Jobs("").List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedByValue})
	replace(f.kubeInf.Batch().V1().Jobs().Informer(), items(jl.Items))
}

func items[T any](list []T) []any {
	out := make([]any, 0, len(list))
	for i := range list {
		out = append(out, &list[i])
	}
	return out
}

// sync runs the sync handler on the sample RestoreSession after clearing the
// recorded actions, so f.actions() shows this sync's actions only.
func (f *fixture) sync() (syncResult, error) {
	return f.syncName(testRSName)
}

func (f *fixture) syncName(name string) (syncResult, error) {
	f.client.ClearActions()
	f.kubeClient.ClearActions()
	return f.c.syncHandler(context.Background(), cache.ObjectName{Namespace: testNS, Name: name})
}

// mustSync syncs, expects no error, and refreshes the caches.
func (f *fixture) mustSync() syncResult {
	f.t.Helper()
	res, err := f.sync()
	if err != nil {
		f.t.Fatalf("syncHandler: %v", err)
	}
	f.refresh()
	return res
}

// rs is the sample RestoreSession as the API server holds it.
func (f *fixture) rs() *corev1alpha1.RestoreSession {
	return f.rsNamed(testRSName)
}

func (f *fixture) rsNamed(name string) *corev1alpha1.RestoreSession {
	f.t.Helper()
	obj, err := f.client.Tracker().Get(gvrRestoreSessions, testNS, name)
	if err != nil {
		f.t.Fatalf("getting RestoreSession: %v", err)
	}
	return obj.(*corev1alpha1.RestoreSession)
}

// updateRS changes the RestoreSession in the API and the cache, as an
// restore executor or a user would.
func (f *fixture) updateRS(mutate func(rs *corev1alpha1.RestoreSession)) {
	f.t.Helper()
	rs := f.rs().DeepCopy()
	mutate(rs)
	if err := f.client.Tracker().Update(gvrRestoreSessions, rs, testNS); err != nil {
		f.t.Fatalf("updating RestoreSession: %v", err)
	}
	f.refresh()
}

// setComponents records component phases as the restore executors would.
func (f *fixture) setComponents(phases map[string]corev1alpha1.RestorePhase) {
	f.updateRS(func(rs *corev1alpha1.RestoreSession) {
		if rs.Status.Components == nil {
			rs.Status.Components = map[string]corev1alpha1.ComponentRestoreStatus{}
		}
		for comp, p := range phases {
			c := corev1alpha1.ComponentRestoreStatus{Phase: p, Duration: "5s"}
			if p == corev1alpha1.RestoreFailed {
				c.Error = "kopia: boom"
			}
			rs.Status.Components[comp] = c
		}
	})
}

// setJobCondition finishes a Job in the API and the cache.
func (f *fixture) setJobCondition(name string, condType batchv1.JobConditionType, reason, message string) {
	f.t.Helper()
	job, err := f.kubeClient.BatchV1().Jobs(testNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("getting Job %s: %v", name, err)
	}
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{Type: condType, Status: corev1.ConditionTrue, Reason: reason, Message: message})
	if err := f.kubeClient.Tracker().Update(gvrJobs, job, testNS); err != nil {
		f.t.Fatalf("updating Job: %v", err)
	}
	f.refresh()
}

func (f *fixture) jobs() []batchv1.Job {
	f.t.Helper()
	list, err := f.kubeClient.Tracker().List(gvrJobs, batchv1.SchemeGroupVersion.WithKind("Job"), testNS)
	if err != nil {
		f.t.Fatal(err)
	}
	jl := list.(*batchv1.JobList)
	slices.SortFunc(jl.Items, func(a, b batchv1.Job) int { return strings.Compare(a.Name, b.Name) })
	return jl.Items
}

func (f *fixture) bc(name string) *corev1alpha1.BackupConfiguration {
	f.t.Helper()
	obj, err := f.client.Tracker().Get(gvrBackupConfigs, testNS, name)
	if err != nil {
		f.t.Fatalf("getting BackupConfiguration %s: %v", name, err)
	}
	return obj.(*corev1alpha1.BackupConfiguration)
}

// events drains the events recorded so far.
func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// actionsOf lists "verb resource[/subresource] [namespace/]name" of the
// recorded actions of both clients that are not reads.
func (f *fixture) writes() []string {
	var out []string
	for _, a := range append(f.client.Actions(), f.kubeClient.Actions()...) {
		if a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch" {
			continue
		}
		out = append(out, describeAction(a))
	}
	return out
}

func describeAction(a core.Action) string {
	res := a.GetResource().Resource
	if a.GetSubresource() != "" {
		res += "/" + a.GetSubresource()
	}
	name := ""
	switch act := a.(type) {
	case core.CreateAction:
		if m, err := meta.Accessor(act.GetObject()); err == nil {
			name = m.GetName()
		}
	case core.UpdateAction:
		if m, err := meta.Accessor(act.GetObject()); err == nil {
			name = m.GetName()
		}
	case core.PatchAction:
		name = act.GetName()
	case core.DeleteAction:
		name = act.GetName()
	}
	ns := a.GetNamespace()
	if ns != "" {
		name = ns + "/" + name
	}
	return a.GetVerb() + " " + res + " " + name
}

// indexOf is the position of the first action starting with prefix, or -1.
func indexOf(actions []string, prefix string) int {
	return slices.IndexFunc(actions, func(a string) bool { return strings.HasPrefix(a, prefix) })
}

func countPrefix(actions []string, prefix string) int {
	n := 0
	for _, a := range actions {
		if strings.HasPrefix(a, prefix) {
			n++
		}
	}
	return n
}

func hasEvent(events []string, prefix string) bool {
	return slices.ContainsFunc(events, func(e string) bool { return strings.HasPrefix(e, prefix) })
}

func condition(rs *corev1alpha1.RestoreSession, condType string) *metav1.Condition {
	return meta.FindStatusCondition(rs.Status.Conditions, condType)
}

// expectCondition fails unless the condition has the status and reason and
// its message contains every fragment.
func expectCondition(t *testing.T, rs *corev1alpha1.RestoreSession, condType string, st metav1.ConditionStatus, reason string, fragments ...string) {
	t.Helper()
	c := condition(rs, condType)
	if c == nil {
		t.Fatalf("condition %s missing; conditions: %+v", condType, rs.Status.Conditions)
	}
	if c.Status != st || (reason != "" && c.Reason != reason) {
		t.Errorf("condition %s = %s/%s (%q), want %s/%s", condType, c.Status, c.Reason, c.Message, st, reason)
	}
	for _, frag := range fragments {
		if !strings.Contains(c.Message, frag) {
			t.Errorf("condition %s message %q does not contain %q", condType, c.Message, frag)
		}
	}
}

func expectPhase(t *testing.T, rs *corev1alpha1.RestoreSession, want corev1alpha1.RestorePhase) {
	t.Helper()
	if rs.Status.Phase != want {
		t.Errorf("phase = %q, want %q; conditions: %+v", rs.Status.Phase, want, rs.Status.Conditions)
	}
}

func expectNoJobs(t *testing.T, f *fixture) {
	t.Helper()
	if jobs := f.jobs(); len(jobs) != 0 {
		t.Errorf("got %d Jobs, want none", len(jobs))
	}
}

// ---- objects ----

func newRestoreSession() *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{
		TypeMeta: metav1.TypeMeta{APIVersion: corev1alpha1.SchemeGroupVersion.String(), Kind: "RestoreSession"},
		ObjectMeta: metav1.ObjectMeta{
			Name: testRSName, Namespace: testNS, UID: testRSUID, Generation: 1, ResourceVersion: "1",
			CreationTimestamp: metav1.NewTime(testStart.Add(-time.Minute)),
		},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{APIGroup: "apps", Kind: refs.KindStatefulSet, Name: testSTS, Namespace: testNS},
			DataSource: corev1alpha1.RestoreDataSource{
				Repository:       testRepo,
				Snapshot:         corev1alpha1.SnapshotLatest,
				Components:       []string{"pod-0", "pod-2"},
				EncryptionSecret: &common.ObjectReference{Name: testSecret, Namespace: testNS},
			},
			Addon: corev1alpha1.AddonInfo{Name: testAddon, Tasks: []corev1alpha1.TaskReference{{Name: testRestoreTask}}},
		},
	}
}

func newRepository() *storagev1alpha1.Repository {
	return &storagev1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: testRepo, Namespace: testNS},
		Spec: storagev1alpha1.RepositorySpec{
			StorageRef: common.ObjectReference{Name: testStorage, Namespace: testNS},
			Path:       "/demo/sts",
		},
	}
}

func newBackupStorage() *storagev1alpha1.BackupStorage {
	return &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: testStorage, Namespace: testNS},
		Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderLocal,
			Local: &storagev1alpha1.LocalSpec{
				VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "backend-pvc"}},
				MountPath:    testBackendMount,
			},
		}},
	}
}

func newSnapshot(name string, at time.Time, phase storagev1alpha1.SnapshotPhase) *storagev1alpha1.Snapshot {
	comp := func(id string) storagev1alpha1.Component {
		return storagev1alpha1.Component{Driver: storagev1alpha1.DriverKopia, Phase: storagev1alpha1.SnapshotSucceeded,
			KopiaStats: []storagev1alpha1.KopiaStats{{SnapshotID: id, HostPath: testDataMount}}}
	}
	return &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{storagev1alpha1.LabelRepoName: testRepo}},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: testRepo},
		Status: storagev1alpha1.SnapshotStatus{
			Phase: phase, SnapshotTime: &metav1.Time{Time: at}, TotalComponents: 3,
			Components: map[string]storagev1alpha1.Component{"pod-0": comp("k0"), "pod-1": comp("k1"), "pod-2": comp("k2")},
		},
	}
}

func newAddon() *addonsv1alpha1.Addon {
	return &addonsv1alpha1.Addon{
		ObjectMeta: metav1.ObjectMeta{Name: testAddon},
		Spec: addonsv1alpha1.AddonSpec{
			BackupTasks: []addonsv1alpha1.Task{{Name: testBackupTask, Function: "workload-backup"}},
			RestoreTasks: []addonsv1alpha1.Task{{
				Name: testRestoreTask, Function: testFunction, Executor: addonsv1alpha1.ExecutorJob,
				Parameters: []common.ParameterDefinition{
					{Name: "parallel", Default: "4"},
					{Name: "include"},
				},
			}},
		},
	}
}

func newFunction() *addonsv1alpha1.Function {
	return &addonsv1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: testFunction},
		Spec: addonsv1alpha1.FunctionSpec{
			Image: "ghcr.io/restore-controller/executor:v1",
			Args: []string{"restore", "--namespace=${namespace}", "--restoresession=${restoreSession}",
				"--snapshot=${snapshotName}", "--component=${component}", "--parallel=${parallel}", "--include=${include:=}"},
		},
	}
}

func newNamespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func newSecret(ns, name, key string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{}}
	if key != "" {
		s.Data[key] = []byte("s3cr3t")
	}
	return s
}

func newStatefulSet() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: testSTS, Namespace: testNS},
		Spec: appsv1.StatefulSetSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Image: "busybox",
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: testDataMount}, {Name: "config", MountPath: "/etc/app"}},
			}}}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
}

func newBackupConfiguration(name string, target *common.TypedObjectReference, paused bool, annotations map[string]string) *corev1alpha1.BackupConfiguration {
	return &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Annotations: annotations},
		Spec:       corev1alpha1.BackupConfigurationSpec{Target: target, Paused: paused},
	}
}

func stsTarget(name string) *common.TypedObjectReference {
	return &common.TypedObjectReference{APIGroup: "apps", Kind: refs.KindStatefulSet, Name: name, Namespace: testNS}
}

// replaceObject swaps the fixture's object of the same type and name
// (before start).
func (f *fixture) replaceObject(obj runtime.Object) {
	m, _ := meta.Accessor(obj)
	for i, o := range f.objects {
		om, _ := meta.Accessor(o)
		if fmt.Sprintf("%T", o) == fmt.Sprintf("%T", obj) && om.GetName() == m.GetName() && om.GetNamespace() == m.GetNamespace() {
			f.objects[i] = obj
			return
		}
	}
	f.objects = append(f.objects, obj)
}

// removeObject drops the fixture's objects of obj's type and name.
func (f *fixture) removeObject(obj runtime.Object) {
	m, _ := meta.Accessor(obj)
	drop := func(list []runtime.Object) []runtime.Object {
		return slices.DeleteFunc(list, func(o runtime.Object) bool {
			om, _ := meta.Accessor(o)
			return fmt.Sprintf("%T", o) == fmt.Sprintf("%T", obj) && om.GetName() == m.GetName() && om.GetNamespace() == m.GetNamespace()
		})
	}
	f.objects = drop(f.objects)
	f.kubeObjects = drop(f.kubeObjects)
}

func (f *fixture) replaceKubeObject(obj runtime.Object) {
	f.removeObject(obj)
	f.kubeObjects = append(f.kubeObjects, obj)
}

// editRS changes the fixture's RestoreSession before start.
func (f *fixture) editRS(mutate func(rs *corev1alpha1.RestoreSession)) {
	for _, o := range f.objects {
		if rs, ok := o.(*corev1alpha1.RestoreSession); ok && rs.Name == testRSName {
			mutate(rs)
		}
	}
}

// failingPusher is a MetricsPusher that always fails.
type failingPusher struct{ pushed int }

func (p *failingPusher) Push(context.Context, *corev1alpha1.RestoreSession) error {
	p.pushed++
	return errors.New("pushgateway unreachable")
}

// recordingPusher records the phase of the RestoreSessions it pushes.
type recordingPusher struct{ phases []corev1alpha1.RestorePhase }

func (p *recordingPusher) Push(_ context.Context, rs *corev1alpha1.RestoreSession) error {
	p.phases = append(p.phases, rs.Status.Phase)
	return nil
}

func deploymentNamed(name string) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS}}
}

func enforce(level string) map[string]string {
	return map[string]string{psapi.EnforceLevelLabel: level}
}

func s3BackupStorage() *storagev1alpha1.BackupStorage {
	return &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: testStorage, Namespace: testNS},
		Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderS3,
			S3:       &storagev1alpha1.S3Spec{Endpoint: "http://s3.example:7070", Bucket: "backups"},
		}},
	}
}

func hostPathBackupStorage() *storagev1alpha1.BackupStorage {
	bs := newBackupStorage()
	bs.Spec.Storage.Local.VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/backups"}}
	return bs
}
