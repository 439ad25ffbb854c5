package metricspush

import (
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// finishedRestore is a RestoreSession of StatefulSet db restoring the
// latest Snapshot of repository repo in namespace demo, as the final step
// sees it. mutate adjusts it per case.
func finishedRestore(mutate func(*corev1alpha1.RestoreSession)) *corev1alpha1.RestoreSession {
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "restore-db"},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target:     &common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: "db"},
			DataSource: corev1alpha1.RestoreDataSource{Repository: "repo", Snapshot: corev1alpha1.SnapshotLatest},
			Addon:      corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}},
		},
		Status: corev1alpha1.RestoreSessionStatus{
			Phase:           corev1alpha1.RestoreSucceeded,
			Duration:        "1m30.5s",
			TotalComponents: 2,
			Components: map[string]corev1alpha1.ComponentRestoreStatus{
				"pod-0": {Phase: corev1alpha1.RestoreSucceeded, Duration: "40s", Progress: &corev1alpha1.RestoreProgress{RestoredBytes: 1024}},
				"pod-1": {Phase: corev1alpha1.RestoreSucceeded, Duration: "1m0.25s", Progress: &corev1alpha1.RestoreProgress{RestoredBytes: 2048}},
			},
			Dependencies: []corev1alpha1.ResourceFoundStatus{
				{APIGroup: "storage.kubestash.com", Kind: "Snapshot", Namespace: "demo", Name: "repo-snap-1", Found: true},
				{APIGroup: "storage.kubestash.com", Kind: "Repository", Namespace: "demo", Name: "repo", Found: true},
			},
		},
	}
	if mutate != nil {
		mutate(rs)
	}
	return rs
}

