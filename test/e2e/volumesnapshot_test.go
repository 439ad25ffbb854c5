package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/executor"
	"github.com/restore-controller/restore/test/cluster"
	"github.com/restore-controller/restore/test/cluster/kubelet"
	"github.com/restore-controller/restore/test/framework"
)

// The docs' volume snapshot RestoreSessions name the StorageClass
// csi-standard and the Repository gcs-repository in namespace demo.
const (
	docsStorageClass = "csi-standard"
	docsRepository   = "gcs-repository"
	docsNamespace    = "demo"
)

var (
	volumeSnapshotsGVR        = schema.GroupVersionResource{Group: executor.VolumeSnapshotGroup, Version: "v1", Resource: "volumesnapshots"}
	volumeSnapshotContentsGVR = schema.GroupVersionResource{Group: executor.VolumeSnapshotGroup, Version: "v1", Resource: "volumesnapshotcontents"}
)

// installCatalogVolumeSnapshotAddon creates the catalog's pvc-addon and its
// volumesnapshot-restore Function from artifacts/addons as they ship, with
// the Function's image replaced by kopiaImage (the real executor); both
// are deleted when the test ends.
func installCatalogVolumeSnapshotAddon(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var addon *addonsv1alpha1.Addon
	var fn *addonsv1alpha1.Function
	for _, file := range []string{"addons.yaml", "functions.yaml"} {
		raw, err := os.ReadFile(filepath.Join(root, "artifacts", "addons", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			var meta metav1.PartialObjectMetadata
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			switch {
			case meta.Kind == "Addon" && meta.Name == "pvc-addon":
				addon = &addonsv1alpha1.Addon{}
				if err := yaml.UnmarshalStrict([]byte(doc), addon); err != nil {
					t.Fatal(err)
				}
			case meta.Kind == "Function" && meta.Name == "volumesnapshot-restore":
				fn = &addonsv1alpha1.Function{}
				if err := yaml.UnmarshalStrict([]byte(doc), fn); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if addon == nil || fn == nil {
		t.Fatal("artifacts/addons has no pvc-addon Addon or volumesnapshot-restore Function")
	}
	fn.Spec.Image = kopiaImage
	framework.MustCreate(t, "Function", func() error {
		_, err := restoreClient.AddonsV1alpha1().Functions().Create(ctx, fn, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = restoreClient.AddonsV1alpha1().Functions().Delete(ctx, fn.Name, metav1.DeleteOptions{}) })
	framework.MustCreate(t, "Addon", func() error {
		_, err := restoreClient.AddonsV1alpha1().Addons().Create(ctx, addon, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = restoreClient.AddonsV1alpha1().Addons().Delete(ctx, addon.Name, metav1.DeleteOptions{}) })
}

// docsStorageClassFor creates the StorageClass csi-standard served by the
// process kubelet's provisioner (Immediate binding), unless it exists.
func docsStorageClassFor(t *testing.T) {
	t.Helper()
	_, err := c.Client().StorageV1().StorageClasses().Create(context.Background(), &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: docsStorageClass},
		Provisioner:       kubelet.Provisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// fixedNamespace creates the namespace name, waiting for a namespace of
// that name an earlier test deleted to be gone, and deletes it when the
// test ends.
func fixedNamespace(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	framework.Poll(t, 2*time.Minute, "namespace "+name+" to be created", func(ctx context.Context) (bool, string, error) {
		_, err := c.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return false, "a namespace of that name is still being deleted", nil
		}
		return err == nil, "", err
	})
	t.Cleanup(func() { _ = c.Client().CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}) })
	framework.LogsOnFailure(t, c, name)
}

// volumeSnapshotOf creates, in ns, a ready VolumeSnapshot name bound to a
// pre-provisioned VolumeSnapshotContent whose snapshotHandle is a
// directory holding a tree of files (seed), as a CSI driver's snapshot of
// a claim would be; it returns the tree.
func volumeSnapshotOf(t *testing.T, dyn dynamic.Interface, ns, name string, seed int) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), name)
	framework.WriteTree(t, dir, seed, map[string]int{"data.bin": 64<<10 + seed, "sub/notes.txt": 100 + seed, "sub/deep/empty": 0})
	contentName := "snapcontent-" + ns + "-" + name
	content := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
		"metadata": map[string]any{"name": contentName},
		"spec": map[string]any{
			"deletionPolicy":    "Retain",
			"driver":            kubelet.Provisioner,
			"source":            map[string]any{"snapshotHandle": dir},
			"volumeSnapshotRef": map[string]any{"namespace": ns, "name": name},
		},
	}}
	contents := dyn.Resource(volumeSnapshotContentsGVR)
	content, err := contents.Create(ctx, content, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = contents.Delete(context.Background(), contentName, metav1.DeleteOptions{}) })
	content.Object["status"] = map[string]any{"readyToUse": true, "snapshotHandle": dir, "restoreSize": int64(1 << 30)}
	if _, err := contents.UpdateStatus(ctx, content, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"source": map[string]any{"volumeSnapshotContentName": contentName}},
	}}
	snapshots := dyn.Resource(volumeSnapshotsGVR).Namespace(ns)
	if vs, err = snapshots.Create(ctx, vs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	vs.Object["status"] = map[string]any{"readyToUse": true, "boundVolumeSnapshotContentName": contentName, "restoreSize": "1Gi"}
	if _, err := snapshots.UpdateStatus(ctx, vs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// volumeSnapshotterSnapshot creates a Succeeded Snapshot of the docs'
// Repository taken at `at`, whose components carry the given
// volumeSnapshotterStats, as KubeStash's VolumeSnapshotter backup records them.
func volumeSnapshotterSnapshot(t *testing.T, ns, name string, at time.Time, components map[string][]storagev1alpha1.VolumeSnapshotterStats) {
	t.Helper()
	ctx := context.Background()
	snap, err := restoreClient.StorageV1alpha1().Snapshots(ns).Create(ctx, &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{storagev1alpha1.LabelRepoName: docsRepository}},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: docsRepository},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snap.Status = storagev1alpha1.SnapshotStatus{
		Phase: storagev1alpha1.SnapshotSucceeded, SnapshotTime: &metav1.Time{Time: at},
		TotalComponents: int32(len(components)), Components: map[string]storagev1alpha1.Component{},
	}
	for comp, stats := range components {
		snap.Status.Components[comp] = storagev1alpha1.Component{
			Phase: storagev1alpha1.SnapshotSucceeded, Driver: storagev1alpha1.DriverVolumeSnapshotter, VolumeSnapshotterStats: stats,
		}
	}
	if _, err := restoreClient.StorageV1alpha1().Snapshots(ns).UpdateStatus(ctx, snap, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// applyDocsRestoreSession creates the docs' RestoreSession in file
// (test/admission/testdata/kubestash-docs/restoresession) unchanged and
// returns its name.
func applyDocsRestoreSession(t *testing.T, file string) string {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "test", "admission", "testdata", "kubestash-docs", "restoresession", file))
	if err != nil {
		t.Fatal(err)
	}
	applier, err := framework.NewApplier(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	obj, err := applier.Create(context.Background(), string(raw))
	if err != nil {
		t.Fatalf("applying %s: %v", file, err)
	}
	return obj.GetName()
}

// restoredClaim is a PVC a restore must create from a VolumeSnapshot, with
// the tree that snapshot holds.
type restoredClaim struct {
	pvc, volumeSnapshot, tree string
}

// expectRestoredClaims checks each claim: Bound, created from its
// VolumeSnapshot, of the docs' StorageClass, and holding exactly the
// snapshot's files.
func expectRestoredClaims(t *testing.T, ns string, claims []restoredClaim) {
	t.Helper()
	ctx := context.Background()
	for _, rc := range claims {
		framework.Poll(t, time.Minute, "PVC "+rc.pvc+" to be bound", func(ctx context.Context) (bool, string, error) {
			pvc, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Get(ctx, rc.pvc, metav1.GetOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			return pvc.Status.Phase == corev1.ClaimBound, string(pvc.Status.Phase), nil
		})
		pvc, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Get(ctx, rc.pvc, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ds := pvc.Spec.DataSource
		if ds == nil || ds.Kind != "VolumeSnapshot" || ptr.Deref(ds.APIGroup, "") != executor.VolumeSnapshotGroup || ds.Name != rc.volumeSnapshot ||
			ptr.Deref(pvc.Spec.StorageClassName, "") != docsStorageClass {
			t.Errorf("PVC %s: dataSource %+v class %v, want VolumeSnapshot %s of class %s", rc.pvc, ds, pvc.Spec.StorageClassName, rc.volumeSnapshot, docsStorageClass)
		}
		framework.ExpectSameTree(t, "PVC "+rc.pvc, framework.ScanTree(t, rc.tree), framework.ClaimDir(t, c, ns, rc.pvc))
	}
}

// TestVolumeSnapshotRestoreDocsExamples applies the KubeStash docs'
// VolumeSnapshotRestore RestoreSessions unchanged, in turn, each against a
// newer Snapshot of gcs-repository: a StatefulSet's three replicas
// (volumesnapshot-pod-<ordinal>, ${POD_ORDINAL} in the claim template), a
// Deployment's two volumes (one volumesnapshot component, paired in list
// order) and a stand-alone PVC. The real executor creates every claim
// from its VolumeSnapshot and the provisioner fills it from the snapshot's
// directory: the bytes must match.
func TestVolumeSnapshotRestoreDocsExamples(t *testing.T) {
	ctx := context.Background()
	ns := docsNamespace
	fixedNamespace(t, ns)
	newRestoreWorld(t, ns, "fake-vs-"+ns, docsRepository)
	installCatalogVolumeSnapshotAddon(t)
	docsStorageClassFor(t)
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	startController(t)
	base := time.Now().Add(-time.Hour)

	for i, tc := range []struct {
		file       string
		components map[string][]string // component → source PVCs
		restored   map[string]string   // source PVC → restored PVC
	}{
		{
			file: "volumesnapshot-statefulset-restoresession-1.yaml",
			components: map[string][]string{
				"volumesnapshot-pod-0": {"data-restore-demo-0"},
				"volumesnapshot-pod-1": {"data-restore-demo-1"},
				"volumesnapshot-pod-2": {"data-restore-demo-2"},
			},
			restored: map[string]string{
				"data-restore-demo-0": "restore-data-restore-demo-0",
				"data-restore-demo-1": "restore-data-restore-demo-1",
				"data-restore-demo-2": "restore-data-restore-demo-2",
			},
		},
		{
			file:       "volumesnapshot-deployment-restoresession-1.yaml",
			components: map[string][]string{"volumesnapshot": {"source-data", "source-config"}},
			restored:   map[string]string{"source-data": "restore-data", "source-config": "restore-config"},
		},
		{
			file:       "volumesnapshot-pvc-restoresession-1.yaml",
			components: map[string][]string{"volumesnapshot": {"source-pvc"}},
			restored:   map[string]string{"source-pvc": "restore-source-pvc"},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			at := base.Add(time.Duration(i) * time.Minute)
			stats := map[string][]storagev1alpha1.VolumeSnapshotterStats{}
			var want []restoredClaim
			seed := 100 * (i + 1)
			for comp, sources := range tc.components {
				for _, src := range sources {
					seed++
					vsName := fmt.Sprintf("%s-%d", src, at.Unix())
					tree := volumeSnapshotOf(t, dyn, ns, vsName, seed)
					stats[comp] = append(stats[comp], storagev1alpha1.VolumeSnapshotterStats{
						PVCName: src, HostPath: "/source/data", VolumeSnapshotName: vsName, VolumeSnapshotTime: &metav1.Time{Time: at},
					})
					want = append(want, restoredClaim{pvc: tc.restored[src], volumeSnapshot: vsName, tree: tree})
				}
			}
			volumeSnapshotterSnapshot(t, ns, fmt.Sprintf("%s-%d", docsRepository, at.Unix()), at, stats)

			name := applyDocsRestoreSession(t, tc.file)
			rs := framework.WaitForPhase(t, restoreClient, ns, name, corev1alpha1.RestoreSucceeded, restoreTimeout)
			for comp := range tc.components {
				if cs := rs.Status.Components[comp]; cs.Phase != corev1alpha1.RestoreSucceeded || cs.Duration == "" {
					t.Errorf("component %s = %+v, want Succeeded with a duration", comp, cs)
				}
			}
			if got := len(restoreJobs(t, ns, name)); got != len(tc.components) {
				t.Errorf("%d restore Jobs, want one per component (%d)", got, len(tc.components))
			}
			expectRestoredClaims(t, ns, want)
		})
	}

	// Applied again under another name, the StatefulSet restore finds
	// the claims it would create: it fails naming them and changes none.
	t.Run("existing claims are never overwritten", func(t *testing.T) {
		before, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Get(ctx, "restore-data-restore-demo-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rs := &corev1alpha1.RestoreSession{}
		rs.Name, rs.Namespace = "restore-again", ns
		rs.Spec.DataSource = corev1alpha1.RestoreDataSource{Repository: docsRepository, Snapshot: fmt.Sprintf("%s-%d", docsRepository, base.Unix())}
		rs.Spec.Addon = corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{
			Name: "volume-snapshot-restore",
			TargetVolumes: &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{
				ObjectMeta: metav1.ObjectMeta{Name: "restore-data-restore-demo-${POD_ORDINAL}"},
				Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To(docsStorageClass)},
			}}},
		}}}
		createRestore(t, rs)
		got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreFailed, restoreTimeout)
		cs := got.Status.Components["volumesnapshot-pod-1"]
		if cs.Phase != corev1alpha1.RestoreFailed || !strings.Contains(cs.Error, ns+"/restore-data-restore-demo-1 already exist") {
			t.Errorf("component volumesnapshot-pod-1 = %+v, want Failed naming the existing claim", cs)
		}
		after, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Get(ctx, before.Name, metav1.GetOptions{})
		if err != nil || after.ResourceVersion != before.ResourceVersion {
			t.Errorf("the existing claim changed: %v", err)
		}
	})
}

