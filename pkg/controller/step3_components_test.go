package controller

import (
	"slices"
	"testing"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestComponents(t *testing.T) {
	tests := []struct {
		name      string
		requested []string
		want      []string
	}{
		{"all components when none requested", nil, []string{"pod-0", "pod-1", "pod-2"}},
		{"subset", []string{"pod-2"}, []string{"pod-2"}},
		{"sample", []string{"pod-0", "pod-2"}, []string{"pod-0", "pod-2"}},
		{"duplicates count once", []string{"pod-2", "pod-0", "pod-2"}, []string{"pod-0", "pod-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.editRS(func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Components = tt.requested })
			f.start().mustSync()
			rs := f.rs()
			if int(rs.Status.TotalComponents) != len(tt.want) {
				t.Errorf("totalComponents = %d, want %d", rs.Status.TotalComponents, len(tt.want))
			}
			var got []string
			for _, job := range f.jobs() {
				got = append(got, job.Annotations[AnnotationComponent])
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Jobs restore components %v, want %v", got, tt.want)
			}
		})
	}
}
