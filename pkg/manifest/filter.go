package manifest

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/restore-controller/restore/pkg/invocation"
)

// The kubedump-addon's manifest-restore params, KubeStash's names. All are
// strings: "true"/"false" for booleans, comma lists otherwise.
const (
	ParamIncludeClusterResources = "IncludeClusterResources"
	ParamIncludeNamespaces       = "IncludeNamespaces"
	ParamExcludeNamespaces       = "ExcludeNamespaces"
	ParamIncludeResources        = "IncludeResources"
	ParamExcludeResources        = "ExcludeResources"
	ParamANDedLabelSelectors     = "ANDedLabelSelectors"
	ParamORedLabelSelectors      = "ORedLabelSelectors"
	ParamOverrideResources       = "OverrideResources"
	ParamRestorePVs              = "RestorePVs"
	ParamStorageClassMappings    = "StorageClassMappings"
)

// ClusterParams lists the params ParseClusterOptions reads, in the order the
// Addon declares them.
var ClusterParams = []string{
	ParamIncludeClusterResources, ParamIncludeNamespaces, ParamExcludeNamespaces,
	ParamIncludeResources, ParamExcludeResources, ParamANDedLabelSelectors, ParamORedLabelSelectors,
	ParamOverrideResources, ParamRestorePVs, ParamStorageClassMappings,
}

// The kubedump-addon's params that its restore Function does not pass to
// ParseClusterOptions: enableCache is accepted and has no effect (kopia
// keeps its cache in the scratch directory), scratchDir is the
// executor's --scratch-dir.
const (
	ParamEnableCache = "enableCache"
	ParamScratchDir  = "scratchDir"
)

// KubedumpParams says what each param of the kubedump-addon's
// manifest-restore task (the Function invocation.FunctionKubedumpRestore)
// accepts. The ClusterParams are checked by ParseClusterOptions itself, so
// the controller accepts exactly what the executor does.
var KubedumpParams = func() map[string]invocation.ParamSyntax {
	accepts := map[string]string{
		ParamIncludeClusterResources: "true or false (empty: false)",
		ParamOverrideResources:       "true or false (empty: false)",
		ParamRestorePVs:              "true or false (empty: false)",
		ParamIncludeNamespaces:       "comma-separated namespace names, or *",
		ParamExcludeNamespaces:       "comma-separated namespace names, or *",
		ParamIncludeResources:        "comma-separated resources (e.g. pods,deployments.apps), or *",
		ParamExcludeResources:        "comma-separated resources (e.g. pods,deployments.apps), or *",
		ParamANDedLabelSelectors:     "comma-separated labels key:value, key=value or key",
		ParamORedLabelSelectors:      "comma-separated labels key:value, key=value or key",
		ParamStorageClassMappings:    "comma-separated old=new storage class names",
	}
	params := map[string]invocation.ParamSyntax{
		ParamEnableCache: invocation.BoolParam,
		ParamScratchDir:  invocation.AbsolutePathParam,
	}
	for _, name := range ClusterParams {
		params[name] = invocation.ParamSyntax{Accepts: accepts[name], Check: func(v string) error {
			_, err := ParseClusterOptions(map[string]string{name: v})
			return err
		}}
	}
	return params
}()

// Filter chooses objects of a resource tree by namespace, resource and
// labels (the params of the same names). The zero Filter takes every
// namespaced object and no cluster-scoped one.
type Filter struct {
	IncludeClusterResources bool
	// IncludeNamespaces empty takes every namespace.
	IncludeNamespaces, ExcludeNamespaces []string
	// IncludeResources empty takes every resource. Entries are plural
	// resources with or without their group ("deployments.apps",
	// "deployments"), compared case-insensitively; kinds work too.
	IncludeResources, ExcludeResources []string
	// ANDed: an object must carry every one. ORed: it must carry at least
	// one (when any is given). Both given: both must hold.
	ANDedLabelSelectors, ORedLabelSelectors []LabelRequirement
}

// LabelRequirement is one selector entry: Key=Value (or Key:Value), or
// only Key (the label must exist, with any value).
type LabelRequirement struct {
	Key      string
	Value    string
	AnyValue bool
}

func (r LabelRequirement) matches(labels map[string]string) bool {
	v, ok := labels[r.Key]
	return ok && (r.AnyValue || v == r.Value)
}

// ClusterOptions are the manifest-restore params, parsed.
type ClusterOptions struct {
	Filter
	// OverrideResources: an object that exists is updated to the
	// backed-up one (server-side apply, forced) instead of left alone.
	OverrideResources bool
	// RestorePVs restores PersistentVolumes (cluster-scoped, so
	// IncludeClusterResources is needed too) and keeps the claims'
	// volumeName for the volumes restored with them.
	RestorePVs bool
	// StorageClassMappings rename storageClassName of restored claims and
	// volumes: old name to new.
	StorageClassMappings map[string]string
}

