package manifest

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// KubeDBGroup is the API group of the KubeDB databases.
const KubeDBGroup = "kubedb.com"

// Database is a KubeDB database kind a manifest restore handles.
type Database struct {
	Kind     string
	Resource string // plural resource name in KubeDBGroup
	// optionsField is the field of ManifestRestoreOptions (for messages).
	optionsField string
	options      func(*corev1alpha1.ManifestRestoreOptions) *corev1alpha1.KubeDBManifestOptions
	// configSecretPaths hold a reference to a config Secret ({name: …}).
	configSecretPaths [][]string
}

var (
	authSecretPath = []string{"spec", "authSecret", "name"}
	issuerRefPath  = []string{"spec", "tls", "issuerRef", "name"}
	topConfigPath  = []string{"spec", "configSecret"}
	tlsPath        = issuerRefPath[:2]
)

// issuerRefMap is spec.tls.issuerRef as tlsIssuerRef gives it (a
// TypedLocalObjectReference, as in KubeDB).
func issuerRefMap(ref *corev1.TypedLocalObjectReference) map[string]any {
	m := map[string]any{"kind": ref.Kind, "name": ref.Name}
	if ref.APIGroup != nil {
		m["apiGroup"] = *ref.APIGroup
	}
	return m
}

// Databases are the KubeDB kinds a manifest restore handles, with where
// each refers to its Secrets (kubedb.com/v1 types).
var Databases = []Database{
	{
		Kind: "MongoDB", Resource: "mongodbs", optionsField: "mongoDB",
		options: func(o *corev1alpha1.ManifestRestoreOptions) *corev1alpha1.KubeDBManifestOptions { return o.MongoDB },
		configSecretPaths: [][]string{
			topConfigPath,
			{"spec", "shardTopology", "shard", "configSecret"},
			{"spec", "shardTopology", "configServer", "configSecret"},
			{"spec", "shardTopology", "mongos", "configSecret"},
			{"spec", "arbiter", "configSecret"},
			{"spec", "hidden", "configSecret"},
		},
	},
	{
		Kind: "Postgres", Resource: "postgreses", optionsField: "postgres",
		options:           func(o *corev1alpha1.ManifestRestoreOptions) *corev1alpha1.KubeDBManifestOptions { return o.Postgres },
		configSecretPaths: [][]string{topConfigPath},
	},
	{
		Kind: "MySQL", Resource: "mysqls", optionsField: "mySQL",
		options:           func(o *corev1alpha1.ManifestRestoreOptions) *corev1alpha1.KubeDBManifestOptions { return o.MySQL },
		configSecretPaths: [][]string{topConfigPath},
	},
	{
		Kind: "MariaDB", Resource: "mariadbs", optionsField: "mariaDB",
		options:           func(o *corev1alpha1.ManifestRestoreOptions) *corev1alpha1.KubeDBManifestOptions { return o.MariaDB },
		configSecretPaths: [][]string{topConfigPath},
	},
}

func databaseOf(obj *unstructured.Unstructured) *Database {
	gvk := obj.GroupVersionKind()
	if gvk.Group != KubeDBGroup {
		return nil
	}
	for i := range Databases {
		if Databases[i].Kind == gvk.Kind {
			return &Databases[i]
		}
	}
	return nil
}

func isSecret(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Secret"
}

// RestoredKinds are the group/kinds Plan accepts: core Secrets and the
// KubeDB Databases.
func RestoredKinds() []schema.GroupKind {
	out := []schema.GroupKind{{Kind: "Secret"}}
	for _, db := range Databases {
		out = append(out, schema.GroupKind{Group: KubeDBGroup, Kind: db.Kind})
	}
	return out
}

// secretPlan is what the databases referring to one Secret decide for it.
type secretPlan struct {
	refs    int // databases referring to it
	dropped int // of those, how many leave it out
	newName string
	renamer string // the option that renamed it (messages)
}

