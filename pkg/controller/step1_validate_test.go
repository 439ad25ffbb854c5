package controller

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
	"github.com/restore-controller/restore/pkg/refs"
)

func TestValidationPasses(t *testing.T) {
	f := newFixture(t).start()
	f.mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, corev1alpha1.ReasonResourceValidationPassed)
	if c := condition(rs, corev1alpha1.TypeValidationPassed); c.Message != corev1alpha1.MessageResourceValidationPassed {
		t.Errorf("message = %q, want %q", c.Message, corev1alpha1.MessageResourceValidationPassed)
	}
	want := []corev1alpha1.ResourceFoundStatus{
		{APIGroup: "storage.kubestash.com", Kind: "Snapshot", Namespace: testNS, Name: testSnapshot, Found: true},
		{APIGroup: "storage.kubestash.com", Kind: "Repository", Namespace: testNS, Name: testRepo, Found: true},
		{APIGroup: "storage.kubestash.com", Kind: "BackupStorage", Namespace: testNS, Name: testStorage, Found: true},
		{APIGroup: "addons.kubestash.com", Kind: "Addon", Name: testAddon, Found: true},
		{APIGroup: "addons.kubestash.com", Kind: "Function", Name: testFunction, Found: true},
	}
	if !slices.Equal(rs.Status.Dependencies, want) {
		t.Errorf("dependencies =\n%+v\nwant\n%+v", rs.Status.Dependencies, want)
	}
	if rs.Status.Phase != corev1alpha1.RestorePending {
		t.Errorf("phase = %s, want Pending", rs.Status.Phase)
	}
}

