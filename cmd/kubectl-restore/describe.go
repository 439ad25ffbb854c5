package main

import (
	"context"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/restoreview"
)

// describe prints the RestoreSession and the Events about it.
func describe(ctx context.Context, c *clients, name string, out io.Writer) error {
	rs, err := c.restore.CoreV1alpha1().RestoreSessions(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	// Events about this RestoreSession object (its uid: not an earlier
	// one of the same name).
	selector := fields.Set{
		"involvedObject.kind": "RestoreSession",
		"involvedObject.name": rs.Name,
		"involvedObject.uid":  string(rs.UID),
	}.AsSelector().String()
	events, err := c.kube.CoreV1().Events(c.namespace).List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		return fmt.Errorf("listing the Events of RestoreSession %s/%s: %w", c.namespace, name, err)
	}
	return restoreview.Describe(out, rs, events.Items, time.Now())
}

// watch follows the RestoreSession until it ends; a Failed restore exits 1.
func watch(ctx context.Context, c *clients, name string, out io.Writer, live bool, timeout time.Duration) error {
	get := func(ctx context.Context) (*corev1alpha1.RestoreSession, error) {
		return c.restore.CoreV1alpha1().RestoreSessions(c.namespace).Get(ctx, name, metav1.GetOptions{})
	}
	rs, err := restoreview.Follow(ctx, get, restoreview.FollowOptions{Out: out, Live: live, Timeout: timeout})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "RestoreSession %s/%s %s", rs.Namespace, rs.Name, rs.Status.Phase)
	if rs.Status.Duration != "" {
		fmt.Fprintf(out, " after %s", rs.Status.Duration)
	}
	fmt.Fprintln(out)
	if rs.Status.Phase != corev1alpha1.RestoreSucceeded {
		return exitError(1)
	}
	return nil
}
