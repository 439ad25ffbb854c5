package main

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/generated/clientset/versioned/fake"
)

// TestRestore runs the example against the generated fake clientset. A
// reactor plays the controller: the RestoreSession is stored Succeeded.
func TestRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := fake.NewClientset()
	client.PrependReactor("create", "restoresessions", func(action k8stesting.Action) (bool, runtime.Object, error) {
		rs := action.(k8stesting.CreateAction).GetObject().(*corev1alpha1.RestoreSession)
		rs.Status.Phase = corev1alpha1.RestoreSucceeded
		return false, nil, nil // the tracker stores it
	})
	rs, err := restore(ctx, client, newRestoreSession("demo", "r"))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Status.Phase != corev1alpha1.RestoreSucceeded {
		t.Fatalf("phase %q, want Succeeded", rs.Status.Phase)
	}
	if got := rs.Spec.DataSource.Components; len(got) != 2 || got[0] != "pod-0" || got[1] != "pod-2" {
		t.Errorf("components %v, want the sample's pod-0 and pod-2", got)
	}
}