func TestValidationFails(t *testing.T) {
	otherRepoSnap := newSnapshot("other-snap", testStart.Add(-time.Hour), storagev1alpha1.SnapshotSucceeded)
	otherRepoSnap.Spec.Repository = "other-repo"
	otherRepoSnap.Labels[storagev1alpha1.LabelRepoName] = "other-repo"
	from := func(f common.FromNamespaces) *common.FromNamespaces { return &f }

	tests := []struct {
		name  string
		setup func(f *fixture)
		// every fragment must be in the condition message
		fragments []string
		// a dependency that must be listed as not found
		missingDep string
	}{
		{
			name:       "missing Repository",
			setup:      func(f *fixture) { f.removeObject(newRepository()) },
			fragments:  []string{"spec.dataSource.repository", "Repository demo/gcs-demo-repo not found"},
			missingDep: "Repository/" + testRepo,
		},
		{
			name: "missing Snapshot",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Snapshot = "nope" })
			},
			fragments:  []string{"spec.dataSource.snapshot", "Snapshot demo/nope not found"},
			missingDep: "Snapshot/nope",
		},
		{
			name: "Snapshot of another Repository",
			setup: func(f *fixture) {
				f.objects = append(f.objects, otherRepoSnap)
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Snapshot = "other-snap" })
			},
			fragments: []string{"spec.dataSource.snapshot", `belongs to Repository "other-repo"`},
		},
		{
			name: "Snapshot not Succeeded",
			setup: func(f *fixture) {
				f.replaceObject(newSnapshot(testSnapshot, testStart.Add(-time.Hour), storagev1alpha1.SnapshotRunning))
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Snapshot = testSnapshot })
			},
			fragments: []string{"spec.dataSource.snapshot", "is Running", "only a Succeeded Snapshot"},
		},
		{
			name: "latest without a Succeeded Snapshot",
			setup: func(f *fixture) {
				f.replaceObject(newSnapshot(testSnapshot, testStart.Add(-time.Hour), storagev1alpha1.SnapshotFailed))
			},
			fragments:  []string{"spec.dataSource.snapshot", "has no Succeeded Snapshot"},
			missingDep: "Snapshot/latest",
		},
		{
			name:       "missing Addon",
			setup:      func(f *fixture) { f.removeObject(newAddon()) },
			fragments:  []string{"spec.addon.name", `Addon "workload-addon" not found`},
			missingDep: "Addon/" + testAddon,
		},
		{
			name: "unknown task",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.Addon.Tasks[0].Name = "no-such-task" })
			},
			fragments: []string{"spec.addon.tasks[0].name", `has no restore task "no-such-task"`},
		},
		{
			name: "backup task named as restore task",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.Addon.Tasks[0].Name = testBackupTask })
			},
			fragments: []string{"spec.addon.tasks[0].name", "is a backup task, not a restore task"},
		},
		{
			name:       "missing Function",
			setup:      func(f *fixture) { f.removeObject(newFunction()) },
			fragments:  []string{"spec.addon.tasks[0].name", `Function "workload-restore" of task "logical-backup-restore" not found`},
			missingDep: "Function/" + testFunction,
		},
		{
			name: "unknown param",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) {
					rs.Spec.Addon.Tasks[0].Params = &runtime.RawExtension{Raw: []byte(`{"bogus":1,"parallel":2}`)}
				})
			},
			fragments: []string{"spec.addon.tasks[0].params.bogus", "not a parameter of task"},
		},
		{
			name: "required param missing",
			setup: func(f *fixture) {
				a := newAddon()
				a.Spec.RestoreTasks[0].Parameters[1].Required = true
				f.replaceObject(a)
			},
			fragments: []string{"spec.addon.tasks[0].params.include", "Required value"},
		},
		{
			name: "component not in Snapshot",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Components = []string{"pod-0", "pod-7"} })
			},
			fragments: []string{"spec.dataSource.components[1]", `"pod-7"`, "not a component of Snapshot"},
		},
		{
			name: "non-Kopia driver",
			setup: func(f *fixture) {
				snap := newSnapshot(testSnapshot, testStart.Add(-time.Hour), storagev1alpha1.SnapshotSucceeded)
				c := snap.Status.Components["pod-2"]
				c.Driver = storagev1alpha1.DriverRestic
				snap.Status.Components["pod-2"] = c
				f.replaceObject(snap)
			},
			fragments: []string{"spec.dataSource.snapshot", `component "pod-2"`, "driver Restic"},
		},
		{
			name: "VolumeSnapshotter component",
			setup: func(f *fixture) {
				snap := newSnapshot(testSnapshot, testStart.Add(-time.Hour), storagev1alpha1.SnapshotSucceeded)
				c := snap.Status.Components["pod-0"]
				c.Driver = storagev1alpha1.DriverVolumeSnapshotter
				c.KopiaStats = nil
				c.VolumeSnapshotterStats = []storagev1alpha1.VolumeSnapshotterStats{{PVCName: "data-db-0", VolumeSnapshotName: "data-db-0-1700000000"}}
				snap.Status.Components["pod-0"] = c
				f.replaceObject(snap)
			},
			fragments: []string{"spec.dataSource.snapshot", `component "pod-0"`, "driver VolumeSnapshotter", "only Kopia snapshots"},
		},
		{
			name: "component without a driver carrying resticStats",
			setup: func(f *fixture) {
				snap := newSnapshot(testSnapshot, testStart.Add(-time.Hour), storagev1alpha1.SnapshotSucceeded)
				c := snap.Status.Components["pod-2"]
				c.Driver = ""
				c.KopiaStats = nil
				c.ResticStats = []storagev1alpha1.ResticStats{{Summary: &storagev1alpha1.ResticSummary{ID: "4a3c", HostPath: "/data"}}}
				snap.Status.Components["pod-2"] = c
				f.replaceObject(snap)
			},
			fragments: []string{"spec.dataSource.snapshot", `component "pod-2"`, "driver Restic"},
		},
		{
			name: "Snapshot without spec.repository",
			setup: func(f *fixture) {
				snap := newSnapshot(testSnapshot, testStart.Add(-time.Hour), storagev1alpha1.SnapshotSucceeded)
				snap.Spec.Repository = ""
				f.replaceObject(snap)
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Snapshot = testSnapshot })
			},
			fragments: []string{"spec.dataSource.snapshot", "has no spec.repository"},
		},
		{
			name: "no spec.dataSource",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource = corev1alpha1.RestoreDataSource{} })
			},
			fragments: []string{"spec.dataSource: Required value", "nothing to restore"},
		},
		{
			name: "point-in-time recovery instead of a Snapshot",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) {
					rs.Spec.DataSource.Snapshot = ""
					rs.Spec.DataSource.PITR = &corev1alpha1.PITR{TargetTime: &metav1.Time{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
				})
			},
			fragments: []string{"spec.dataSource.pitr: Forbidden", "kopia snapshots carry no point-in-time log"},
		},
		{
			name: "point-in-time recovery beside a Snapshot",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.PITR = &corev1alpha1.PITR{Exclusive: true} })
			},
			fragments: []string{"spec.dataSource.pitr: Forbidden", "point-in-time recovery is not supported"},
		},
		{
			name: "workload target in another API group",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.Target.APIGroup = "extensions" })
			},
			fragments: []string{"spec.target.kind", `"StatefulSet" in API group "extensions" is not supported`},
		},
		{
			name: "no encryption Secret anywhere",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.EncryptionSecret = nil })
			},
			fragments: []string{"spec.dataSource.encryptionSecret", "Required value", "names an encryption Secret"},
		},
		{
			name:      "encryption Secret missing",
			setup:     func(f *fixture) { f.removeObject(newSecret(testNS, testSecret, "")) },
			fragments: []string{"spec.dataSource.encryptionSecret", "Secret demo/encrypt-secret not found"},
		},
		{
			name:      "encryption Secret without a password",
			setup:     func(f *fixture) { f.replaceKubeObject(newSecret(testNS, testSecret, "PASSWORD")) },
			fragments: []string{"spec.dataSource.encryptionSecret", "has no key KOPIA_PASSWORD (or RESTIC_PASSWORD)"},
		},
		{
			name: "target in another namespace",
			setup: func(f *fixture) {
				f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.Target.Namespace = "elsewhere" })
			},
			fragments: []string{"spec.target.namespace", `"elsewhere"`},
		},
		{
			name: "singleton task with two components",
			setup: func(f *fixture) {
				a := newAddon()
				a.Spec.RestoreTasks[0].Singleton = true
				f.replaceObject(a)
			},
			fragments: []string{"spec.dataSource.components", "singleton task", "2 are selected"},
		},
		{
			name: "BackupStorage usagePolicy refuses the namespace (no policy)",
			setup: func(f *fixture) {
				repo := newRepository()
				repo.Spec.StorageRef.Namespace = "storage"
				f.replaceObject(repo)
				bs := newBackupStorage()
				bs.Namespace = "storage"
				f.objects = append(f.objects, bs)
			},
			fragments: []string{"spec.dataSource.repository", "usagePolicy of BackupStorage storage/local-storage", `does not allow namespace "demo"`},
		},
		{
			name: "BackupStorage usagePolicy selector does not match the namespace",
			setup: func(f *fixture) {
				repo := newRepository()
				repo.Spec.StorageRef.Namespace = "storage"
				f.replaceObject(repo)
				bs := newBackupStorage()
				bs.Namespace = "storage"
				bs.Spec.UsagePolicy = &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{
					From: from(common.NamespacesFromSelector), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"backup": "allowed"}},
				}}
				f.objects = append(f.objects, bs)
			},
			fragments: []string{"spec.dataSource.repository", "usagePolicy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f)
			f.start()
			res, err := f.sync()
			if err != nil {
				t.Fatalf("syncHandler: %v", err)
			}
			if res.requeueAfter != 0 {
				t.Errorf("requeueAfter = %v, want none: an invalid RestoreSession waits for its dependencies", res.requeueAfter)
			}
			rs := f.rs()
			expectPhase(t, rs, corev1alpha1.RestoreInvalid)
			expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionFalse, corev1alpha1.ReasonResourceValidationFailed, tt.fragments...)
			if writes := f.writes(); !slices.Equal(writes, []string{"update restoresessions/status demo/sample-restore"}) {
				t.Errorf("writes = %v, want only the status update", writes)
			}
			expectNoJobs(t, f)
			if ev := f.events(); !hasEvent(ev, "Warning "+EventReasonInvalid+" ") {
				t.Errorf("no Warning %s event in %v", EventReasonInvalid, ev)
			}
			if tt.missingDep != "" {
				found := slices.ContainsFunc(rs.Status.Dependencies, func(d corev1alpha1.ResourceFoundStatus) bool {
					return d.Kind+"/"+d.Name == tt.missingDep && !d.Found
				})
				if !found {
					t.Errorf("dependencies %+v do not list %s as not found", rs.Status.Dependencies, tt.missingDep)
				}
			}

			// The same invalid state again: no new Event, no write.
			f.refresh()
			if _, err := f.sync(); err != nil {
				t.Fatalf("second sync: %v", err)
			}
			if writes := f.writes(); len(writes) != 0 {
				t.Errorf("second sync of an unchanged invalid RestoreSession wrote %v", writes)
			}
			if ev := f.events(); len(ev) != 0 {
				t.Errorf("second sync recorded events %v", ev)
			}
		})
	}
}

