package refs

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

// world is a Lookup over objects kept in maps by "namespace/name".
type world struct {
	repositories map[string]*storagev1alpha1.Repository
	snapshots    map[string]*storagev1alpha1.Snapshot
	storages     map[string]*storagev1alpha1.BackupStorage
	templates    map[string]*corev1alpha1.HookTemplate
	namespaces   map[string]*corev1.Namespace
	// namespaceReads counts Namespace lookups: only Selector policies
	// need them.
	namespaceReads int
}

func get[T any](m map[string]*T, resource, namespace, name string) (*T, error) {
	if o, ok := m[namespace+"/"+name]; ok {
		return o, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}

func (w *world) Repository(_ context.Context, ns, name string) (*storagev1alpha1.Repository, error) {
	return get(w.repositories, "repositories", ns, name)
}
func (w *world) Snapshot(_ context.Context, ns, name string) (*storagev1alpha1.Snapshot, error) {
	return get(w.snapshots, "snapshots", ns, name)
}
func (w *world) Snapshots(_ context.Context, ns string, sel labels.Selector) ([]*storagev1alpha1.Snapshot, error) {
	var out []*storagev1alpha1.Snapshot
	for _, s := range w.snapshots {
		if s.Namespace == ns && sel.Matches(labels.Set(s.Labels)) {
			out = append(out, s)
		}
	}
	return out, nil
}
func (w *world) BackupStorage(_ context.Context, ns, name string) (*storagev1alpha1.BackupStorage, error) {
	return get(w.storages, "backupstorages", ns, name)
}
func (w *world) HookTemplate(_ context.Context, ns, name string) (*corev1alpha1.HookTemplate, error) {
	return get(w.templates, "hooktemplates", ns, name)
}
func (w *world) Namespace(_ context.Context, name string) (*corev1.Namespace, error) {
	w.namespaceReads++
	return get(w.namespaces, "namespaces", "", name)
}

var (
	all      = &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromAll)}}
	same     = &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromSame)}}
	selector = func(team string) *common.UsagePolicy {
		return &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{
			From:     ptr.To(common.NamespacesFromSelector),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": team}},
		}}
	}
)

// newWorld: Repository "repo" in prod on BackupStorage prod/store (policy
// storePolicy) with encryption Secret prod/enc, S3 credentials prod/s3-creds,
// two Succeeded Snapshots of it, namespaces prod, staging (team=qa) and
// tenant (no labels).
func newWorld(storePolicy *common.UsagePolicy) *world {
	snap := func(name string, at time.Time) *storagev1alpha1.Snapshot {
		return &storagev1alpha1.Snapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name, Labels: map[string]string{storagev1alpha1.LabelRepoName: "repo"}},
			Spec:       storagev1alpha1.SnapshotSpec{Repository: "repo"},
			Status:     storagev1alpha1.SnapshotStatus{Phase: storagev1alpha1.SnapshotSucceeded, SnapshotTime: &metav1.Time{Time: at}},
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &world{
		repositories: map[string]*storagev1alpha1.Repository{"prod/repo": {
			ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "repo"},
			Spec: storagev1alpha1.RepositorySpec{
				StorageRef:       common.ObjectReference{Name: "store"},
				EncryptionSecret: &common.ObjectReference{Name: "enc"},
			},
		}},
		snapshots: map[string]*storagev1alpha1.Snapshot{"prod/old": snap("old", t0), "prod/new": snap("new", t0.Add(time.Hour))},
		storages: map[string]*storagev1alpha1.BackupStorage{"prod/store": {
			ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "store"},
			Spec: storagev1alpha1.BackupStorageSpec{
				Storage:     storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{Bucket: "b", SecretName: "s3-creds"}},
				UsagePolicy: storePolicy,
			},
		}},
		templates: map[string]*corev1alpha1.HookTemplate{
			"prod/private": {ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "private"}},
			"prod/shared":  {ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "shared"}, Spec: corev1alpha1.HookTemplateSpec{UsagePolicy: all}},
			"prod/qa-only": {ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "qa-only"}, Spec: corev1alpha1.HookTemplateSpec{UsagePolicy: selector("qa")}},
		},
		namespaces: map[string]*corev1.Namespace{
			"/prod":    {ObjectMeta: metav1.ObjectMeta{Name: "prod"}},
			"/staging": {ObjectMeta: metav1.ObjectMeta{Name: "staging", Labels: map[string]string{"team": "qa"}}},
			"/tenant":  {ObjectMeta: metav1.ObjectMeta{Name: "tenant"}},
		},
	}
}

