// Package manifest stores Kubernetes object manifests in a directory tree
// that is snapshotted like any other data (the snapshot side of a manifest
// backup), reads them back, and plans and applies their restore into
// another namespace with KubeStash's manifest restore options
// (spec.manifestOptions of a RestoreSession).
//
// # On-disk format, version 1
//
//	<root>/FORMAT                                  "restore-controller/manifests v1\n"
//	<root>/<group>/<Kind>/<namespace>/<name>.yaml  one object per file
//
// <group> is the object's API group, "core" for the core ("") group; Kind,
// namespace and name are the object's own. Each file holds one YAML
// document with apiVersion, kind, metadata and the object's content. Only
// namespaced objects are stored. Files are written 0600 and directories
// 0700: manifests include Secrets. Read refuses a tree without the FORMAT
// file, files whose path does not match the object inside, and anything
// that is not a regular file or directory, so a forged or foreign snapshot
// cannot smuggle in an object under another identity.
//
// # What is not stored
//
// Write (and Plan again, for snapshots written by other tools) removes what
// belongs to the cluster the object lived in, not to the object:
// metadata.resourceVersion, uid, creationTimestamp, generation,
// managedFields, selfLink, ownerReferences (their UIDs mean nothing in
// another cluster or namespace), finalizers (each controller adds its own
// again), deletionTimestamp, deletionGracePeriodSeconds, the
// kubectl.kubernetes.io/last-applied-configuration annotation (a copy of
// the object under its old identity), and status.
//
// # Restore plan
//
// Plan chooses, renames and re-namespaces the objects per
// ManifestRestoreOptions. The objects a manifest restore handles are core
// Secrets and the KubeDB databases MongoDB, Postgres, MySQL and MariaDB
// (group kubedb.com); any other kind is refused by name. For every
// database of those kinds the options of its kind apply (all defaults when
// the RestoreSession gives none):
//
//   - db: false leaves the database object out; dbName renames it (only
//     one database of that kind may then be in the snapshot).
//   - The auth Secret is the one spec.authSecret.name names; authSecret:
//     false leaves it out, authSecretName renames it and the reference.
//   - The config Secret is the one spec.configSecret.name names (for
//     MongoDB also the shard topology's, arbiter's and hidden node's
//     configSecret); configSecret: false leaves it out, configSecretName
//     renames it and every reference to it.
//   - issuerRefName replaces spec.tls.issuerRef.name; tlsIssuerRef
//     (KubeStash's current field) replaces the whole spec.tls.issuerRef.
//     Either needs the database to have spec.tls.
//
// A Secret no database refers to is restored as it is; one several
// databases refer to is left out only when all of them leave it out. Every
// restored object gets the one restore namespace the options name: the
// top-level restoreNamespace (KubeStash's earlier shape) or a database's
// restoreNamespace (its current shape); when several are set they must be
// equal (CheckRestoreNamespaces). The plan lists Secrets before databases,
// so a database never starts without them. The options KubeStash has for
// other kinds (clickhouse, msSQLServer, druid, zooKeeper, singlestore,
// redis, redisSentinel), workload, archiver, archiverRef and initScript are
// accepted by the schema and not used here (UnrestoredOptions lists the
// kinds' options, which the controller refuses).
//
// # Apply
//
// Apply creates each planned object and marks it with the
// AnnotationRestoredBy annotation naming the restore. It never overwrites:
// an object of the same name that this restore created (a retried Job) or
// that already holds exactly the planned content counts as restored; any
// other is an ErrObjectExists error naming it, and is left untouched.
package manifest
