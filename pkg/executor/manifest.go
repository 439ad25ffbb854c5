package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/engine"
	"github.com/restore-controller/restore/pkg/manifest"
)

// ManifestHostPath is the hostPath recorded for the kopia snapshot of a
// manifest component. A manifest restore never writes it anywhere but
// under its own scratch directory; it only has to be the same on both
// sides.
const ManifestHostPath = "/kubestash-manifests"

// ManifestClients reach arbitrary kinds: the dynamic client and a
// discovery-backed RESTMapper (discovery is readable by every
// authenticated user, so the executor's Role need not grant it).
type ManifestClients struct {
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
	// Discovery lists the served resources (a cluster dump).
	Discovery discovery.DiscoveryInterface
}

// NewManifestClients builds ManifestClients for cfg.
func NewManifestClients(cfg *rest.Config) (ManifestClients, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return ManifestClients{}, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return ManifestClients{}, err
	}
	return ManifestClients{Dynamic: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)), Discovery: disc}, nil
}

// RunManifestRestore restores a manifest component of a RestoreSession
// (the restore-manifests subcommand): it restores the component's files
// with kopia into a private directory under o.ScratchDir, reads them in
// the manifest format, plans with the RestoreSession's
// spec.manifestOptions, creates the objects in its restore namespace, and
// reports status.components[Component] like a data restore: Running, then
// Succeeded or Failed with duration and error, or Running with the error
// when a retry may get past it (Retryable). Only o's identity fields,
// ScratchDir, LocalStorageDir and Priority are used.
func RunManifestRestore(ctx context.Context, c Clients, mc ManifestClients, o RunOptions) error {
	return runReported(ctx, c, o, func(ctx context.Context, in *RestoreInputs, _ *StatusWriter) (*engine.Progress, error) {
		mo := in.Session.Spec.ManifestOptions
		if mo == nil {
			mo = &corev1alpha1.ManifestRestoreOptions{}
		}
		if err := manifest.CheckRestoreNamespaces(mo); err != nil {
			return nil, fmt.Errorf("RestoreSession %s/%s: %w", o.Namespace, o.RestoreSession, err)
		}

		var objs []*unstructured.Unstructured
		err := withRestoredManifests(ctx, in, o, func(dir string, e engine.SnapshotEntry) error {
			got, err := manifest.Read(dir)
			objs = append(objs, got...)
			return err
		})
		if err != nil {
			return nil, err
		}
		planned, err := manifest.Plan(objs, *mo)
		if err != nil {
			return nil, err
		}
		logger := klog.FromContext(ctx)
		logger.Info("Restoring manifests", "restoreNamespace", manifest.RestoreNamespace(mo), "inSnapshot", len(objs), "planned", len(planned))
		applier := &manifest.Applier{Client: mc.Dynamic, Mapper: mc.Mapper, FieldManager: "restore-executor"}
		res, err := applier.Apply(ctx, planned, RestoredByValue(in.Session.Namespace, in.Session.Name, string(in.Session.UID)))
		if err != nil {
			return nil, err
		}
		logger.Info("Manifests restored", "created", res.Created, "alreadyPresent", res.Present)
		return nil, nil
	})
}

// RestoredByValue is the manifest.AnnotationRestoredBy value of the
// objects a RestoreSession restores.
func RestoredByValue(namespace, name, uid string) string {
	return namespace + "/" + name + "/" + uid
}

// withRestoredManifests restores the component's kopia snapshots into a
// private directory and calls read with the directory of each snapshot
// entry; the directory (it holds Secrets) is removed before returning.
func withRestoredManifests(ctx context.Context, in *RestoreInputs, o RunOptions, read func(dir string, e engine.SnapshotEntry) error) error {
	if o.ScratchDir != "" {
		if err := os.MkdirAll(o.ScratchDir, 0o700); err != nil {
			return fmt.Errorf("creating scratch dir: %w", err)
		}
	}
	dir, err := os.MkdirTemp(o.ScratchDir, "manifests-")
	if err != nil {
		return fmt.Errorf("creating a directory for the manifests: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			klog.FromContext(ctx).Error(err, "Removing the restored manifests", "dir", dir)
		}
	}()
	_, err = engine.Restore(ctx, engine.RestoreOptions{
		Repository: engine.RepositoryOptions{Storage: in.Config, Password: in.Password, ScratchDir: o.ScratchDir},
		Entries:    in.Entries,
		TargetRoot: dir,
	})
	if err != nil {
		return err
	}
	for _, e := range in.Entries {
		// Restore put the entry at dir/HostPath and refused a hostPath
		// leading outside dir.
		if err := read(filepath.Join(dir, e.HostPath), e); err != nil {
			return fmt.Errorf("snapshot %s of component %q: %w", e.SnapshotID, o.Component, err)
		}
	}
	return nil
}

