package framework

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// Applier creates and updates objects given as YAML, through the dynamic
// client, as `kubectl create -f` would: the API server's admission (schema,
// CEL rules, defaults) judges them exactly as it judges a user's.
type Applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewApplier returns an Applier for cfg.
func NewApplier(cfg *rest.Config) (*Applier, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}, nil
}

func (a *Applier) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		a.mapper.Reset()
		if mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("no resource for %s: %w", gvk, err)
		}
	}
	if obj.GetNamespace() == "" {
		return a.dyn.Resource(mapping.Resource), nil
	}
	return a.dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace()), nil
}

// Decode parses one YAML object.
func Decode(doc string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		return nil, err
	}
	return obj, nil
}

// decode parses doc and finds the client of its resource.
func (a *Applier) decode(doc string) (*unstructured.Unstructured, dynamic.ResourceInterface, error) {
	obj, err := Decode(doc)
	if err != nil {
		return nil, nil, err
	}
	res, err := a.resource(obj)
	return obj, res, err
}

// Create creates the object in doc and returns it as the server stored it.
func (a *Applier) Create(ctx context.Context, doc string) (*unstructured.Unstructured, error) {
	obj, res, err := a.decode(doc)
	if err != nil {
		return nil, err
	}
	return res.Create(ctx, obj, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict})
}

// Update replaces the stored object with the one in doc.
func (a *Applier) Update(ctx context.Context, doc string) (*unstructured.Unstructured, error) {
	obj, res, err := a.decode(doc)
	if err != nil {
		return nil, err
	}
	current, err := res.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	obj.SetResourceVersion(current.GetResourceVersion())
	return res.Update(ctx, obj, metav1.UpdateOptions{FieldValidation: metav1.FieldValidationStrict})
}

// Delete deletes the object in doc; a missing object is not an error.
func (a *Applier) Delete(ctx context.Context, doc string) error {
	obj, res, err := a.decode(doc)
	if err != nil {
		return err
	}
	if err := res.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
