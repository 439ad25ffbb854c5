// Package manifest stores Kubernetes object manifests in a directory tree
// that is snapshotted like any other data (the snapshot side of a manifest
// backup), reads them back, and restores them in one of two ways: into
// another namespace with KubeStash's manifest restore options
// (spec.manifestOptions of a RestoreSession; Plan, Apply), or where they
// came from with the params of KubeStash's kubedump-addon (Cluster
// restore below; ClusterRestorer).
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
//
// # Cluster restore (kubedump-addon, task manifest-restore)
//
// The resource tree layout, KubeStash's kubedump and Velero's:
//
//	<root>/<resource>/cluster/<name>.yaml                 cluster-scoped objects
//	<root>/<resource>/namespaces/<namespace>/<name>.yaml  namespaced objects
//
// <resource> is the plural resource with its group ("deployments.apps",
// "configmaps" for the core group). ReadResourceTree refuses entries
// outside the layout and files whose object has another name or namespace
// than its path; WriteResourceTree writes it (the snapshot side).
//
// ParseClusterOptions reads the task's params (strings, KubeStash's
// names and defaults). Select takes what they choose: namespaced objects
// of IncludeNamespaces (empty or "*": all) but ExcludeNamespaces;
// cluster-scoped ones only with IncludeClusterResources; resources of
// IncludeResources but ExcludeResources (entries "deployments.apps",
// "deployments" or the kind; "*" is all); objects carrying every
// ANDedLabelSelectors label and, when ORedLabelSelectors are given, one of
// them (k=v, k:v, or k for any value). It never takes nodes, events,
// endpointslices, csinodes, volumeattachments, the backup system's
// BackupSessions and RestoreSessions, finished Pods and Jobs, or
// PersistentVolumes without RestorePVs. The Namespace object of a
// namespace a taken object lives in is taken too, whatever the resource
// and label filters say: its objects cannot exist without it.
//
// ClusterRestorer.Restore creates the taken objects in KubeStash's order
// (CRDs, namespaces, storageclasses, volumesnapshotclasses,
// volumesnapshotcontents, volumesnapshots, persistentvolumes,
// persistentvolumeclaims, serviceaccounts, secrets, configmaps,
// limitranges, pods, replicasets, clusterclasses, endpoints, services,
// then every other resource alphabetically), prepared by PrepareForCreate
// (what Strip drops, generateName, a Pod's nodeName, a Service's
// clusterIP/clusterIPs unless "None" and nodePorts, a claim's volumeName
// unless its volume is restored with it, StorageClassMappings, a Job's
// generated selector). Objects failing on a missing dependency (a
// namespace or a kind not served yet) are retried in up to
// DefaultMaxPasses passes. An object that exists is left alone and
// counted as existing, unless OverrideResources and it does not hold the
// backed-up content (SameContent): then the backed-up object is
// server-side-applied with force (fields only the live object has stay)
// and counted updated. Finally the ownerReferences of the objects it created or updated are
// set again, with the live UIDs of the owners among this restore's objects
// (references to other owners are dropped). The result counts created,
// already existing, updated, skipped and failed objects; a restore run
// again over its own result finds every object existing and changes
// nothing.
package manifest
