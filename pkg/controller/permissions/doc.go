// Package permissions gives the Jobs of a RestoreSession exactly the API
// access the restore executor needs, and takes it back.
//
// RestoreGrants lists the grants: GET of each object it reads,
// by name (its RestoreSession, Snapshot, Repository, BackupStorage and
// their Secrets), the status patch of its own RestoreSession, and for a
// manifest restore the creation of the objects it restores. The objects
// are those refs resolved and allowed, so a grant in another namespace
// exists only with the consent of that namespace's owner.
//
// Granter turns the grants into one Role and RoleBinding per namespace,
// bound to the RestoreSession's own ServiceAccount, which it creates, or to
// the user's (spec.addon.jobTemplate.spec.serviceAccountName, which the
// admission policy lets only a creator who may create Jobs in the namespace
// name): either way the Jobs get exactly these grants, no more. Those in the RestoreSession's namespace are
// owned by it and garbage-collected with it; those in other namespaces
// cannot be owned, carry labels instead, and are deleted by RevokeForeign
// when the restore finishes or the RestoreSession is deleted.
package permissions
