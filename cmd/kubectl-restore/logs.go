package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/restore-controller/restore/pkg/controller"
	"github.com/restore-controller/restore/pkg/controller/names"
)

// jobPodLabel is the label the Job controller puts on a Job's pods.
const jobPodLabel = batchv1.JobNameLabel

// logSource is one container of one executor pod whose log is printed,
// with the prefix of its lines.
type logSource struct {
	pod, container, prefix string
}

// logs prints the logs of the RestoreSession's Jobs' pods: restore Jobs
// (one per component) and hook Jobs, or only component's restore Job.
// Each line is prefixed with [component pod] or [job pod] for hooks.
func logs(ctx context.Context, c *clients, name, component string, follow bool, out io.Writer) error {
	selector := labels.Set{
		controller.LabelManagedBy:        controller.ManagedByValue,
		controller.LabelInvokerKind:      "RestoreSession",
		controller.LabelInvokerName:      names.LabelValue(name),
		controller.LabelInvokerNamespace: c.namespace,
	}.AsSelector().String()
	jobs, err := c.kube.BatchV1().Jobs(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Errorf("listing the Jobs of RestoreSession %s/%s: %w", c.namespace, name, err)
	}
	selected, err := selectJobs(jobs.Items, component)
	if err != nil {
		return fmt.Errorf("RestoreSession %s/%s: %w", c.namespace, name, err)
	}
	var sources []logSource
	for _, job := range selected {
		pods, err := c.kube.CoreV1().Pods(c.namespace).List(ctx, metav1.ListOptions{
			LabelSelector: labels.Set{jobPodLabel: job.Name}.AsSelector().String(),
		})
		if err != nil {
			return fmt.Errorf("listing the pods of Job %s: %w", job.Name, err)
		}
		sources = append(sources, podSources(jobLabel(job), pods.Items)...)
	}
	if len(sources) == 0 {
		return fmt.Errorf("RestoreSession %s/%s has no executor pods yet", c.namespace, name)
	}
	// Whole logs one after another; followed logs interleave by line.
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(sources))
	for i, s := range sources {
		printLog := func() {
			errs[i] = streamLog(ctx, c, s, follow, out, &mu)
		}
		if follow {
			wg.Go(printLog)
		} else {
			printLog()
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// selectJobs orders the Jobs by component (hooks, which have none, by
// name after them) and keeps those of component if it is set.
func selectJobs(jobs []batchv1.Job, component string) ([]batchv1.Job, error) {
	var out []batchv1.Job
	var known []string
	for _, j := range jobs {
		comp := j.Annotations[controller.AnnotationComponent]
		if comp != "" {
			known = append(known, comp)
		}
		if component == "" || comp == component {
			out = append(out, j)
		}
	}
	if component != "" && len(out) == 0 {
		slices.Sort(known)
		known = slices.Compact(known)
		return nil, fmt.Errorf("no restore Job of component %q (components with Jobs: %s)", component, strings.Join(known, ", "))
	}
	slices.SortFunc(out, func(a, b batchv1.Job) int {
		return strings.Compare(jobLabel(a)+"\x00"+a.Name, jobLabel(b)+"\x00"+b.Name)
	})
	return out, nil
}

// jobLabel names a Job in log prefixes: its component, else ("~" sorts
// hooks after components) its name.
func jobLabel(j batchv1.Job) string {
	if comp := j.Annotations[controller.AnnotationComponent]; comp != "" {
		return comp
	}
	return "~" + j.Name
}

// podSources are the containers of pods (oldest pod, i.e. first attempt,
// first) with their line prefixes.
func podSources(label string, pods []corev1.Pod) []logSource {
	label = strings.TrimPrefix(label, "~")
	slices.SortFunc(pods, func(a, b corev1.Pod) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	var out []logSource
	for _, p := range pods {
		for _, ctr := range p.Spec.Containers {
			prefix := fmt.Sprintf("[%s %s]", label, p.Name)
			if len(p.Spec.Containers) > 1 {
				prefix = fmt.Sprintf("[%s %s/%s]", label, p.Name, ctr.Name)
			}
			out = append(out, logSource{pod: p.Name, container: ctr.Name, prefix: prefix})
		}
	}
	return out
}

// streamLog copies one container's log to out, each line prefixed; mu
// keeps concurrent streams' lines whole.
func streamLog(ctx context.Context, c *clients, s logSource, follow bool, out io.Writer, mu *sync.Mutex) error {
	rc, err := c.kube.CoreV1().Pods(c.namespace).GetLogs(s.pod, &corev1.PodLogOptions{Container: s.container, Follow: follow}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("logs of pod %s container %s: %w", s.pod, s.container, err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		mu.Lock()
		_, err := fmt.Fprintf(out, "%s %s\n", s.prefix, sc.Text())
		mu.Unlock()
		if err != nil {
			return err
		}
	}
	return sc.Err()
}