// ParseClusterOptions parses the params (absent ones take KubeStash's
// defaults: all "false" or empty). Errors name the param.
func ParseClusterOptions(params map[string]string) (ClusterOptions, error) {
	var o ClusterOptions
	var err error
	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{ParamIncludeClusterResources, &o.IncludeClusterResources},
		{ParamOverrideResources, &o.OverrideResources},
		{ParamRestorePVs, &o.RestorePVs},
	} {
		v := strings.TrimSpace(params[b.name])
		if v == "" {
			continue
		}
		if *b.dst, err = strconv.ParseBool(v); err != nil {
			return o, fmt.Errorf("param %s: %q is not true or false", b.name, v)
		}
	}
	for _, l := range []struct {
		name string
		dst  *[]string
		ns   bool
	}{
		{ParamIncludeNamespaces, &o.IncludeNamespaces, true},
		{ParamExcludeNamespaces, &o.ExcludeNamespaces, true},
		{ParamIncludeResources, &o.IncludeResources, false},
		{ParamExcludeResources, &o.ExcludeResources, false},
	} {
		*l.dst = commaList(params[l.name])
		for _, e := range *l.dst {
			if l.ns && e != "*" {
				if msgs := validation.IsDNS1123Label(e); len(msgs) > 0 {
					return o, fmt.Errorf("param %s: %q is not a namespace name: %s", l.name, e, strings.Join(msgs, "; "))
				}
			}
		}
	}
	if o.ANDedLabelSelectors, err = parseLabelSelectors(ParamANDedLabelSelectors, params[ParamANDedLabelSelectors]); err != nil {
		return o, err
	}
	if o.ORedLabelSelectors, err = parseLabelSelectors(ParamORedLabelSelectors, params[ParamORedLabelSelectors]); err != nil {
		return o, err
	}
	for _, e := range commaList(params[ParamStorageClassMappings]) {
		from, to, ok := strings.Cut(e, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" {
			return o, fmt.Errorf("param %s: %q: want old=new", ParamStorageClassMappings, e)
		}
		if o.StorageClassMappings == nil {
			o.StorageClassMappings = map[string]string{}
		}
		if prev, dup := o.StorageClassMappings[from]; dup && prev != to {
			return o, fmt.Errorf("param %s: %q is mapped to both %q and %q", ParamStorageClassMappings, from, prev, to)
		}
		o.StorageClassMappings[from] = to
	}
	return o, nil
}

func commaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseLabelSelectors(param, s string) ([]LabelRequirement, error) {
	var out []LabelRequirement
	for _, e := range commaList(s) {
		k, v, hasValue := strings.Cut(e, "=")
		if !hasValue {
			k, v, hasValue = strings.Cut(e, ":")
		}
		r := LabelRequirement{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), AnyValue: !hasValue}
		if msgs := validation.IsQualifiedName(r.Key); len(msgs) > 0 {
			return nil, fmt.Errorf("param %s: %q: label key: %s", param, e, strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(r.Value); len(msgs) > 0 {
			return nil, fmt.Errorf("param %s: %q: label value: %s", param, e, strings.Join(msgs, "; "))
		}
		out = append(out, r)
	}
	return out, nil
}

// all reports whether a list takes everything: empty, or holding "*".
func all(list []string) bool {
	for _, e := range list {
		if e == "*" {
			return true
		}
	}
	return len(list) == 0
}

// NamespaceIncluded reports whether objects of namespace ns are taken.
func (f *Filter) NamespaceIncluded(ns string) bool {
	if contains(f.ExcludeNamespaces, ns) {
		return false
	}
	return all(f.IncludeNamespaces) || contains(f.IncludeNamespaces, ns)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s || e == "*" {
			return true
		}
	}
	return false
}

// ResourceIncluded reports whether objects of resource gr (of kind kind,
// when known) are taken.
func (f *Filter) ResourceIncluded(gr schema.GroupResource, kind string) bool {
	if resourceListed(f.ExcludeResources, gr, kind) {
		return false
	}
	return all(f.IncludeResources) || resourceListed(f.IncludeResources, gr, kind)
}

// resourceListed: an entry names gr as "resource.group", as "resource"
// (any group), or as the kind, case-insensitively.
func resourceListed(list []string, gr schema.GroupResource, kind string) bool {
	for _, e := range list {
		e = strings.ToLower(e)
		switch {
		case e == "*",
			e == strings.ToLower(gr.String()),
			e == strings.ToLower(gr.Resource),
			kind != "" && e == strings.ToLower(kind),
			kind != "" && gr.Group != "" && e == strings.ToLower(kind+"."+gr.Group):
			return true
		}
	}
	return false
}

// LabelsMatch reports whether labels satisfy the label selectors.
func (f *Filter) LabelsMatch(labels map[string]string) bool {
	for _, r := range f.ANDedLabelSelectors {
		if !r.matches(labels) {
			return false
		}
	}
	if len(f.ORedLabelSelectors) == 0 {
		return true
	}
	for _, r := range f.ORedLabelSelectors {
		if r.matches(labels) {
			return true
		}
	}
	return false
}

// Match reports whether the filter takes o, or why not. A Namespace object
// counts as of its own namespace for the namespace filters.
func (f *Filter) Match(o Object) (ok bool, why string) {
	obj := o.Obj
	ns := obj.GetNamespace()
	if isNamespace(o) {
		ns = obj.GetName()
	}
	switch {
	case ns == "" && !f.IncludeClusterResources:
		return false, "cluster-scoped, and " + ParamIncludeClusterResources + " is not true"
	case ns != "" && !f.NamespaceIncluded(ns):
		return false, "namespace " + ns + " is not included"
	case !f.ResourceIncluded(o.Resource, obj.GetKind()):
		return false, "resource " + o.Resource.String() + " is not included"
	case !f.LabelsMatch(obj.GetLabels()):
		return false, "labels do not match the label selectors"
	}
	return true, ""
}

func isNamespace(o Object) bool {
	return o.Resource == schema.GroupResource{Resource: "namespaces"}
}