// Plan returns the objects to create, in creation order (Secrets, then
// databases), stripped of cluster-specific fields, chosen and renamed per
// opts and placed in its one restore namespace (RestoreNamespace). Errors
// name the option (as spec.manifestOptions.<field>) or the object at fault.
func Plan(objs []*unstructured.Unstructured, opts corev1alpha1.ManifestRestoreOptions) ([]*unstructured.Unstructured, error) {
	base := optionsPath
	if err := CheckRestoreNamespaces(&opts); err != nil {
		return nil, err
	}
	restoreNS := RestoreNamespace(&opts)
	stripped := make([]*unstructured.Unstructured, 0, len(objs))
	origin := map[*unstructured.Unstructured]string{} // describe() before renaming
	secrets := map[string]*secretPlan{}               // by source namespace/name
	for _, obj := range objs {
		if databaseOf(obj) == nil && !isSecret(obj) {
			return nil, fmt.Errorf("%s: a manifest restore restores only Secrets and KubeDB %s objects", describe(obj), strings.Join(databaseKinds(), ", "))
		}
		if obj.GetName() == "" {
			return nil, fmt.Errorf("%s object without metadata.name", obj.GetKind())
		}
		s := Strip(obj)
		stripped = append(stripped, s)
		origin[s] = describe(s)
		if isSecret(s) {
			secrets[s.GetNamespace()+"/"+s.GetName()] = &secretPlan{}
		}
	}

	// Count each kind's databases: a new name fits one object only.
	perKind := map[string][]string{}
	for _, obj := range stripped {
		if db := databaseOf(obj); db != nil {
			perKind[db.Kind] = append(perKind[db.Kind], obj.GetName())
		}
	}

	var dbs []*unstructured.Unstructured
	for _, obj := range stripped {
		db := databaseOf(obj)
		if db == nil {
			continue
		}
		o := db.options(&opts)
		if o == nil {
			o = &corev1alpha1.KubeDBManifestOptions{}
		}
		field := base + "." + db.optionsField
		names := perKind[db.Kind]
		oneOnly := func(option string) error {
			if len(names) > 1 {
				return fmt.Errorf("%s.%s: the snapshot holds %d %s objects (%s); a new name fits only one", field, option, len(names), db.Kind, strings.Join(names, ", "))
			}
			return nil
		}
		what := describe(obj)
		// A database refers to Secrets of its own namespace.
		secretOf := func(name string) *secretPlan { return secrets[obj.GetNamespace()+"/"+name] }

		// Auth Secret.
		authName, _, _ := unstructured.NestedString(obj.Object, authSecretPath...)
		if o.AuthSecretName != "" {
			if err := oneOnly("authSecretName"); err != nil {
				return nil, err
			}
			if authName == "" {
				return nil, fmt.Errorf("%s.authSecretName: %s refers to no auth Secret (spec.authSecret.name)", field, what)
			}
			if secretOf(authName) == nil {
				return nil, fmt.Errorf("%s.authSecretName: the auth Secret %q of %s is not in the snapshot", field, authName, what)
			}
		}
		if authName != "" {
			if err := decideSecret(secretOf(authName), ptr.Deref(o.AuthSecret, true), o.AuthSecretName, field+".authSecretName"); err != nil {
				return nil, fmt.Errorf("auth Secret %q of %s: %w", authName, what, err)
			}
		}

		// Config Secret(s).
		configNames, err := configSecretNames(obj, db)
		if err != nil {
			return nil, err
		}
		if o.ConfigSecretName != "" {
			if err := oneOnly("configSecretName"); err != nil {
				return nil, err
			}
			switch {
			case len(configNames) == 0:
				return nil, fmt.Errorf("%s.configSecretName: %s refers to no config Secret (spec.configSecret.name)", field, what)
			case len(configNames) > 1:
				return nil, fmt.Errorf("%s.configSecretName: %s refers to %d config Secrets (%s); a new name fits only one", field, what, len(configNames), strings.Join(configNames, ", "))
			case secretOf(configNames[0]) == nil:
				return nil, fmt.Errorf("%s.configSecretName: the config Secret %q of %s is not in the snapshot", field, configNames[0], what)
			}
		}
		for _, name := range configNames {
			if err := decideSecret(secretOf(name), ptr.Deref(o.ConfigSecret, true), o.ConfigSecretName, field+".configSecretName"); err != nil {
				return nil, fmt.Errorf("config Secret %q of %s: %w", name, what, err)
			}
		}

		if !ptr.Deref(o.DB, true) {
			continue
		}
		if o.DBName != "" {
			if err := oneOnly("dbName"); err != nil {
				return nil, err
			}
			obj.SetName(o.DBName)
		}
		if o.AuthSecretName != "" {
			if err := unstructured.SetNestedField(obj.Object, o.AuthSecretName, authSecretPath...); err != nil {
				return nil, fmt.Errorf("%s: setting spec.authSecret.name: %w", what, err)
			}
		}
		if o.ConfigSecretName != "" {
			for _, p := range db.configSecretPaths {
				if name, found, _ := unstructured.NestedString(obj.Object, append(slices.Clone(p), "name")...); found && name == configNames[0] {
					if err := unstructured.SetNestedField(obj.Object, o.ConfigSecretName, append(slices.Clone(p), "name")...); err != nil {
						return nil, fmt.Errorf("%s: setting %s.name: %w", what, strings.Join(p, "."), err)
					}
				}
			}
		}
		if o.IssuerRefName != "" {
			if _, found, _ := unstructured.NestedMap(obj.Object, issuerRefPath[:len(issuerRefPath)-1]...); !found {
				return nil, fmt.Errorf("%s.issuerRefName: %s has no TLS issuer (spec.tls.issuerRef) to rename", field, what)
			}
			if err := unstructured.SetNestedField(obj.Object, o.IssuerRefName, issuerRefPath...); err != nil {
				return nil, fmt.Errorf("%s: setting spec.tls.issuerRef.name: %w", what, err)
			}
		}
		if ref := o.TLSIssuerRef; ref != nil {
			if _, found, _ := unstructured.NestedMap(obj.Object, tlsPath...); !found {
				return nil, fmt.Errorf("%s.tlsIssuerRef: %s has no TLS settings (spec.tls) to give an issuer", field, what)
			}
			if err := unstructured.SetNestedMap(obj.Object, issuerRefMap(ref), issuerRefPath[:len(issuerRefPath)-1]...); err != nil {
				return nil, fmt.Errorf("%s: setting spec.tls.issuerRef: %w", what, err)
			}
		}
		dbs = append(dbs, obj)
	}

	var out []*unstructured.Unstructured
	for _, obj := range stripped {
		if !isSecret(obj) {
			continue
		}
		sp := secrets[obj.GetNamespace()+"/"+obj.GetName()]
		if sp.refs > 0 && sp.dropped == sp.refs {
			continue
		}
		if sp.newName != "" {
			obj.SetName(sp.newName)
		}
		out = append(out, obj)
	}
	out = append(out, dbs...)

	seen := map[string]string{}
	for _, obj := range out {
		obj.SetNamespace(restoreNS)
		key := obj.GroupVersionKind().GroupKind().String() + "/" + obj.GetName()
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s and %s would both be restored as %s; rename one with %s", prev, origin[obj], describe(obj), base)
		}
		seen[key] = origin[obj]
	}
	return out, nil
}

// decideSecret records one database's decision for a Secret it refers to.
// A Secret missing from the snapshot (sp nil) has nothing to decide.
func decideSecret(sp *secretPlan, keep bool, newName, option string) error {
	if sp == nil {
		return nil
	}
	sp.refs++
	if !keep {
		sp.dropped++
		return nil
	}
	if newName == "" {
		return nil
	}
	if sp.newName != "" && sp.newName != newName {
		return fmt.Errorf("%s renames it to %q, but %s already renames it to %q", option, newName, sp.renamer, sp.newName)
	}
	sp.newName, sp.renamer = newName, option
	return nil
}

// configSecretNames are the distinct config Secrets a database refers to.
func configSecretNames(obj *unstructured.Unstructured, db *Database) ([]string, error) {
	var names []string
	for _, p := range db.configSecretPaths {
		name, found, err := unstructured.NestedString(obj.Object, append(slices.Clone(p), "name")...)
		if err != nil {
			return nil, fmt.Errorf("%s: %s.name: %w", describe(obj), strings.Join(p, "."), err)
		}
		if found && name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

func databaseKinds() []string {
	var kinds []string
	for _, db := range Databases {
		kinds = append(kinds, db.Kind)
	}
	return kinds
}