// restoreFrom is a RestoreSession in namespace ns restoring prod/repo's
// snapshot.
func restoreFrom(ns, snapshot string, edit ...func(*corev1alpha1.RestoreSession)) *corev1alpha1.RestoreSession {
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "r"},
		Spec: corev1alpha1.RestoreSessionSpec{DataSource: corev1alpha1.RestoreDataSource{
			Namespace: "prod", Repository: "repo", Snapshot: snapshot,
		}},
	}
	for _, e := range edit {
		e(rs)
	}
	return rs
}

func TestResolve(t *testing.T) {
	prodSecret := &Ref{"prod", "enc"}
	s3Secret := &Ref{"prod", "s3-creds"}
	for _, tc := range []struct {
		name   string
		policy *common.UsagePolicy
		rs     *corev1alpha1.RestoreSession
		pinned string
		// wantErrs are fragments of the error list; none: no errors.
		wantErrs                 []string
		wantSnapshot             string
		wantStorage              bool
		wantEncryption, wantS3   *Ref
		wantNamespaceReadsAtMost int
	}{{
		name: "own namespace needs no consent", policy: nil,
		rs:           restoreFrom("prod", "old"),
		wantSnapshot: "old", wantStorage: true, wantEncryption: prodSecret, wantS3: s3Secret,
	}, {
		name: "latest resolves to the newest Succeeded Snapshot", policy: nil,
		rs:           restoreFrom("prod", corev1alpha1.SnapshotLatest),
		wantSnapshot: "new", wantStorage: true, wantEncryption: prodSecret, wantS3: s3Secret,
	}, {
		name: "a pinned Snapshot wins over latest", policy: nil,
		rs: restoreFrom("prod", corev1alpha1.SnapshotLatest), pinned: "old",
		wantSnapshot: "old", wantStorage: true, wantEncryption: prodSecret, wantS3: s3Secret,
	}, {
		name: "another namespace, no usagePolicy (Same)", policy: nil,
		rs:           restoreFrom("tenant", "old"),
		wantErrs:     []string{"spec.dataSource.repository: Forbidden", `does not allow the RestoreSession's namespace "tenant"`, "i.e. Same"},
		wantSnapshot: "old",
	}, {
		name: "another namespace, policy Same", policy: same,
		rs:           restoreFrom("tenant", "old"),
		wantErrs:     []string{"spec.dataSource.repository: Forbidden", "allowedNamespaces.from: Same"},
		wantSnapshot: "old",
	}, {
		name: "another namespace, policy All", policy: all,
		rs:           restoreFrom("tenant", "old"),
		wantSnapshot: "old", wantStorage: true, wantEncryption: prodSecret, wantS3: s3Secret,
	}, {
		name: "another namespace, selector matching", policy: selector("qa"),
		rs:           restoreFrom("staging", "old"),
		wantSnapshot: "old", wantStorage: true, wantEncryption: prodSecret, wantS3: s3Secret, wantNamespaceReadsAtMost: 1,
	}, {
		name: "another namespace, selector not matching", policy: selector("qa"),
		rs:           restoreFrom("tenant", "old"),
		wantErrs:     []string{"spec.dataSource.repository: Forbidden", "allowedNamespaces.from: Selector"},
		wantSnapshot: "old", wantNamespaceReadsAtMost: 1,
	}, {
		name: "the Repository's own Secret named explicitly, with consent", policy: all,
		rs: restoreFrom("tenant", "old", func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.DataSource.EncryptionSecret = &common.ObjectReference{Namespace: "prod", Name: "enc"}
		}),
		wantSnapshot: "old", wantStorage: true, wantEncryption: prodSecret, wantS3: s3Secret,
	}, {
		name: "another Secret of the data namespace", policy: all,
		rs: restoreFrom("tenant", "old", func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.DataSource.EncryptionSecret = &common.ObjectReference{Namespace: "prod", Name: "db-root"}
		}),
		wantErrs:     []string{"spec.dataSource.encryptionSecret: Forbidden", "Secret prod/db-root"},
		wantSnapshot: "old", wantStorage: true, wantS3: s3Secret,
	}, {
		name: "a Secret of kube-system", policy: all,
		rs: restoreFrom("tenant", "old", func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.DataSource.EncryptionSecret = &common.ObjectReference{Namespace: "kube-system", Name: "x"}
		}),
		wantErrs:     []string{"spec.dataSource.encryptionSecret: Forbidden", "Secret kube-system/x"},
		wantSnapshot: "old", wantStorage: true, wantS3: s3Secret,
	}, {
		name: "the RestoreSession's own Secret", policy: all,
		rs: restoreFrom("tenant", "old", func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.DataSource.EncryptionSecret = &common.ObjectReference{Name: "mine"}
		}),
		wantSnapshot: "old", wantStorage: true, wantEncryption: &Ref{"tenant", "mine"}, wantS3: s3Secret,
	}, {
		name: "the Repository's Secret without consent", policy: nil,
		rs:           restoreFrom("tenant", "old"),
		wantErrs:     []string{"spec.dataSource.repository: Forbidden"},
		wantSnapshot: "old",
	}, {
		name: "missing Repository", policy: all,
		rs: restoreFrom("tenant", "old", func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Repository = "gone" }),
		// The Snapshot belongs to "repo": that mismatch is the
		// controller's content check, not a reference problem.
		wantErrs:     []string{"spec.dataSource.repository: Invalid value: \"gone\": Repository prod/gone not found"},
		wantSnapshot: "old",
	}, {
		name: "missing Snapshot", policy: all,
		rs:          restoreFrom("tenant", "nope"),
		wantErrs:    []string{"spec.dataSource.snapshot: Invalid value: \"nope\": Snapshot prod/nope not found"},
		wantStorage: true, wantEncryption: prodSecret, wantS3: s3Secret,
	}, {
		name: "Repository through the Snapshot", policy: nil,
		rs:           restoreFrom("prod", "old", func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Repository = "" }),
		wantSnapshot: "old", wantStorage: true, wantEncryption: prodSecret, wantS3: s3Secret,
	}, {
		// A volume snapshot restore reads no repository data: no Secret
		// is resolved, so none is required, checked or granted.
		name: "a volume snapshot restore gets no Secret", policy: nil,
		rs:           restoreFrom("prod", "old", volumeSnapshotTask(invocation.TaskVolumeSnapshotRestore)),
		wantSnapshot: "old", wantStorage: true,
	}, {
		name: "a volume snapshot restore (docs' alias) needs no encryption Secret anywhere", policy: nil,
		rs: restoreFrom("prod", "old", volumeSnapshotTask(invocation.TaskVolumeSnapshotRestoreAlias), func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.DataSource.Repository = "bare" // names no encryption Secret
		}),
		wantSnapshot: "old", wantStorage: true,
	}, {
		name: "a volume snapshot restore naming a forbidden Secret reads none", policy: all,
		rs: restoreFrom("tenant", "old", volumeSnapshotTask(invocation.TaskVolumeSnapshotRestore), func(rs *corev1alpha1.RestoreSession) {
			rs.Spec.DataSource.EncryptionSecret = &common.ObjectReference{Namespace: "kube-system", Name: "x"}
		}),
		wantSnapshot: "old", wantStorage: true,
	}, {
		name: "a volume snapshot restore still needs the storage's consent", policy: nil,
		rs:           restoreFrom("tenant", "old", volumeSnapshotTask(invocation.TaskVolumeSnapshotRestore)),
		wantErrs:     []string{"spec.dataSource.repository: Forbidden"},
		wantSnapshot: "old",
	}, {
		name: "a data restore without an encryption Secret is refused", policy: nil,
		rs:           restoreFrom("prod", "old", func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Repository = "bare" }),
		wantErrs:     []string{"spec.dataSource.encryptionSecret: Required", "neither the RestoreSession nor Repository prod/bare names an encryption Secret"},
		wantSnapshot: "old", wantStorage: true, wantS3: s3Secret,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(tc.policy)
			w.repositories["prod/bare"] = &storagev1alpha1.Repository{
				ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "bare"},
				Spec:       storagev1alpha1.RepositorySpec{StorageRef: common.ObjectReference{Name: "store"}},
			}
			res, err := Resolver{w}.Resolve(context.Background(), tc.rs, tc.pinned)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Errors.ToAggregate()
			switch {
			case len(tc.wantErrs) == 0 && got != nil:
				t.Errorf("errors: %v", got)
			case len(tc.wantErrs) > 0 && got == nil:
				t.Errorf("no errors, want %q", tc.wantErrs)
			case got != nil:
				for _, frag := range tc.wantErrs {
					if !strings.Contains(got.Error(), frag) {
						t.Errorf("errors %q lack %q", got, frag)
					}
				}
			}
			if name := snapshotName(res); name != tc.wantSnapshot {
				t.Errorf("snapshot %q, want %q", name, tc.wantSnapshot)
			}
			if (res.Storage != nil) != tc.wantStorage {
				t.Errorf("storage resolved: %v, want %v", res.Storage != nil, tc.wantStorage)
			}
			if !sameRef(res.EncryptionSecret, tc.wantEncryption) {
				t.Errorf("encryption Secret %v, want %v", res.EncryptionSecret, tc.wantEncryption)
			}
			if !sameRef(res.StorageSecret, tc.wantS3) {
				t.Errorf("storage Secret %v, want %v", res.StorageSecret, tc.wantS3)
			}
			if w.namespaceReads > tc.wantNamespaceReadsAtMost {
				t.Errorf("%d Namespace reads, want at most %d", w.namespaceReads, tc.wantNamespaceReadsAtMost)
			}
		})
	}
}

