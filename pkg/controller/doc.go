// Package controller turns RestoreSessions into restore Jobs and an honest
// status.
//
// Informers for RestoreSessions, the objects they refer to and the Jobs
// they own feed one rate-limited workqueue of RestoreSession keys
// (controller.go, index.go). A level-triggered sync handler (sync.go)
// moves each RestoreSession through the steps of KubeStash's restore flow,
// in order, each in a file named after it: step1_validate.go,
// step2_target.go, step3_components.go, step4_pausebackups.go,
// step5_prerestorehooks.go, step6_restorejobs.go,
// step7_watchrestorejobs.go, step8_postrestorehooks.go and
// step9_finish.go; deadline.go bounds them all. Each step records its
// condition in the sync's copy of the status, which the sync writes once,
// and only if it changed: a sync that changes nothing writes nothing.
// The caches keep only what the controller reads (cachetransform.go).
// A finished or deleted RestoreSession is cleaned up (cleanup.go).
//
// Words used throughout, one meaning each:
//
//   - restore executor: the program (cmd/restore-executor) that restores
//     one component and reports it in the RestoreSession's status.
//   - restore Job: the Job that runs the restore executor for one
//     component; "restore Jobs" is also the step that creates them
//     (RestoreExecutorEnsured, KubeStash's name for it).
//   - hook Job: the Job of one attempt of a Function hook. Operator and
//     Pod hooks are run by the controller itself (hookinline.go,
//     hookasync.go).
//   - finish: the final step, which records the outcome (MetricsPushed).
//   - release: undoing what a restore changed outside the objects it owns
//     (paused backups resumed, grants in other namespaces revoked);
//     clean up: release, then remove the finalizer that guards it.
//
// What a Job looks like is decided by package jobbuild, the permissions of
// the Jobs' service account by package permissions, and the names of the
// objects the controller creates by package names; this package reads and
// writes the API.
package controller
