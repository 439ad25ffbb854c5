package executor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned/fake"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/manifest"
)

func claimTemplate(name string) corev1.PersistentVolumeClaimTemplate {
	return corev1.PersistentVolumeClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "demo"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To("csi-standard"),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func vsStat(pvc, snapshot string) storagev1alpha1.VolumeSnapshotterStats {
	return storagev1alpha1.VolumeSnapshotterStats{PVCName: pvc, HostPath: "/" + pvc, VolumeSnapshotName: snapshot}
}

func TestVolumeSnapshotOrdinal(t *testing.T) {
	for _, tc := range []struct {
		component   string
		ordinal     int
		replica, ok bool
	}{
		{"volumesnapshot", 0, false, true},
		{"volumesnapshot-pod-0", 0, true, true},
		{"volumesnapshot-pod-12", 12, true, true},
		{"volumesnapshot-pod-", 0, false, false},
		{"volumesnapshot-pod--1", 0, false, false},
		{"pod-0", 0, false, false},
		{"dump", 0, false, false},
	} {
		n, replica, err := VolumeSnapshotOrdinal(tc.component)
		if (err == nil) != tc.ok || n != tc.ordinal || replica != tc.replica {
			t.Errorf("VolumeSnapshotOrdinal(%q) = %d, %v, %v; want %d, %v, ok=%v", tc.component, n, replica, err, tc.ordinal, tc.replica, tc.ok)
		}
	}
}

func TestPlanVolumeSnapshotClaims(t *testing.T) {
	for _, tc := range []struct {
		name      string
		component string
		templates []corev1.PersistentVolumeClaimTemplate
		stats     []storagev1alpha1.VolumeSnapshotterStats
		// want maps PVC name to VolumeSnapshot name, in template order.
		want    [][2]string
		wantErr string
	}{
		{
			name:      "replica ordinal expanded",
			component: "volumesnapshot-pod-2",
			templates: []corev1.PersistentVolumeClaimTemplate{claimTemplate("restore-data-restore-demo-${POD_ORDINAL}")},
			stats:     []storagev1alpha1.VolumeSnapshotterStats{vsStat("data-demo-2", "data-demo-2-1701")},
			want:      [][2]string{{"restore-data-restore-demo-2", "data-demo-2-1701"}},
		},
		{
			name:      "list order when names differ",
			component: "volumesnapshot",
			templates: []corev1.PersistentVolumeClaimTemplate{claimTemplate("restore-data"), claimTemplate("restore-config")},
			stats:     []storagev1alpha1.VolumeSnapshotterStats{vsStat("source-data", "vs-data"), vsStat("source-config", "vs-config")},
			want:      [][2]string{{"restore-data", "vs-data"}, {"restore-config", "vs-config"}},
		},
		{
			name:      "name pairing first, then the rest in order",
			component: "volumesnapshot",
			templates: []corev1.PersistentVolumeClaimTemplate{claimTemplate("restore-data"), claimTemplate("source-config")},
			stats:     []storagev1alpha1.VolumeSnapshotterStats{vsStat("source-config", "vs-config"), vsStat("source-data", "vs-data")},
			want:      [][2]string{{"restore-data", "vs-data"}, {"source-config", "vs-config"}},
		},
		{
			name:      "a subset by name leaves the other snapshot",
			component: "volumesnapshot",
			templates: []corev1.PersistentVolumeClaimTemplate{claimTemplate("source-data")},
			stats:     []storagev1alpha1.VolumeSnapshotterStats{vsStat("source-config", "vs-config"), vsStat("source-data", "vs-data")},
			want:      [][2]string{{"source-data", "vs-data"}},
		},
		{
			name:      "more templates than snapshots",
			component: "volumesnapshot",
			templates: []corev1.PersistentVolumeClaimTemplate{claimTemplate("a"), claimTemplate("b")},
			stats:     []storagev1alpha1.VolumeSnapshotterStats{vsStat("x", "vs-x")},
			wantErr:   `volumeClaimTemplates[1] "b": component "volumesnapshot" recorded 1 volume snapshots`,
		},
		{
			name:      "ordinal in a component of no replica",
			component: "volumesnapshot",
			templates: []corev1.PersistentVolumeClaimTemplate{claimTemplate("data-${POD_ORDINAL}")},
			stats:     []storagev1alpha1.VolumeSnapshotterStats{vsStat("x", "vs-x")},
			wantErr:   "spec.addon.tasks[0].targetVolumes.volumeClaimTemplates[0].metadata.name",
		},
		{
			name:      "no templates",
			component: "volumesnapshot",
			stats:     []storagev1alpha1.VolumeSnapshotterStats{vsStat("x", "vs-x")},
			wantErr:   "spec.addon.tasks[0].targetVolumes.volumeClaimTemplates: required",
		},
		{
			name:      "duplicate names",
			component: "volumesnapshot",
			templates: []corev1.PersistentVolumeClaimTemplate{claimTemplate("a"), claimTemplate("a")},
			stats:     []storagev1alpha1.VolumeSnapshotterStats{vsStat("x", "vs-x"), vsStat("y", "vs-y")},
			wantErr:   `volumeClaimTemplates[1].metadata.name: "a" is also the name of entry 0`,
		},
		{
			name:      "stat without a VolumeSnapshot",
			component: "volumesnapshot",
			templates: []corev1.PersistentVolumeClaimTemplate{claimTemplate("a")},
			stats:     []storagev1alpha1.VolumeSnapshotterStats{{PVCName: "x"}},
			wantErr:   "volumeSnapshotterStats[0] (pvcName \"x\") names no VolumeSnapshot",
		},
		{
			name:      "not a volume snapshot component",
			component: "pod-0",
			templates: []corev1.PersistentVolumeClaimTemplate{claimTemplate("a")},
			stats:     []storagev1alpha1.VolumeSnapshotterStats{vsStat("x", "vs-x")},
			wantErr:   `component "pod-0" is not a volume snapshot component`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PlanVolumeSnapshotClaims("demo", tc.component, 0, tc.templates, tc.stats, "demo/rs/uid")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d claims, want %d", len(got), len(tc.want))
			}
			for i, p := range got {
				pvc := p.PVC
				ds := pvc.Spec.DataSource
				if pvc.Name != tc.want[i][0] || ds == nil || ds.Name != tc.want[i][1] || ptr.Deref(ds.APIGroup, "") != VolumeSnapshotGroup || ds.Kind != VolumeSnapshotKind {
					t.Errorf("claim %d: %s from %+v, want %s from VolumeSnapshot %s", i, pvc.Name, ds, tc.want[i][0], tc.want[i][1])
				}
				if pvc.Namespace != "demo" || pvc.Annotations[manifest.AnnotationRestoredBy] != "demo/rs/uid" || pvc.Labels["app"] != "demo" ||
					ptr.Deref(pvc.Spec.StorageClassName, "") != "csi-standard" || pvc.Spec.Resources.Requests.Storage().String() != "1Gi" {
					t.Errorf("claim %d: %+v does not carry its template and restore mark", i, pvc)
				}
			}
			// The templates are not modified.
			for _, tpl := range tc.templates {
				if tpl.Spec.DataSource != nil || tpl.Annotations != nil {
					t.Errorf("template %s was modified", tpl.Name)
				}
			}
		})
	}
}