// volumeSnapshotTask makes the RestoreSession's one task the volume
// snapshot restore task named task.
func volumeSnapshotTask(task string) func(*corev1alpha1.RestoreSession) {
	return func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Addon = corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: task}}}
	}
}

func snapshotName(res *Resolution) string {
	if res.Snapshot == nil {
		return ""
	}
	return res.Snapshot.Name
}

func sameRef(a, b *Ref) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// A tenant's own Repository cannot point the executor at another
// namespace's Secret: the Repository's owner is the tenant.
func TestResolveRepositoryPointingElsewhere(t *testing.T) {
	w := newWorld(nil)
	w.repositories["tenant/mine"] = &storagev1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tenant", Name: "mine"},
		Spec: storagev1alpha1.RepositorySpec{
			StorageRef:       common.ObjectReference{Namespace: "prod", Name: "store"},
			EncryptionSecret: &common.ObjectReference{Namespace: "kube-system", Name: "x"},
		},
	}
	w.storages["prod/store"].Spec.UsagePolicy = all
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tenant", Name: "r"},
		Spec:       corev1alpha1.RestoreSessionSpec{DataSource: corev1alpha1.RestoreDataSource{Repository: "mine", Snapshot: "s"}},
	}
	res, err := Resolver{w}.Resolve(context.Background(), rs, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.EncryptionSecret != nil {
		t.Errorf("the executor may read %v", res.EncryptionSecret)
	}
	if agg := res.Errors.ToAggregate(); agg == nil || !strings.Contains(agg.Error(), "spec.dataSource.encryptionSecret: Forbidden: Secret kube-system/x") {
		t.Errorf("errors %v", agg)
	}
	// The BackupStorage of another namespace allows the tenant (All):
	// its credentials are readable.
	if !sameRef(res.StorageSecret, &Ref{"prod", "s3-creds"}) {
		t.Errorf("storage Secret %v", res.StorageSecret)
	}
}

