package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/restore-controller/restore/test/framework"
)

// TestStatefulSetWithClaims: a StatefulSet of an unmapped image gets its
// claims from volumeClaimTemplates provisioned and Bound, and its pods are
// reported Ready, so the StatefulSet becomes ready.
func TestStatefulSetWithClaims(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()
	labels := map[string]string{"app": "db"}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](2),
			ServiceName: "db",
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "db", Image: "example.com/some-database:1.0",
					VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/db"}},
				}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
				},
			}},
		},
	}
	if _, err := cs.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Poll(t, 60*time.Second, "statefulset ready", func(ctx context.Context) (bool, string, error) {
		s, err := cs.AppsV1().StatefulSets(ns).Get(ctx, sts.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return s.Status.ReadyReplicas == 2 && s.Status.AvailableReplicas == 2, fmt.Sprintf("%+v", s.Status), nil
	})
	for i := range 2 {
		name := fmt.Sprintf("data-db-%d", i)
		pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("claim %s: %v", name, err)
		}
		if pvc.Status.Phase != corev1.ClaimBound || ptr.Deref(pvc.Spec.StorageClassName, "") != c.Kubelet().StorageClassName() {
			t.Errorf("claim %s: phase %s class %v, want Bound with the default class", name, pvc.Status.Phase, pvc.Spec.StorageClassName)
		}
		pod, err := cs.CoreV1().Pods(ns).Get(ctx, fmt.Sprintf("db-%d", i), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pod.Spec.NodeName != c.NodeName() || pod.Status.PodIP != "127.0.0.1" {
			t.Errorf("pod %s: node %q IP %q", pod.Name, pod.Spec.NodeName, pod.Status.PodIP)
		}
	}
}

// TestOwnerDeletionCollectsJobs: the garbage collector deletes the Jobs of a
// deleted owner, and their pods go with them (the kubelet finalizes them).
func TestOwnerDeletionCollectsJobs(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()
	owner, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}
	var jobs []string
	for i := range 2 {
		job := workloadJob(fmt.Sprintf("owned-%d", i), 0, corev1.RestartPolicyNever, "sleep")
		job.OwnerReferences = []metav1.OwnerReference{ref}
		if _, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, job.Name)
	}
	framework.Poll(t, 30*time.Second, "jobs' pods running", func(ctx context.Context) (bool, string, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == 2, fmt.Sprintf("%d running", running), nil
	})
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, owner.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Poll(t, 60*time.Second, "jobs and pods collected", func(ctx context.Context) (bool, string, error) {
		left := 0
		for _, name := range jobs {
			_, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				left++
			} else if !apierrors.IsNotFound(err) {
				return false, "", err
			}
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		return left == 0 && len(pods.Items) == 0, fmt.Sprintf("%d jobs, %d pods left", left, len(pods.Items)), nil
	})
}

// TestDeploymentAndDaemonSet: a Deployment's and a DaemonSet's pods of
// unmapped images are bound to the node and reported Ready, so both
// workloads become available.
func TestDeploymentAndDaemonSet(t *testing.T) {
	ns := framework.NewNamespace(t, c, "e2e-")
	ctx := context.Background()
	cs := c.Client()
	labels := map[string]string{"app": "web"}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.com/web:2"}}},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Poll(t, 60*time.Second, "deployment available", func(ctx context.Context) (bool, string, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return d.Status.AvailableReplicas == 2 && d.Status.ReadyReplicas == 2, fmt.Sprintf("%+v", d.Status), nil
	})
	framework.Poll(t, 60*time.Second, "daemonset ready", func(ctx context.Context) (bool, string, error) {
		d, err := cs.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return d.Status.DesiredNumberScheduled == 1 && d.Status.NumberReady == 1, fmt.Sprintf("%+v", d.Status), nil
	})
}
