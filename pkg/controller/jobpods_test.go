package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	core "k8s.io/client-go/testing"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// terminated is a container status of a container that exited.
func terminated(name string, code int32, message string, finished time.Time) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, Message: message, FinishedAt: metav1.NewTime(finished),
	}}}
}

// jobPod is a pod of the Job with uid jobUID.
func jobPod(name string, jobUID types.UID, init, containers []corev1.ContainerStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{batchv1.ControllerUidLabel: string(jobUID)}},
		Status:     corev1.PodStatus{Phase: corev1.PodFailed, InitContainerStatuses: init, ContainerStatuses: containers},
	}
}

// When a restore Job fails and its component has no error, the
// termination message of the Job's last failed container becomes the
// component's error and is quoted in RestoreIncomplete; an error the
// executor wrote is kept.
func TestFailedJobTerminationMessage(t *testing.T) {
	const (
		job0    = "restore-sample-restore-pod-0"
		job0UID = types.UID("uid-job0")
		badFlag = `invalid value "many" for flag -parallel: "many" is not an integer`
	)
	t0 := testStart.Add(-time.Minute)
	tests := []struct {
		name string
		// the component's error before the Job fails
		componentError string
		pods           []*corev1.Pod
		// the pods LIST fails with this
		listErr error
		// wantError is the component's error after the sync; wantSyncErr
		// that the sync fails (and writes nothing)
		wantError   string
		wantSyncErr bool
	}{
		{
			name:      "executor exited on a bad flag",
			pods:      []*corev1.Pod{jobPod("p1", job0UID, nil, []corev1.ContainerStatus{terminated("restore", 3, badFlag+"\n", t0)})},
			wantError: "pod p1 container restore exited with code 3: " + badFlag,
		},
		{
			name: "the last failed attempt wins",
			pods: []*corev1.Pod{
				jobPod("p2", job0UID, nil, []corev1.ContainerStatus{terminated("restore", 1, "second attempt", t0.Add(20*time.Second))}),
				jobPod("p1", job0UID, nil, []corev1.ContainerStatus{terminated("restore", 1, "first attempt", t0)}),
			},
			wantError: "pod p2 container restore exited with code 1: second attempt",
		},
		{
			name: "an init container (an earlier task) failed",
			pods: []*corev1.Pod{jobPod("p1", job0UID,
				[]corev1.ContainerStatus{terminated("task-0", 3, "no such snapshot", t0)},
				[]corev1.ContainerStatus{{Name: "restore", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}})},
			wantError: "pod p1 container task-0 exited with code 3: no such snapshot",
		},
		{
			name:           "the executor's own error is kept",
			componentError: "storage unreachable",
			pods:           []*corev1.Pod{jobPod("p1", job0UID, nil, []corev1.ContainerStatus{terminated("restore", 1, "storage unreachable again", t0)})},
			wantError:      "storage unreachable",
		},
		{
			name: "pods of another Job, successful and silent containers are ignored",
			pods: []*corev1.Pod{
				jobPod("other", "uid-other", nil, []corev1.ContainerStatus{terminated("restore", 3, "not mine", t0)}),
				jobPod("p1", job0UID, nil, []corev1.ContainerStatus{terminated("sidecar", 0, "fine", t0), terminated("restore", 137, "", t0)}),
			},
		},
		{
			name:    "pods may not be listed",
			listErr: apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", nil),
		},
		{
			name:        "listing pods fails for now",
			pods:        []*corev1.Pod{jobPod("p1", job0UID, nil, []corev1.ContainerStatus{terminated("restore", 3, badFlag, t0)})},
			listErr:     apierrors.NewServiceUnavailable("etcd is away"),
			wantSyncErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, p := range tt.pods {
				f.kubeObjects = append(f.kubeObjects, p)
			}
			f.start()
			f.mustSync()
			f.setComponents(map[string]corev1alpha1.RestorePhase{"pod-0": corev1alpha1.RestoreRunning, "pod-2": corev1alpha1.RestoreSucceeded})
			if tt.componentError != "" {
				rs := f.rs().DeepCopy()
				c := rs.Status.Components["pod-0"]
				c.Error = tt.componentError
				rs.Status.Components["pod-0"] = c
				if err := f.client.Tracker().Update(gvrRestoreSessions, rs, testNS); err != nil {
					t.Fatal(err)
				}
				f.refresh()
			}
			job, err := f.kubeClient.BatchV1().Jobs(testNS).Get(context.Background(), job0, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			job.UID = job0UID
			if err := f.kubeClient.Tracker().Update(gvrJobs, job, testNS); err != nil {
				t.Fatal(err)
			}
			f.setJobCondition(job0, batchv1.JobFailed, "PodFailurePolicy", "Container restore for pod p1 failed with exit code 3")
			f.setJobCondition("restore-sample-restore-pod-2", batchv1.JobComplete, "", "")
			if tt.listErr != nil {
				f.kubeClient.PrependReactor("list", "pods", func(core.Action) (bool, runtime.Object, error) {
					return true, nil, tt.listErr
				})
			}
			f.writes()

			_, err = f.sync()
			rs := f.rs()
			if tt.wantSyncErr {
				if err == nil {
					t.Fatal("sync succeeded, want the pods LIST error")
				}
				if c := condition(rs, corev1alpha1.TypeRestoreIncomplete); c != nil {
					t.Errorf("RestoreIncomplete set without the termination message: %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := rs.Status.Components["pod-0"].Error; got != tt.wantError {
				t.Errorf("component error = %q, want %q", got, tt.wantError)
			}
			if got := rs.Status.Components["pod-0"].Phase; got != corev1alpha1.RestoreRunning {
				t.Errorf("component phase = %q, want it left as the executor wrote it", got)
			}
			fragments := []string{job0, "PodFailurePolicy"}
			if tt.wantError != "" {
				fragments = append(fragments, "the executor's last error: "+tt.wantError)
			}
			expectCondition(t, rs, corev1alpha1.TypeRestoreIncomplete, metav1.ConditionTrue, corev1alpha1.ReasonRestoreExecutorTerminatedBeforeCompletion, fragments...)
			expectPhase(t, rs, corev1alpha1.RestoreFailed)
			if tt.wantError == "" && strings.Contains(condition(rs, corev1alpha1.TypeRestoreIncomplete).Message, "last error") {
				t.Errorf("RestoreIncomplete quotes an error that is not there: %s", condition(rs, corev1alpha1.TypeRestoreIncomplete).Message)
			}
		})
	}
}