// KubeStash's rule holds as well: the BackupStorage must allow the
// Repository's own namespace.
func TestResolveStorageRefusesRepositoryNamespace(t *testing.T) {
	w := newWorld(nil)
	w.repositories["prod/repo"].Spec.StorageRef = common.ObjectReference{Namespace: "infra", Name: "store"}
	bs := w.storages["prod/store"]
	bs.Namespace = "infra"
	w.storages = map[string]*storagev1alpha1.BackupStorage{"infra/store": bs}
	res, err := Resolver{w}.Resolve(context.Background(), restoreFrom("prod", "old"), "")
	if err != nil {
		t.Fatal(err)
	}
	if agg := res.Errors.ToAggregate(); agg == nil || !strings.Contains(agg.Error(), `the usagePolicy of BackupStorage infra/store does not allow namespace "prod"`) {
		t.Errorf("errors %v", agg)
	}
	// The encryption Secret is the RestoreSession's own namespace's, but
	// the storage and its credentials are refused.
	if res.Storage != nil || res.StorageSecret != nil {
		t.Errorf("refused storage resolved: %v %v", res.Storage != nil, res.StorageSecret)
	}
}

func TestStorageSecret(t *testing.T) {
	for _, tc := range []struct {
		name    string
		storage storagev1alpha1.Backend
		want    *Ref
	}{
		{name: "local has none", storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderLocal, Local: &storagev1alpha1.LocalSpec{MountPath: "/kopia"}}},
		{name: "s3", storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{SecretName: "s3-creds"}},
			want: &Ref{"infra", "s3-creds"}},
		{name: "s3 without secretName", storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{}}},
		{name: "gcs", storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderGCS, GCS: &storagev1alpha1.GCSSpec{SecretName: "gcs-secret"}},
			want: &Ref{"infra", "gcs-secret"}},
		{name: "gcs without secretName: application-default credentials", storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderGCS, GCS: &storagev1alpha1.GCSSpec{Bucket: "b"}}},
		{name: "azure", storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderAzure, Azure: &storagev1alpha1.AzureSpec{SecretName: "azure-secret"}},
			want: &Ref{"infra", "azure-secret"}},
		{name: "azure without secretName: workload identity", storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderAzure, Azure: &storagev1alpha1.AzureSpec{}}},
		{name: "the provider's block, not another one", storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderAzure,
			S3: &storagev1alpha1.S3Spec{SecretName: "s3-creds"}, Azure: &storagev1alpha1.AzureSpec{SecretName: "azure-secret"}},
			want: &Ref{"infra", "azure-secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := &storagev1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "store"}, Spec: storagev1alpha1.BackupStorageSpec{Storage: tc.storage}}
			ref, ok := StorageSecret(bs)
			var got *Ref
			if ok {
				got = &ref
			}
			if !sameRef(got, tc.want) {
				t.Errorf("StorageSecret() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHookTemplate(t *testing.T) {
	for _, tc := range []struct {
		rsNamespace, template string
		wantRefusal           string
		wantNotFound          bool
	}{
		{rsNamespace: "prod", template: "private"},
		{rsNamespace: "tenant", template: "private", wantRefusal: `the usagePolicy of HookTemplate prod/private (allowedNamespaces.from unset, i.e. Same) does not allow namespace "tenant"`},
		{rsNamespace: "tenant", template: "shared"},
		{rsNamespace: "staging", template: "qa-only"},
		{rsNamespace: "tenant", template: "qa-only", wantRefusal: "allowedNamespaces.from: Selector"},
		{rsNamespace: "tenant", template: "gone", wantNotFound: true},
	} {
		t.Run(tc.rsNamespace+"/"+tc.template, func(t *testing.T) {
			rs := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Namespace: tc.rsNamespace, Name: "r"}}
			hook := corev1alpha1.HookInfo{HookTemplate: common.ObjectReference{Namespace: "prod", Name: tc.template}}
			tmpl, refusal, err := Resolver{newWorld(nil)}.HookTemplate(context.Background(), rs, hook)
			if tc.wantNotFound {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("err %v, want NotFound", err)
				}
				return
			}
			if err != nil || tmpl == nil {
				t.Fatalf("template %v, err %v", tmpl, err)
			}
			if (refusal == "") != (tc.wantRefusal == "") || !strings.Contains(refusal, tc.wantRefusal) {
				t.Errorf("refusal %q, want %q", refusal, tc.wantRefusal)
			}
		})
	}
}

