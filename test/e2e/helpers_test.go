package e2e

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// workloadJob is a Job whose pod runs the testworkload with args (see
// cmd/testworkload) under the restart policy and backoff limit given.
func workloadJob(name string, backoff int32, policy corev1.RestartPolicy, args ...string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(backoff),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy:                 policy,
				TerminationGracePeriodSeconds: ptr.To[int64](5),
				Containers: []corev1.Container{{
					Name: "work", Image: workloadImage, Command: []string{"/testworkload"}, Args: args,
				}},
			}},
		},
	}
}
