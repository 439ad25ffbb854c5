package hookaction

import (
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func ownedPod(name string, owners ...metav1.OwnerReference) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", OwnerReferences: owners}}
}

func TestFilterOwned(t *testing.T) {
	ref := func(apiVersion, kind, name, uid string) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: k8stypes.UID("u-" + uid)}
	}
	pods := []corev1.Pod{
		ownedPod("sts-0", ref("apps/v1", "StatefulSet", "db", "1")),
		ownedPod("web-abc", ref("apps/v1", "ReplicaSet", "web-123", "2")),
		ownedPod("other-xyz", ref("apps/v1", "ReplicaSet", "other-456", "3")),
		ownedPod("bare"),
	}
	rsOwners := map[string][]metav1.OwnerReference{
		"web-123":   {ref("apps/v1", "Deployment", "web", "4")},
		"other-456": {ref("apps/v1", "Deployment", "other", "5")},
	}
	lookups := 0
	lookup := func(name string) ([]metav1.OwnerReference, error) {
		lookups++
		return rsOwners[name], nil
	}
	cases := []struct {
		name    string
		owner   *v1alpha1.PodOwnerReference
		want    []string
		wantErr string
	}{
		{name: "no owner keeps all", want: []string{"sts-0", "web-abc", "other-xyz", "bare"}},
		{name: "direct owner", owner: &v1alpha1.PodOwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"}, want: []string{"sts-0"}},
		{name: "another version of the group", owner: &v1alpha1.PodOwnerReference{APIVersion: "apps/v1beta2", Kind: "StatefulSet", Name: "db"}, want: []string{"sts-0"}},
		{name: "Deployment through its ReplicaSet (KubeStash docs)", owner: &v1alpha1.PodOwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, want: []string{"web-abc"}},
		{name: "uid must match when set", owner: &v1alpha1.PodOwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "u-9"},
			wantErr: "none of the 4 selected pods is owned by StatefulSet db"},
		{name: "wrong group", owner: &v1alpha1.PodOwnerReference{APIVersion: "v1", Kind: "StatefulSet", Name: "db"},
			wantErr: "none of the 4 selected pods is owned by StatefulSet db (executor.pod.owner)"},
		{name: "bad apiVersion", owner: &v1alpha1.PodOwnerReference{APIVersion: "a/b/c", Kind: "X", Name: "y"}, wantErr: `executor.pod.owner.apiVersion "a/b/c"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FilterOwned(pods, tc.owner, lookup)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FilterOwned = %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("kept %v, want %v", names, tc.want)
			}
		})
	}

	lookups = 0
	twoPods := []corev1.Pod{pods[1], ownedPod("web-def", ref("apps/v1", "ReplicaSet", "web-123", "2"))}
	if _, err := FilterOwned(twoPods, &v1alpha1.PodOwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, lookup); err != nil || lookups != 1 {
		t.Errorf("two pods of one ReplicaSet: err %v, %d lookups, want one", err, lookups)
	}
	failing := func(string) ([]metav1.OwnerReference, error) { return nil, errors.New("boom") }
	if _, err := FilterOwned(pods, &v1alpha1.PodOwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, failing); err == nil || !strings.Contains(err.Error(), "reading ReplicaSet ns/web-123, owner of pod web-abc: boom") {
		t.Errorf("failed lookup: err = %v", err)
	}
}