func TestUsagePolicyAllows(t *testing.T) {
	badSelector := &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{
		From:     ptr.To(common.NamespacesFromSelector),
		Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Bogus"}}},
	}}
	for _, tc := range []struct {
		name   string
		policy *common.UsagePolicy
		owner  string
		ns     string
		labels labels.Set
		want   bool
	}{
		{"same namespace, no policy", nil, "a", "a", nil, true},
		{"same namespace, Same", same, "a", "a", nil, true},
		{"other namespace, no policy", nil, "a", "b", nil, false},
		{"other namespace, no from", &common.UsagePolicy{}, "a", "b", nil, false},
		{"other namespace, Same", same, "a", "b", nil, false},
		{"other namespace, All", all, "a", "b", nil, true},
		{"Selector matching", selector("qa"), "a", "b", labels.Set{"team": "qa"}, true},
		{"Selector not matching", selector("qa"), "a", "b", labels.Set{"team": "dev"}, false},
		{"Selector without labels", selector("qa"), "a", "b", nil, false},
		{"Selector missing", &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.NamespacesFromSelector)}}, "a", "b", labels.Set{"team": "qa"}, false},
		{"Selector malformed", badSelector, "a", "b", labels.Set{"team": "qa"}, false},
		{"unknown from", &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr.To(common.FromNamespaces("Any"))}}, "a", "b", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := usagePolicyAllows(tc.policy, tc.owner, tc.ns, tc.labels); got != tc.want {
				t.Errorf("usagePolicyAllows = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckRestoreNamespace(t *testing.T) {
	ns := func(annotation string) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "target"}}
		if annotation != "" {
			n.Annotations = map[string]string{AnnotationAcceptManifestRestoresFrom: annotation}
		}
		return n
	}
	for _, tc := range []struct {
		from, annotation string
		allowed          bool
	}{
		{"target", "", true},
		{"tenant", "", false},
		{"tenant", "other", false},
		{"tenant", "tenant", true},
		{"tenant", " other , tenant ", true},
		{"tenant", "tenants", false},
		{"tenant", "*", true},
		{"tenant", ",", false},
	} {
		t.Run(tc.from+" "+tc.annotation, func(t *testing.T) {
			err := CheckRestoreNamespace(tc.from, ns(tc.annotation))
			if (err == nil) != tc.allowed {
				t.Fatalf("err %v, allowed want %v", err, tc.allowed)
			}
			if err != nil && !strings.Contains(err.Error(), AnnotationAcceptManifestRestoresFrom) {
				t.Errorf("the refusal does not say what to do: %v", err)
			}
		})
	}
}

