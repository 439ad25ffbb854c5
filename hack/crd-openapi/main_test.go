package main

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	api "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	acapi "github.com/restore-controller/restore/pkg/generated/applyconfiguration/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned/fake"
)

// TestFakeClientsetAppliesLikeTheServer checks the schema this tool feeds to
// applyconfiguration-gen: with it the generated fake clientset's field
// manager treats status.components as a granular map, so two executors that
// each apply their own component entry keep both, as on a real API server.
func TestFakeClientsetAppliesLikeTheServer(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(&api.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns"}})
	sessions := cs.CoreV1alpha1().RestoreSessions("ns")

	apply := func(component string, phase api.RestorePhase) {
		t.Helper()
		ac := acapi.RestoreSession("rs", "ns").WithStatus(acapi.RestoreSessionStatus().
			WithComponents(map[string]acapi.ComponentRestoreStatusApplyConfiguration{
				component: *acapi.ComponentRestoreStatus().WithPhase(phase),
			}))
		if _, err := sessions.ApplyStatus(ctx, ac, metav1.ApplyOptions{FieldManager: "executor-" + component, Force: true}); err != nil {
			t.Fatalf("apply %s: %v", component, err)
		}
	}
	apply("pod-0", api.RestoreRunning)
	apply("pod-1", api.RestoreSucceeded)
	apply("pod-0", api.RestoreSucceeded)

	got, err := sessions.Get(ctx, "rs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]api.RestorePhase{"pod-0": api.RestoreSucceeded, "pod-1": api.RestoreSucceeded}
	if len(got.Status.Components) != len(want) {
		t.Fatalf("components = %+v, want %v", got.Status.Components, want)
	}
	for name, phase := range want {
		if got.Status.Components[name].Phase != phase {
			t.Errorf("component %s phase = %q, want %q", name, got.Status.Components[name].Phase, phase)
		}
	}
}
