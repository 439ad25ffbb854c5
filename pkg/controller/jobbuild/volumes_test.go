package jobbuild

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/apis/common"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

func TestAddonVolumes(t *testing.T) {
	claim := &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("fast")}}
	task := Task{
		AddonTask: addonsv1alpha1.Task{VolumeTemplate: []addonsv1alpha1.VolumeTemplate{
			{Name: "cache", Source: &common.VolumeSource{VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			{Name: "scratch", Source: &common.VolumeSource{VolumeClaimTemplate: claim}},
			{Name: "overridden", Source: &common.VolumeSource{VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			{Name: "no-source"},
		}},
		Ref: corev1alpha1.TaskReference{AddonVolumes: []common.NamedVolumeSource{{
			Name: "overridden", Source: &common.VolumeSource{VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv"}}},
		}}},
	}
	got := addonVolumes(task)
	if len(got) != 3 {
		t.Fatalf("%d volumes, want 3 (a template without source is skipped): %+v", len(got), got)
	}
	if got[0].Name != "cache" || got[0].EmptyDir == nil {
		t.Errorf("cache = %+v, want the template's emptyDir", got[0])
	}
	if got[1].Ephemeral == nil || got[1].Ephemeral.VolumeClaimTemplate.Spec.StorageClassName == nil ||
		*got[1].Ephemeral.VolumeClaimTemplate.Spec.StorageClassName != "fast" {
		t.Errorf("scratch = %+v, want an ephemeral volume from the claim template", got[1])
	}
	if got[2].HostPath == nil || got[2].HostPath.Path != "/srv" || got[2].EmptyDir != nil {
		t.Errorf("overridden = %+v, want the user's addonVolumes source only", got[2])
	}
}