// ManifestSelector picks objects to dump: one named object, or all objects
// of a resource in a namespace when Name is empty.
type ManifestSelector struct {
	Namespace string
	// Resource is the plural resource, optionally with its group
	// ("secrets", "postgreses.kubedb.com").
	Resource string
	Name     string
}

func (s ManifestSelector) String() string {
	out := s.Namespace + "/" + s.Resource
	if s.Name != "" {
		out += "/" + s.Name
	}
	return out
}

// ManifestComponent is a snapshot component made of object manifests.
type ManifestComponent struct {
	Name      string
	Selectors []ManifestSelector
}

// ParseManifestFlag parses COMPONENT=NAMESPACE/RESOURCE[.GROUP][/NAME].
func ParseManifestFlag(s string) (component string, sel ManifestSelector, err error) {
	component, rest, ok := strings.Cut(s, "=")
	parts := strings.Split(rest, "/")
	if !ok || component == "" || len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return "", ManifestSelector{}, fmt.Errorf("manifests %q: want COMPONENT=NAMESPACE/RESOURCE[.GROUP][/NAME]", s)
	}
	sel = ManifestSelector{Namespace: parts[0], Resource: parts[1]}
	if len(parts) == 3 {
		sel.Name = parts[2]
	}
	return component, sel, nil
}

// DumpManifestComponents reads each component's objects from the API and
// writes them in the manifest format into its own directory under dir,
// returning the components as snapshot sources recorded at
// ManifestHostPath.
func DumpManifestComponents(ctx context.Context, mc ManifestClients, comps []ManifestComponent, dir string) ([]ComponentSources, error) {
	var out []ComponentSources
	for _, comp := range comps {
		var objs []*unstructured.Unstructured
		for _, sel := range comp.Selectors {
			got, err := dumpSelector(ctx, mc, sel)
			if err != nil {
				return nil, fmt.Errorf("component %q: %w", comp.Name, err)
			}
			objs = append(objs, got...)
		}
		if len(objs) == 0 {
			return nil, fmt.Errorf("component %q: no object matches %v", comp.Name, comp.Selectors)
		}
		compDir := filepath.Join(dir, comp.Name)
		if err := manifest.Write(compDir, objs); err != nil {
			return nil, fmt.Errorf("component %q: %w", comp.Name, err)
		}
		klog.FromContext(ctx).Info("Dumped manifests", "component", comp.Name, "objects", len(objs))
		out = append(out, ComponentSources{Name: comp.Name, Sources: []engine.SnapshotSource{{Dir: compDir, HostPath: ManifestHostPath}}})
	}
	return out, nil
}

func dumpSelector(ctx context.Context, mc ManifestClients, sel ManifestSelector) ([]*unstructured.Unstructured, error) {
	gr := schema.ParseGroupResource(sel.Resource)
	gvr, err := mc.Mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		return nil, fmt.Errorf("%v: unknown resource %q: %w", sel, sel.Resource, err)
	}
	gvk, err := mc.Mapper.KindFor(gvr)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", sel, err)
	}
	client := mc.Dynamic.Resource(gvr).Namespace(sel.Namespace)
	var objs []*unstructured.Unstructured
	if sel.Name != "" {
		obj, err := client.Get(ctx, sel.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading %s %s/%s: %w", gvk.Kind, sel.Namespace, sel.Name, err)
		}
		objs = append(objs, obj)
	} else {
		list, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", gvr.GroupResource(), sel.Namespace, err)
		}
		for i := range list.Items {
			objs = append(objs, &list.Items[i])
		}
	}
	for _, obj := range objs {
		// List items may come without their kind.
		if obj.GetKind() == "" {
			obj.SetGroupVersionKind(gvk)
		}
	}
	return objs, nil
}
