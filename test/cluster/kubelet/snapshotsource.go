package kubelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
)

// The provisioner restores claims from VolumeSnapshots the way a CSI
// driver would, with directories for snapshots: the snapshotHandle of a
// ready VolumeSnapshotContent is the absolute path of a directory, and a
// claim whose dataSource is a ready VolumeSnapshot bound to that content
// gets a new volume holding a copy of it. No snapshot controller runs:
// tests create pre-provisioned VolumeSnapshotContents (spec.source.snapshotHandle)
// and VolumeSnapshots, and set their status (readyToUse, the bound content
// name) themselves.

const snapshotGroup = "snapshot.storage.k8s.io"

var (
	volumeSnapshotsGVR        = schema.GroupVersionResource{Group: snapshotGroup, Version: "v1", Resource: "volumesnapshots"}
	volumeSnapshotContentsGVR = schema.GroupVersionResource{Group: snapshotGroup, Version: "v1", Resource: "volumesnapshotcontents"}
)

// snapshotRetryInterval is how soon a claim whose snapshot is not ready
// yet is looked at again.
const snapshotRetryInterval = time.Second

// SnapshotDir returns the directory a ready VolumeSnapshot ns/name stands
// for: its bound content's snapshotHandle (status, else spec.source).
func (k *Kubelet) SnapshotDir(ctx context.Context, ns, name string) (string, error) {
	if k.cfg.Dynamic == nil {
		return "", errors.New("the kubelet has no dynamic client to read VolumeSnapshots")
	}
	vs, err := k.cfg.Dynamic.Resource(volumeSnapshotsGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("getting VolumeSnapshot %s/%s: %w", ns, name, err)
	}
	if ready, _, _ := unstructured.NestedBool(vs.Object, "status", "readyToUse"); !ready {
		return "", fmt.Errorf("VolumeSnapshot %s/%s is not ready to use", ns, name)
	}
	contentName, _, _ := unstructured.NestedString(vs.Object, "status", "boundVolumeSnapshotContentName")
	if contentName == "" {
		return "", fmt.Errorf("VolumeSnapshot %s/%s is bound to no VolumeSnapshotContent", ns, name)
	}
	content, err := k.cfg.Dynamic.Resource(volumeSnapshotContentsGVR).Get(ctx, contentName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("getting VolumeSnapshotContent %s of VolumeSnapshot %s/%s: %w", contentName, ns, name, err)
	}
	refNS, _, _ := unstructured.NestedString(content.Object, "spec", "volumeSnapshotRef", "namespace")
	refName, _, _ := unstructured.NestedString(content.Object, "spec", "volumeSnapshotRef", "name")
	if refNS != ns || refName != name {
		return "", fmt.Errorf("VolumeSnapshotContent %s is bound to %s/%s, not to VolumeSnapshot %s/%s", contentName, refNS, refName, ns, name)
	}
	handle, _, _ := unstructured.NestedString(content.Object, "status", "snapshotHandle")
	if handle == "" {
		handle, _, _ = unstructured.NestedString(content.Object, "spec", "source", "snapshotHandle")
	}
	if !filepath.IsAbs(handle) {
		return "", fmt.Errorf("VolumeSnapshotContent %s: snapshotHandle %q is not the absolute path of a directory", contentName, handle)
	}
	return handle, nil
}

// fillFromSnapshot creates dir as a copy of the directory of the claim's
// VolumeSnapshot. The copy is made beside dir and renamed into place, so
// a volume directory that exists is complete and is never copied twice.
func (k *Kubelet) fillFromSnapshot(ctx context.Context, pvc *corev1.PersistentVolumeClaim, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	src, err := k.SnapshotDir(ctx, pvc.Namespace, pvc.Spec.DataSource.Name)
	if err != nil {
		return err
	}
	tmp := dir + ".restoring"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := copyTree(src, tmp); err != nil {
		return fmt.Errorf("copying snapshot %s: %w", src, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Filled volume from VolumeSnapshot", "pvc", klog.KObj(pvc), "volumeSnapshot", pvc.Spec.DataSource.Name, "from", src)
	return nil
}

// retryProvision records why the claim cannot be provisioned yet and
// looks at it again soon: a VolumeSnapshot may become ready without the
// claim changing.
func (k *Kubelet) retryProvision(pvc *corev1.PersistentVolumeClaim, err error) {
	klog.FromContext(k.ctx).V(2).Info("Claim waits for its VolumeSnapshot", "pvc", klog.KObj(pvc), "reason", err.Error())
	time.AfterFunc(snapshotRetryInterval, func() {
		if k.ctx.Err() != nil {
			return
		}
		obj, exists, gerr := k.factory.Core().V1().PersistentVolumeClaims().Informer().GetStore().GetByKey(pvc.Namespace + "/" + pvc.Name)
		if gerr == nil && exists {
			k.provision(obj)
		}
	})
}

// copyTree copies the directory src to dst (which must not exist):
// directories, regular files and symbolic links, with their permission
// bits and modification times, as a volume restored from a snapshot has
// them.
func copyTree(src, dst string) error {
	type dirTimes struct {
		path  string
		mtime time.Time
	}
	var dirs []dirTimes
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirTimes{target, info.ModTime()})
			return os.Chmod(target, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			if err := copyFile(p, target, info.Mode().Perm()); err != nil {
				return err
			}
			return os.Chtimes(target, info.ModTime(), info.ModTime())
		default:
			return nil // devices, sockets and pipes are not volume data
		}
	})
	if err != nil {
		return err
	}
	// Directory times last: creating their entries changed them.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chtimes(dirs[i].path, dirs[i].mtime, dirs[i].mtime); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	// The umask may have narrowed mode.
	if err := out.Chmod(mode); err != nil {
		out.Close()
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
