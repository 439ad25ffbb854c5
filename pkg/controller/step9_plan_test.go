package controller

import (
	"fmt"
	"testing"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/controller/jobbuild"
	"github.com/restore-controller/restore/pkg/invocation"
)

func TestDryRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params []map[string]string
		want   bool
	}{
		{name: "no tasks"},
		{name: "param unset", params: []map[string]string{{invocation.ParamResume: "true"}}},
		{name: "default false", params: []map[string]string{{invocation.ParamDryRun: "false"}}},
		{name: "true", params: []map[string]string{{invocation.ParamDryRun: "true"}}, want: true},
		{name: "True on the second task", params: []map[string]string{{}, {invocation.ParamDryRun: "True"}}, want: true},
		{name: "not a bool", params: []map[string]string{{invocation.ParamDryRun: "maybe"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &restoreState{}
			for _, p := range tc.params {
				s.tasks = append(s.tasks, jobbuild.Task{Params: p})
			}
			if got := dryRun(s); got != tc.want {
				t.Errorf("dryRun = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanSummary(t *testing.T) {
	st := &corev1alpha1.RestoreSessionStatus{Components: map[string]corev1alpha1.ComponentRestoreStatus{
		"pod-0": {Phase: corev1alpha1.RestoreSucceeded, Plan: &corev1alpha1.RestorePlan{
			Files: 10, Directories: 2, Symlinks: 1, Bytes: 3 << 20, OverwrittenFiles: 4, KeptFiles: 5, KeptBytes: 1 << 20, DeletedEntries: 1,
			Volumes: []corev1alpha1.RestorePlanVolume{{Path: "/data", FreeBytes: 10 << 20, NeededBytes: 2 << 20, Fits: true}},
		}},
		"pod-1": {Phase: corev1alpha1.RestoreSucceeded, Plan: &corev1alpha1.RestorePlan{
			Files: 1, Bytes: 1 << 20,
			Volumes: []corev1alpha1.RestorePlanVolume{{Path: "/data", FreeBytes: 512 << 10, NeededBytes: 1 << 20}},
		}},
	}}
	want := fmt.Sprintf(EventMessageRestorePlanned, 2, 11, "4.0 MiB", 2, 1, 4, 5, "1.0 MiB", 1, "3.0 MiB",
		"; too little space: pod-1: /data needs 1.0 MiB, has 512.0 KiB free")
	if got := planSummary(st); got != want {
		t.Errorf("planSummary:\n got %s\nwant %s", got, want)
	}
	delete(st.Components, "pod-1")
	if got := planSummary(st); got != fmt.Sprintf(EventMessageRestorePlanned, 1, 10, "3.0 MiB", 2, 1, 4, 5, "1.0 MiB", 1, "2.0 MiB", ", all of it free") {
		t.Errorf("planSummary of a plan that fits: %s", got)
	}
}