// volumeSnapshotEnv is a fake API holding a RestoreSession of a volume
// snapshot task and a Snapshot with a StatefulSet's replica components.
func volumeSnapshotEnv(t *testing.T, kubeObjs ...runtime.Object) Clients {
	t.Helper()
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: testSession, Namespace: testNS, UID: "rs-uid"},
		Spec: corev1alpha1.RestoreSessionSpec{
			DataSource: corev1alpha1.RestoreDataSource{Repository: testRepoName, Snapshot: "snap-1"},
			Addon: corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{
				Name: invocation.TaskVolumeSnapshotRestoreAlias,
				TargetVolumes: &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{
					claimTemplate("restore-data-${POD_ORDINAL}"),
				}},
			}}},
		},
	}
	snap := &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Name: "snap-1", Namespace: testNS},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: testRepoName},
		Status: storagev1alpha1.SnapshotStatus{Phase: storagev1alpha1.SnapshotSucceeded, Components: map[string]storagev1alpha1.Component{
			"volumesnapshot-pod-0": {Driver: storagev1alpha1.DriverVolumeSnapshotter, VolumeSnapshotterStats: []storagev1alpha1.VolumeSnapshotterStats{vsStat("data-0", "vs-0")}},
			"volumesnapshot-pod-1": {Driver: storagev1alpha1.DriverVolumeSnapshotter, VolumeSnapshotterStats: []storagev1alpha1.VolumeSnapshotterStats{vsStat("data-1", "vs-1")}},
			"pod-0":                {Driver: storagev1alpha1.DriverKopia},
		}},
	}
	rc := fake.NewClientset()
	must(t, rc.Tracker().Add(rs))
	must(t, rc.Tracker().Add(snap))
	return Clients{Kube: kubefake.NewClientset(kubeObjs...), Restore: rc}
}

func vsRunOpts(component string) RunOptions {
	return RunOptions{Namespace: testNS, RestoreSession: testSession, Component: component, Snapshot: "snap-1", TaskName: invocation.TaskVolumeSnapshotRestoreAlias}
}

// bindWhenCreated plays the binder: every claim created is Bound at once,
// or gets the binder's WaitForFirstConsumer Event when wffc.
func bindWhenCreated(ctx context.Context, t *testing.T, c Clients, wffc bool) {
	w, err := c.Kube.CoreV1().PersistentVolumeClaims(testNS).Watch(ctx, metav1.ListOptions{})
	must(t, err)
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			pvc, ok := ev.Object.(*corev1.PersistentVolumeClaim)
			if !ok || pvc.Status.Phase != "" {
				continue
			}
			if wffc {
				_, _ = c.Kube.CoreV1().Events(testNS).Create(ctx, &corev1.Event{
					ObjectMeta:     metav1.ObjectMeta{Name: pvc.Name + ".wffc"},
					InvolvedObject: corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: testNS, Name: pvc.Name, UID: pvc.UID},
					Reason:         EventReasonWaitForFirstConsumer,
				}, metav1.CreateOptions{})
				continue
			}
			pvc = pvc.DeepCopy()
			pvc.Status.Phase = corev1.ClaimBound
			_, _ = c.Kube.CoreV1().PersistentVolumeClaims(testNS).UpdateStatus(ctx, pvc, metav1.UpdateOptions{})
		}
	}()
}

