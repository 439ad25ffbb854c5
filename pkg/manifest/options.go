package manifest

import (
	"fmt"
	"strings"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// NamespaceOption is one restoreNamespace that spec.manifestOptions names.
type NamespaceOption struct {
	// Field is the option's path, e.g. spec.manifestOptions.postgres.restoreNamespace.
	Field     string
	Namespace string
}

// optionsPath is the path of ManifestRestoreOptions in a RestoreSession.
const optionsPath = "spec.manifestOptions"

// RestoreNamespaces are the restore namespaces opts names for the objects a
// manifest restore creates, in a fixed order: the top-level restoreNamespace
// (KubeStash's earlier shape), then each restored database kind's
// (KubeStash's current shape), in Databases order. Every object of one
// restore is created in one namespace, so a valid restore names one
// namespace (CheckRestoreNamespaces); workload.restoreNamespace is not
// among them (no workload manifests are restored).
func RestoreNamespaces(opts *corev1alpha1.ManifestRestoreOptions) []NamespaceOption {
	if opts == nil {
		return nil
	}
	var out []NamespaceOption
	if opts.RestoreNamespace != "" {
		out = append(out, NamespaceOption{Field: optionsPath + ".restoreNamespace", Namespace: opts.RestoreNamespace})
	}
	for _, db := range Databases {
		if o := db.options(opts); o != nil && o.RestoreNamespace != "" {
			out = append(out, NamespaceOption{Field: optionsPath + "." + db.optionsField + ".restoreNamespace", Namespace: o.RestoreNamespace})
		}
	}
	return out
}

// RestoreNamespace is the namespace a manifest restore creates its objects
// in: the first of RestoreNamespaces, "" when opts names none.
func RestoreNamespace(opts *corev1alpha1.ManifestRestoreOptions) string {
	if ns := RestoreNamespaces(opts); len(ns) > 0 {
		return ns[0].Namespace
	}
	return ""
}

// CheckRestoreNamespaces returns an error naming the option at fault when
// opts names no restore namespace, or more than one.
func CheckRestoreNamespaces(opts *corev1alpha1.ManifestRestoreOptions) error {
	named := RestoreNamespaces(opts)
	if len(named) == 0 {
		return fmt.Errorf("%s.restoreNamespace is required (or a database's restoreNamespace): the namespace the objects are restored into", optionsPath)
	}
	for _, n := range named[1:] {
		if n.Namespace != named[0].Namespace {
			return fmt.Errorf("%s is %q but %s is %q: one manifest restore creates all its objects in one namespace", n.Field, n.Namespace, named[0].Field, named[0].Namespace)
		}
	}
	return nil
}

// UnrestoredOptions are the paths of the database options opts sets for
// KubeDB kinds this manifest restore does not restore (KubeStash has them;
// they are accepted by the schema only).
func UnrestoredOptions(opts *corev1alpha1.ManifestRestoreOptions) []string {
	if opts == nil {
		return nil
	}
	set := []struct {
		field string
		isSet bool
	}{
		{"clickhouse", opts.ClickHouse != nil},
		{"msSQLServer", opts.MSSQLServer != nil},
		{"druid", opts.Druid != nil},
		{"zooKeeper", opts.ZooKeeper != nil},
		{"singlestore", opts.Singlestore != nil},
		{"redis", opts.Redis != nil},
		{"redisSentinel", opts.RedisSentinel != nil},
	}
	var out []string
	for _, s := range set {
		if s.isSet {
			out = append(out, optionsPath+"."+s.field)
		}
	}
	return out
}

// RestoredKindsText lists the database kinds a manifest restore restores,
// for messages ("MongoDB, Postgres, MySQL and MariaDB").
func RestoredKindsText() string {
	kinds := databaseKinds()
	if len(kinds) < 2 {
		return strings.Join(kinds, "")
	}
	return strings.Join(kinds[:len(kinds)-1], ", ") + " and " + kinds[len(kinds)-1]
}