func TestValidationUsagePolicyAllows(t *testing.T) {
	from := func(f common.FromNamespaces) *common.FromNamespaces { return &f }
	for name, policy := range map[string]*common.UsagePolicy{
		"All": {AllowedNamespaces: common.AllowedNamespaces{From: from(common.NamespacesFromAll)}},
		"Selector": {AllowedNamespaces: common.AllowedNamespaces{
			From: from(common.NamespacesFromSelector), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"backup": "allowed"}},
		}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			repo := newRepository()
			repo.Spec.StorageRef.Namespace = "storage"
			f.replaceObject(repo)
			bs := newBackupStorage()
			bs.Namespace = "storage"
			bs.Spec.UsagePolicy = policy
			f.objects = append(f.objects, bs)
			f.replaceKubeObject(newNamespace(testNS, map[string]string{"backup": "allowed"}))
			f.start().mustSync()
			expectCondition(t, f.rs(), corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, corev1alpha1.ReasonResourceValidationPassed)
		})
	}
}

// An invalid RestoreSession becomes valid, and proceeds, once the object it
// missed appears.
func TestValidationRecoversWhenDependencyAppears(t *testing.T) {
	f := newFixture(t)
	f.removeObject(newFunction())
	f.start().mustSync()
	expectPhase(t, f.rs(), corev1alpha1.RestoreInvalid)
	expectNoJobs(t, f)

	if _, err := f.client.AddonsV1alpha1().Functions().Create(context.Background(), newFunction(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	f.mustSync()
	rs := f.rs()
	expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionTrue, corev1alpha1.ReasonResourceValidationPassed)
	if rs.Status.Phase == corev1alpha1.RestoreInvalid {
		t.Errorf("phase still Invalid")
	}
	if n := len(f.jobs()); n != 2 {
		t.Errorf("got %d Jobs, want 2", n)
	}
}

// "latest" is the newest Succeeded Snapshot by snapshotTime, and stays the
// resolved one once validation passed.
func TestLatestSnapshot(t *testing.T) {
	f := newFixture(t)
	f.objects = append(f.objects,
		newSnapshot("older", testStart.Add(-2*time.Hour), storagev1alpha1.SnapshotSucceeded),
		newSnapshot("newer-failed", testStart.Add(-10*time.Minute), storagev1alpha1.SnapshotFailed),
	)
	// Other repository's newer snapshot must not count either.
	other := newSnapshot("other-repo-newest", testStart.Add(-time.Minute), storagev1alpha1.SnapshotSucceeded)
	other.Spec.Repository = "other"
	other.Labels[storagev1alpha1.LabelRepoName] = "other"
	f.objects = append(f.objects, other)
	// The target is missing at first: validation passes, no Job yet.
	f.removeObject(newStatefulSet())
	f.start().mustSync()

	rs := f.rs()
	if got := refs.ResolvedSnapshotName(rs); got != testSnapshot {
		t.Fatalf("resolved snapshot = %q, want %q", got, testSnapshot)
	}
	expectNoJobs(t, f)

	// A newer Succeeded Snapshot appears, then the target.
	ctx := context.Background()
	if _, err := f.client.StorageV1alpha1().Snapshots(testNS).Create(ctx, newSnapshot("newest", testStart.Add(time.Minute), storagev1alpha1.SnapshotSucceeded), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.kubeClient.AppsV1().StatefulSets(testNS).Create(ctx, newStatefulSet(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	f.clock.Step(time.Minute)
	f.mustSync()

	rs = f.rs()
	if got := refs.ResolvedSnapshotName(rs); got != testSnapshot {
		t.Errorf("resolved snapshot moved to %q, want %q", got, testSnapshot)
	}
	jobs := f.jobs()
	if len(jobs) != 2 {
		t.Fatalf("got %d Jobs, want 2", len(jobs))
	}
	for _, job := range jobs {
		ctr := job.Spec.Template.Spec.Containers[0]
		if !slices.Contains(ctr.Args, "--snapshot="+testSnapshot) {
			t.Errorf("Job %s args %v do not restore %s", job.Name, ctr.Args, testSnapshot)
		}
		if v := envValue(ctr.Env, "RESTORE_SNAPSHOT"); v != testSnapshot {
			t.Errorf("Job %s RESTORE_SNAPSHOT = %q, want %q", job.Name, v, testSnapshot)
		}
		for _, a := range ctr.Args {
			if strings.Contains(a, "latest") || strings.Contains(a, "newest") {
				t.Errorf("Job %s has arg %q", job.Name, a)
			}
		}
	}
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return "<unset>"
}