func TestRunVolumeSnapshotRestore(t *testing.T) {
	for _, tc := range []struct {
		name      string
		component string
		existing  []runtime.Object
		wffc      bool
		wantPhase corev1alpha1.RestorePhase
		wantErr   string
		wantEvent bool
		wantRV    string // the existing claim's resourceVersion, untouched
	}{
		{name: "bound", component: "volumesnapshot-pod-1", wantPhase: corev1alpha1.RestoreSucceeded},
		{name: "waits for first consumer", component: "volumesnapshot-pod-0", wffc: true, wantPhase: corev1alpha1.RestoreSucceeded, wantEvent: true},
		{
			name: "existing claim is never overwritten", component: "volumesnapshot-pod-0",
			existing:  []runtime.Object{&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "restore-data-0", Namespace: testNS, ResourceVersion: "7"}}},
			wantPhase: corev1alpha1.RestoreFailed, wantErr: "PersistentVolumeClaims demo/restore-data-0 already exist", wantRV: "7",
		},
		{
			name: "claim of an earlier attempt is taken over", component: "volumesnapshot-pod-0",
			existing: []runtime.Object{&corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{Name: "restore-data-0", Namespace: testNS, ResourceVersion: "7",
					Annotations: map[string]string{manifest.AnnotationRestoredBy: RestoredByValue(testNS, testSession, "rs-uid")}},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
			}},
			wantPhase: corev1alpha1.RestoreSucceeded, wantRV: "7",
		},
		{name: "kopia component", component: "pod-0", wantPhase: corev1alpha1.RestoreFailed, wantErr: "has no volumeSnapshotterStats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			c := volumeSnapshotEnv(t, tc.existing...)
			bindWhenCreated(ctx, t, c, tc.wffc)
			r := VolumeSnapshotRestore{Kube: c.Kube, PollInterval: 10 * time.Millisecond}
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			err := RunVolumeSnapshotRestore(ctx, c, vsRunOpts(tc.component), r)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr != "" && Retryable(err) {
				t.Errorf("error %v is retryable; the restore would be retried for nothing", err)
			}
			rs, err := c.Restore.CoreV1alpha1().RestoreSessions(testNS).Get(ctx, testSession, metav1.GetOptions{})
			must(t, err)
			cs := rs.Status.Components[tc.component]
			if cs.Phase != tc.wantPhase || !strings.Contains(cs.Error, tc.wantErr) || cs.Duration == "" {
				t.Errorf("component status %+v, want phase %s and error %q", cs, tc.wantPhase, tc.wantErr)
			}
			claims, err := c.Kube.CoreV1().PersistentVolumeClaims(testNS).List(ctx, metav1.ListOptions{})
			must(t, err)
			if tc.wantRV != "" {
				if len(claims.Items) != 1 || claims.Items[0].ResourceVersion != tc.wantRV {
					t.Errorf("claims %+v, want the existing one untouched", claims.Items)
				}
			} else if tc.wantErr == "" {
				ordinal := strings.TrimPrefix(tc.component, ComponentVolumeSnapshotPodPrefix)
				if len(claims.Items) != 1 || claims.Items[0].Name != "restore-data-"+ordinal || claims.Items[0].Spec.DataSource.Name != "vs-"+ordinal {
					t.Errorf("claims %+v, want restore-data-%s from vs-%s", claims.Items, ordinal, ordinal)
				}
			}
			events, err := c.Kube.CoreV1().Events(testNS).List(ctx, metav1.ListOptions{})
			must(t, err)
			found := false
			for _, e := range events.Items {
				if e.Reason == EventReasonClaimsWaitForConsumer && e.InvolvedObject.UID == types.UID("rs-uid") && strings.Contains(e.Message, "demo/restore-data-0") {
					found = true
				}
			}
			if found != tc.wantEvent {
				t.Errorf("RestoreSession Event %s recorded = %v, want %v (events %+v)", EventReasonClaimsWaitForConsumer, found, tc.wantEvent, events.Items)
			}
		})
	}
}

// A claim that never binds keeps the restore waiting; when the Job's
// time runs out the error names it and is retryable.
func TestVolumeSnapshotWaitNamesPendingClaims(t *testing.T) {
	ctx := testContext(t)
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "never", Namespace: testNS, UID: "u1"}}
	c := kubefake.NewClientset(pvc)
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := VolumeSnapshotRestore{Kube: c, PollInterval: 10 * time.Millisecond}.Wait(ctx, []*corev1.PersistentVolumeClaim{pvc})
	if err == nil || !strings.Contains(err.Error(), "demo/never are not bound") || !errors.Is(err, context.DeadlineExceeded) || !Retryable(err) {
		t.Fatalf("error %v, want a retryable one naming demo/never", err)
	}
}