// TestVolumeSnapshotRestoreWaitForFirstConsumer restores a volume snapshot
// into a claim of the local cluster's WaitForFirstConsumer StorageClass:
// the restore reports that the claim waits for its first consumer (an
// Event on the RestoreSession) and Succeeds while the claim is still
// Pending; a pod using the claim then gets it provisioned from the
// snapshot and reads the snapshot's bytes. The restore reads no repository
// data, so neither the Repository's encryption Secret nor the S3
// BackupStorage's credentials Secret exists: it must not need them.
func TestVolumeSnapshotRestoreWaitForFirstConsumer(t *testing.T) {
	ctx := context.Background()
	ns := framework.NewNamespace(t, c, "e2e-wffc-")
	framework.MustCreate(t, "BackupStorage", func() error {
		_, err := restoreClient.StorageV1alpha1().BackupStorages(ns).Create(ctx, &storagev1alpha1.BackupStorage{
			ObjectMeta: metav1.ObjectMeta{Name: "s3-storage"},
			Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
				Provider: storagev1alpha1.ProviderS3,
				// Neither reachable nor its Secret present: never used.
				S3: &storagev1alpha1.S3Spec{Endpoint: "http://127.0.0.1:1", Bucket: "snapshots", SecretName: "absent-s3-credentials"},
			}},
		}, metav1.CreateOptions{})
		return err
	})
	framework.MustCreate(t, "Repository", func() error {
		_, err := restoreClient.StorageV1alpha1().Repositories(ns).Create(ctx, &storagev1alpha1.Repository{
			ObjectMeta: metav1.ObjectMeta{Name: docsRepository},
			Spec: storagev1alpha1.RepositorySpec{
				StorageRef:       common.ObjectReference{Name: "s3-storage"},
				Path:             "/" + docsRepository,
				EncryptionSecret: &common.ObjectReference{Name: "absent-encrypt-secret"},
			},
		}, metav1.CreateOptions{})
		return err
	})
	installCatalogVolumeSnapshotAddon(t)
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	startController(t)

	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	vsName := fmt.Sprintf("source-data-%d", at.Unix())
	tree := volumeSnapshotOf(t, dyn, ns, vsName, 7)
	const marker = "bytes of the volume snapshot"
	if err := os.WriteFile(filepath.Join(tree, "marker.txt"), []byte(marker), 0o644); err != nil {
		t.Fatal(err)
	}
	volumeSnapshotterSnapshot(t, ns, fmt.Sprintf("%s-%d", docsRepository, at.Unix()), at, map[string][]storagev1alpha1.VolumeSnapshotterStats{
		executor.ComponentVolumeSnapshot: {{PVCName: "source-data", HostPath: "/source/data", VolumeSnapshotName: vsName, VolumeSnapshotTime: &metav1.Time{Time: at}}},
	})

	const claim = "restored-data"
	rs := &corev1alpha1.RestoreSession{}
	rs.Name, rs.Namespace = "restore-wffc", ns
	rs.Spec.DataSource = corev1alpha1.RestoreDataSource{Repository: docsRepository, Snapshot: corev1alpha1.SnapshotLatest}
	rs.Spec.Addon = corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{
		Name: "volume-snapshot-restore",
		TargetVolumes: &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{
			ObjectMeta: metav1.ObjectMeta{Name: claim},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr.To(kubelet.WaitForFirstConsumerStorageClass),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}}},
	}}}
	createRestore(t, rs)
	got := framework.WaitForPhase(t, restoreClient, ns, rs.Name, corev1alpha1.RestoreSucceeded, restoreTimeout)
	if cs := got.Status.Components[executor.ComponentVolumeSnapshot]; cs.Phase != corev1alpha1.RestoreSucceeded {
		t.Errorf("component %s = %+v, want Succeeded", executor.ComponentVolumeSnapshot, cs)
	}

	// Succeeded with the claim still waiting: nothing uses it yet.
	pvc, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pvc.Status.Phase != corev1.ClaimPending || pvc.Spec.VolumeName != "" {
		t.Errorf("claim %s is %s (volume %q) before any pod used it, want Pending and unbound", claim, pvc.Status.Phase, pvc.Spec.VolumeName)
	}
	if ds := pvc.Spec.DataSource; ds == nil || ds.Kind != executor.VolumeSnapshotKind || ds.Name != vsName {
		t.Errorf("claim %s dataSource %+v, want VolumeSnapshot %s", claim, ds, vsName)
	}
	events, err := c.Client().CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + rs.Name})
	if err != nil {
		t.Fatal(err)
	}
	var waiting []string
	for _, e := range events.Items {
		if e.Reason == executor.EventReasonClaimsWaitForConsumer {
			waiting = append(waiting, e.Message)
		}
	}
	if len(waiting) != 1 || !strings.Contains(waiting[0], ns+"/"+claim) || !strings.Contains(waiting[0], "first Pod uses them") {
		t.Errorf("Events %s on the RestoreSession = %q, want one naming %s/%s", executor.EventReasonClaimsWaitForConsumer, waiting, ns, claim)
	}

	// The first consumer: the claim is provisioned from the snapshot and
	// the pod reads the snapshot's bytes.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "consumer"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "main", Image: workloadImage, Args: []string{"cat", "/data/marker.txt"},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
			}}},
		},
	}
	if _, err := c.Client().CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Poll(t, 2*time.Minute, "pod consumer to finish", func(ctx context.Context) (bool, string, error) {
		p, err := c.Client().CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if p.Status.Phase == corev1.PodFailed {
			return false, "", fmt.Errorf("pod consumer failed: %+v\nlog: %s", p.Status, c.ContainerLog(ns, pod.Name, "main"))
		}
		return p.Status.Phase == corev1.PodSucceeded, string(p.Status.Phase), nil
	})
	if out := c.ContainerLog(ns, pod.Name, "main"); !strings.Contains(out, "/data/marker.txt="+marker) {
		t.Errorf("the consumer read\n%s\nwant /data/marker.txt=%s", out, marker)
	}
	pvc, err = c.Client().CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Annotations["volume.kubernetes.io/selected-node"] == "" {
		t.Errorf("claim %s after its first consumer: %s, annotations %v; want Bound on the selected node", claim, pvc.Status.Phase, pvc.Annotations)
	}
	framework.ExpectSameTree(t, "claim "+claim, framework.ScanTree(t, tree), framework.ClaimDir(t, c, ns, claim))
}