func TestReferenceDefaults(t *testing.T) {
	rs := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant"}}
	if got := DataNamespace(rs); got != "tenant" {
		t.Errorf("DataNamespace = %q", got)
	}
	if got := TargetNamespace(rs); got != "tenant" {
		t.Errorf("TargetNamespace = %q", got)
	}
	if got := HookTemplate(rs, corev1alpha1.HookInfo{HookTemplate: common.ObjectReference{Name: "h"}}); got != (Ref{"tenant", "h"}) {
		t.Errorf("HookTemplate = %v", got)
	}
	repo := &storagev1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: "prod"},
		Spec: storagev1alpha1.RepositorySpec{StorageRef: common.ObjectReference{Name: "s"}, EncryptionSecret: &common.ObjectReference{Name: "e"}}}
	if got := StorageOf(repo); got != (Ref{"prod", "s"}) {
		t.Errorf("StorageOf = %v", got)
	}
	if got, _ := EncryptionSecret(rs, repo); got != (Ref{"prod", "e"}) {
		t.Errorf("EncryptionSecret (the Repository's) = %v", got)
	}
	rs.Spec.DataSource.EncryptionSecret = &common.ObjectReference{Name: "mine"}
	if got, _ := EncryptionSecret(rs, repo); got != (Ref{"tenant", "mine"}) {
		t.Errorf("EncryptionSecret (the RestoreSession's) = %v", got)
	}
	if _, ok := EncryptionSecret(&corev1alpha1.RestoreSession{}, nil); ok {
		t.Errorf("EncryptionSecret without any reference")
	}
	local := &storagev1alpha1.BackupStorage{Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderLocal}}}
	if _, ok := StorageSecret(local); ok {
		t.Errorf("a local storage has no credentials Secret")
	}
}

func TestTargetGroup(t *testing.T) {
	tests := []struct {
		group, kind string
		want        string
	}{
		{"", KindStatefulSet, "apps"},
		{"", KindDeployment, "apps"},
		{"", KindDaemonSet, "apps"},
		{"apps", KindStatefulSet, "apps"},
		{"", KindPersistentVolumeClaim, ""},
		{"extensions", KindDaemonSet, "extensions"},
		{"", "ReplicaSet", ""},
	}
	for _, tt := range tests {
		got := TargetGroup(&common.TypedObjectReference{APIGroup: tt.group, Kind: tt.kind, Name: "x"})
		if got != tt.want {
			t.Errorf("TargetGroup(%q, %q) = %q, want %q", tt.group, tt.kind, got, tt.want)
		}
	}
}
