package kubelet

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

const (
	annProvisionedBy      = "pv.kubernetes.io/provisioned-by"
	annStorageProvisioner = "volume.kubernetes.io/storage-provisioner"
	annDefaultClass       = "storageclass.kubernetes.io/is-default-class"
	// annSelectedNode is set on a claim of a WaitForFirstConsumer class by
	// the scheduler (here: bind) when a pod using it is placed; only then
	// does kube-controller-manager hand the claim to the provisioner.
	annSelectedNode = "volume.kubernetes.io/selected-node"
)

// WaitForFirstConsumerStorageClass is the second StorageClass the
// provisioner serves: volumeBindingMode WaitForFirstConsumer, so its claims
// stay Pending (kube-controller-manager records the Event
// WaitForFirstConsumer on them) until a pod using them is bound to the
// node, and are provisioned then.
const WaitForFirstConsumerStorageClass = "standard-wffc"

// ensureStorageClass creates the StorageClasses served by the
// provisioner: the default one binds Immediately (claims are provisioned
// as soon as they exist, as pods can only ever land on this one node);
// WaitForFirstConsumerStorageClass waits for a pod, as many CSI classes do.
func (k *Kubelet) ensureStorageClass(ctx context.Context) error {
	for _, sc := range []*storagev1.StorageClass{{
		ObjectMeta:        metav1.ObjectMeta{Name: k.cfg.StorageClassName, Annotations: map[string]string{annDefaultClass: "true"}},
		Provisioner:       Provisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}, {
		ObjectMeta:        metav1.ObjectMeta{Name: WaitForFirstConsumerStorageClass},
		Provisioner:       Provisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}} {
		_, err := k.client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating StorageClass %s: %w", sc.Name, err)
		}
	}
	return nil
}

// selectNodeForClaims does what kube-scheduler's volume binding does for
// a pod about to be placed: each claim of the pod that waits for its first
// consumer (unbound, of a WaitForFirstConsumer class, no node selected
// yet) gets this node as its selected node, which lets
// kube-controller-manager hand it to the provisioner. The pod worker waits
// for the claims to be bound before it starts containers.
func (k *Kubelet) selectNodeForClaims(ctx context.Context, pod *corev1.Pod) error {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		pvc, err := k.client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, v.PersistentVolumeClaim.ClaimName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // the pod worker reports the missing claim
		}
		if err != nil {
			return err
		}
		if pvc.Spec.VolumeName != "" || pvc.Annotations[annSelectedNode] != "" || pvc.Spec.StorageClassName == nil {
			continue
		}
		sc, err := k.client.StorageV1().StorageClasses().Get(ctx, *pvc.Spec.StorageClassName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if ptr.Deref(sc.VolumeBindingMode, storagev1.VolumeBindingImmediate) != storagev1.VolumeBindingWaitForFirstConsumer {
			continue
		}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, annSelectedNode, k.cfg.NodeName)
		if _, err := k.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Patch(ctx, pvc.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return err
		}
		klog.FromContext(ctx).V(2).Info("Selected the node for a claim waiting for its first consumer", "pvc", klog.KObj(pvc), "pod", klog.KObj(pod), "node", k.cfg.NodeName)
	}
	return nil
}

// startProvisioner watches claims and volumes. It acts as an external
// provisioner: for a pending claim of its class it creates a hostPath PV
// (a directory under RootDir/volumes) pre-bound to the claim through
// claimRef; kube-controller-manager's persistentvolume-binder then completes
// the binding, so claims become Bound the regular way. A Released volume of
// its own (reclaim policy Delete) is removed with its directory.
func (k *Kubelet) startProvisioner() error {
	pvcs := k.factory.Core().V1().PersistentVolumeClaims().Informer()
	if _, err := pvcs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.provision(obj) },
		UpdateFunc: func(_, obj any) { k.provision(obj) },
	}); err != nil {
		return err
	}
	pvs := k.factory.Core().V1().PersistentVolumes().Informer()
	_, err := pvs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.reclaim(obj) },
		UpdateFunc: func(_, obj any) { k.reclaim(obj) },
	})
	return err
}

func (k *Kubelet) provision(obj any) {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok || pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil || pvc.Status.Phase == corev1.ClaimBound {
		return
	}
	class := ptr.Deref(pvc.Spec.StorageClassName, "")
	if class != k.cfg.StorageClassName && pvc.Annotations[annStorageProvisioner] != Provisioner {
		return
	}
	ctx := k.ctx
	logger := klog.FromContext(ctx)
	name := "pvc-" + string(pvc.UID)
	dir := k.VolumeDir(name)
	if ds := pvc.Spec.DataSource; ds != nil && ptr.Deref(ds.APIGroup, "") == snapshotGroup && ds.Kind == "VolumeSnapshot" {
		if err := k.fillFromSnapshot(ctx, pvc, dir); err != nil {
			k.retryProvision(pvc, err)
			return
		}
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		logger.Error(err, "Provisioning volume", "pvc", klog.KObj(pvc))
		return
	}
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	modes := pvc.Spec.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annProvisionedBy: Provisioner}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              class,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: ptr.To(corev1.HostPathDirectoryOrCreate)},
			},
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
		},
	}
	if size.IsZero() {
		pv.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("1Gi")
	}
	if _, err := k.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			logger.Error(err, "Creating PersistentVolume", "pvc", klog.KObj(pvc))
		}
		return
	}
	logger.V(2).Info("Provisioned volume", "pvc", klog.KObj(pvc), "pv", name, "dir", dir)
}

func (k *Kubelet) reclaim(obj any) {
	pv, ok := obj.(*corev1.PersistentVolume)
	if !ok || pv.Annotations[annProvisionedBy] != Provisioner || pv.DeletionTimestamp != nil {
		return
	}
	if pv.Status.Phase != corev1.VolumeReleased || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		return
	}
	logger := klog.FromContext(k.ctx)
	if err := os.RemoveAll(k.VolumeDir(pv.Name)); err != nil {
		logger.Error(err, "Removing volume directory", "pv", pv.Name)
		return
	}
	err := k.client.CoreV1().PersistentVolumes().Delete(k.ctx, pv.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		logger.Error(err, "Deleting released volume", "pv", pv.Name)
		return
	}
	logger.V(2).Info("Deleted released volume", "pv", pv.Name)
}
