package status

import (
	"testing"

	api "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestProgress(t *testing.T) {
	at := func(phase api.RestorePhase, percent int32) api.ComponentRestoreStatus {
		return api.ComponentRestoreStatus{Phase: phase, Progress: &api.RestoreProgress{Percentage: percent}}
	}
	tests := []struct {
		name       string
		total      int32
		components map[string]api.ComponentRestoreStatus
		want       string
	}{
		{name: "nothing known yet", want: ""},
		{name: "total known, nothing reported", total: 3, want: "0/3 components, 0%"},
		{name: "two of three succeeded", total: 3,
			components: map[string]api.ComponentRestoreStatus{"pod-0": {Phase: api.RestoreSucceeded}, "pod-1": {Phase: api.RestoreSucceeded}},
			want:       "2/3 components, 67%"},
		{name: "running component counts its percentage", total: 2,
			components: map[string]api.ComponentRestoreStatus{"pod-0": {Phase: api.RestoreSucceeded}, "pod-1": at(api.RestoreRunning, 40)},
			want:       "1/2 components, 70%"},
		{name: "percentage counts in steps of ten", total: 1,
			components: map[string]api.ComponentRestoreStatus{"dump": at(api.RestoreRunning, 49)},
			want:       "0/1 components, 40%"},
		{name: "a report within a step leaves the summary unchanged", total: 1,
			components: map[string]api.ComponentRestoreStatus{"dump": at(api.RestoreRunning, 9)},
			want:       "0/1 components, 0%"},
		{name: "running without progress counts zero", total: 2,
			components: map[string]api.ComponentRestoreStatus{"pod-0": at(api.RestoreRunning, 50), "pod-1": {Phase: api.RestoreRunning}},
			want:       "0/2 components, 25%"},
		{name: "all succeeded", total: 2,
			components: map[string]api.ComponentRestoreStatus{"pod-0": {Phase: api.RestoreSucceeded}, "pod-1": {Phase: api.RestoreSucceeded}},
			want:       "2/2 components, 100%"},
		{name: "all bytes written but not yet succeeded is not 100", total: 1,
			components: map[string]api.ComponentRestoreStatus{"dump": at(api.RestoreRunning, 100)},
			want:       "0/1 components, 99%"},
		{name: "many components round up to 100 only when done", total: 200,
			components: func() map[string]api.ComponentRestoreStatus {
				m := map[string]api.ComponentRestoreStatus{}
				for i := range 199 {
					m[string(rune('a'+i%26))+string(rune('a'+i/26))] = api.ComponentRestoreStatus{Phase: api.RestoreSucceeded}
				}
				m["last"] = at(api.RestoreRunning, 10)
				return m
			}(),
			want: "199/200 components, 99%"},
		{name: "failed component is counted and named", total: 2,
			components: map[string]api.ComponentRestoreStatus{"pod-0": {Phase: api.RestoreSucceeded}, "pod-1": at(api.RestoreFailed, 30)},
			want:       "1/2 components, 65%, 1 failed"},
		{name: "components before total is recorded", total: 0,
			components: map[string]api.ComponentRestoreStatus{"dump": at(api.RestoreRunning, 25)},
			want:       "0/1 components, 20%"},
		{name: "out of range percentage is clamped", total: 2,
			components: map[string]api.ComponentRestoreStatus{"pod-0": at(api.RestoreRunning, 250), "pod-1": at(api.RestoreRunning, -5)},
			want:       "0/2 components, 50%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &api.RestoreSessionStatus{TotalComponents: tt.total, Components: tt.components}
			if got := Progress(st); got != tt.want {
				t.Errorf("Progress() = %q, want %q", got, tt.want)
			}
		})
	}
}