func TestRestoreMetrics(t *testing.T) {
	tests := []struct {
		name string
		rs   *corev1alpha1.RestoreSession
		// want is the exposition of the metrics named in metrics.
		want    string
		metrics []string
	}{
		{
			name: "succeeded StatefulSet restore of the latest snapshot",
			rs:   finishedRestore(nil),
			want: `
# HELP restoresession_phase 1 for the phase the restore ended in, 0 for the other phases.
# TYPE restoresession_phase gauge
restoresession_phase{addon="workload-addon",phase="Failed",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
restoresession_phase{addon="workload-addon",phase="Invalid",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
restoresession_phase{addon="workload-addon",phase="Pending",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
restoresession_phase{addon="workload-addon",phase="Running",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
restoresession_phase{addon="workload-addon",phase="Succeeded",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
restoresession_phase{addon="workload-addon",phase="Unknown",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
# HELP restoresession_duration_seconds Time from the RestoreSession's creation to its final step, in seconds.
# TYPE restoresession_duration_seconds gauge
restoresession_duration_seconds{addon="workload-addon",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 90.5
# HELP restoresession_components Components the restore covers (status.totalComponents).
# TYPE restoresession_components gauge
restoresession_components{addon="workload-addon",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 2
# HELP restoresession_components_succeeded Components restored successfully.
# TYPE restoresession_components_succeeded gauge
restoresession_components_succeeded{addon="workload-addon",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 2
# HELP restoresession_components_failed Components whose restore failed.
# TYPE restoresession_components_failed gauge
restoresession_components_failed{addon="workload-addon",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
# HELP restoresession_component_phase 1, labelled with the component's phase.
# TYPE restoresession_component_phase gauge
restoresession_component_phase{addon="workload-addon",component="pod-0",phase="Succeeded",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
restoresession_component_phase{addon="workload-addon",component="pod-1",phase="Succeeded",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
# HELP restoresession_component_duration_seconds Time the component's restore took, in seconds.
# TYPE restoresession_component_duration_seconds gauge
restoresession_component_duration_seconds{addon="workload-addon",component="pod-0",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 40
restoresession_component_duration_seconds{addon="workload-addon",component="pod-1",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 60.25
# HELP restoresession_component_restored_bytes Bytes the component's restore wrote.
# TYPE restoresession_component_restored_bytes gauge
restoresession_component_restored_bytes{addon="workload-addon",component="pod-0",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1024
restoresession_component_restored_bytes{addon="workload-addon",component="pod-1",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 2048
`,
		},
		{
			// A component that failed, one never reported, one that
			// reported no phase; the Snapshot is named and its Repository
			// only known from status.dependencies.
			name: "failed restore counts components by phase",
			rs: finishedRestore(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.DataSource = corev1alpha1.RestoreDataSource{Namespace: "backups", Snapshot: "snap-7"}
				rs.Status.Phase = corev1alpha1.RestoreFailed
				rs.Status.Duration = "2s"
				rs.Status.TotalComponents = 4
				rs.Status.Components = map[string]corev1alpha1.ComponentRestoreStatus{
					"pod-0": {Phase: corev1alpha1.RestoreFailed, Duration: "1.5s", Error: "invalid repository password"},
					"pod-1": {Phase: corev1alpha1.RestoreSucceeded, Duration: "1s"},
					"pod-2": {},
				}
				rs.Status.Dependencies = []corev1alpha1.ResourceFoundStatus{
					{Kind: "Snapshot", Namespace: "backups", Name: "snap-7", Found: true},
					{Kind: "Repository", Namespace: "backups", Name: "snap-repo", Found: true},
				}
			}),
			metrics: []string{MetricPhase, MetricComponents, MetricComponentsSucceeded, MetricComponentsFailed, MetricComponentPhase, MetricComponentDuration},
			want: `
# HELP restoresession_phase 1 for the phase the restore ended in, 0 for the other phases.
# TYPE restoresession_phase gauge
restoresession_phase{addon="workload-addon",phase="Failed",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
restoresession_phase{addon="workload-addon",phase="Invalid",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
restoresession_phase{addon="workload-addon",phase="Pending",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
restoresession_phase{addon="workload-addon",phase="Running",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
restoresession_phase{addon="workload-addon",phase="Succeeded",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
restoresession_phase{addon="workload-addon",phase="Unknown",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 0
# HELP restoresession_components Components the restore covers (status.totalComponents).
# TYPE restoresession_components gauge
restoresession_components{addon="workload-addon",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 4
# HELP restoresession_components_succeeded Components restored successfully.
# TYPE restoresession_components_succeeded gauge
restoresession_components_succeeded{addon="workload-addon",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
# HELP restoresession_components_failed Components whose restore failed.
# TYPE restoresession_components_failed gauge
restoresession_components_failed{addon="workload-addon",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
# HELP restoresession_component_phase 1, labelled with the component's phase.
# TYPE restoresession_component_phase gauge
restoresession_component_phase{addon="workload-addon",component="pod-0",phase="Failed",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
restoresession_component_phase{addon="workload-addon",component="pod-1",phase="Succeeded",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
restoresession_component_phase{addon="workload-addon",component="pod-2",phase="Unknown",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
# HELP restoresession_component_duration_seconds Time the component's restore took, in seconds.
# TYPE restoresession_component_duration_seconds gauge
restoresession_component_duration_seconds{addon="workload-addon",component="pod-0",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1.5
restoresession_component_duration_seconds{addon="workload-addon",component="pod-1",repository="snap-repo",repository_namespace="backups",snapshot="snap-7",target_kind="StatefulSet",target_name="db",target_namespace="demo"} 1
`,
		},
		{
			// A manifest restore has no target; an unresolved "latest"
			// keeps the spec's value.
			name: "no target and no resolved dependencies",
			rs: finishedRestore(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.Target = nil
				rs.Status.Phase = corev1alpha1.RestoreInvalid
				rs.Status.Dependencies = nil
				rs.Status.TotalComponents = 0
				rs.Status.Components = nil
			}),
			metrics: []string{MetricDuration, MetricComponentsSucceeded, MetricComponentPhase},
			want: `
# HELP restoresession_duration_seconds Time from the RestoreSession's creation to its final step, in seconds.
# TYPE restoresession_duration_seconds gauge
restoresession_duration_seconds{addon="workload-addon",repository="repo",repository_namespace="demo",snapshot="latest",target_kind="",target_name="",target_namespace=""} 90.5
# HELP restoresession_components_succeeded Components restored successfully.
# TYPE restoresession_components_succeeded gauge
restoresession_components_succeeded{addon="workload-addon",repository="repo",repository_namespace="demo",snapshot="latest",target_kind="",target_name="",target_namespace=""} 0
`,
		},
		{
			name: "target in an explicit namespace",
			rs: finishedRestore(func(rs *corev1alpha1.RestoreSession) {
				rs.Spec.Target = &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Namespace: "demo", Name: "data"}
			}),
			metrics: []string{MetricComponents},
			want: `
# HELP restoresession_components Components the restore covers (status.totalComponents).
# TYPE restoresession_components gauge
restoresession_components{addon="workload-addon",repository="repo",repository_namespace="demo",snapshot="repo-snap-1",target_kind="PersistentVolumeClaim",target_name="data",target_namespace="demo"} 2
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.rs.DeepCopy()
			reg, err := restoreMetrics(tt.rs)
			if err != nil {
				t.Fatal(err)
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(tt.want), tt.metrics...); err != nil {
				t.Error(err)
			}
			problems, err := testutil.GatherAndLint(reg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
			if !reflect.DeepEqual(before, tt.rs) {
				t.Error("restoreMetrics changed the RestoreSession")
			}
		})
	}
}

func TestRestoreMetricsErrors(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*corev1alpha1.RestoreSession)
		wantErr string
	}{
		{"no phase", func(rs *corev1alpha1.RestoreSession) { rs.Status.Phase = "" }, `status.phase "" is not a restore phase`},
		{"unknown phase", func(rs *corev1alpha1.RestoreSession) { rs.Status.Phase = "Done" }, `status.phase "Done" is not a restore phase`},
		{"no duration", func(rs *corev1alpha1.RestoreSession) { rs.Status.Duration = "" }, "status.duration is empty"},
		{"bad duration", func(rs *corev1alpha1.RestoreSession) { rs.Status.Duration = "90" }, `status.duration "90" is not a duration`},
		{"bad component duration", func(rs *corev1alpha1.RestoreSession) {
			rs.Status.Components["pod-1"] = corev1alpha1.ComponentRestoreStatus{Phase: corev1alpha1.RestoreSucceeded, Duration: "soon"}
		}, `status.components["pod-1"].duration "soon" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := restoreMetrics(finishedRestore(tt.mutate))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
