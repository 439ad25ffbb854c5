package controller

// Event reasons and message formats. Users and alerts match on the reasons,
// so they are stable.
const (
	EventReasonRestoreStarted    = "RestoreStarted"
	EventMessageRestoreStarted   = "Restore of snapshot %q started."
	EventReasonRestoreSucceeded  = "RestoreSucceeded"
	EventMessageRestoreSucceeded = "Restore succeeded in %s: %d of %d components restored."
	EventReasonRestoreFailed     = "RestoreFailed"
	EventReasonRestorePlanned    = "RestorePlanned"
	// EventMessageRestorePlanned: the totals of the components' plans.
	EventMessageRestorePlanned = "Dry run of %d components, nothing written: a restore would write %d files (%s), %d directories and %d symlinks, overwrite %d files, keep %d files (%s), delete %d entries; it needs %s%s."
	EventMessageRestoreFailed  = "Restore failed after %s: %s"

	EventReasonInvalid           = "InvalidRestoreSession"
	EventReasonTargetNotFound    = "RestoreTargetNotFound"
	EventReasonBackupPaused      = "BackupPaused"
	EventReasonBackupResumed     = "BackupResumed"
	EventReasonRestoreJobCreated = "RestoreJobCreated"
	EventReasonRestoreJobsFailed = "FailedToEnsureRestoreExecutor" // KubeStash's name of the step
	EventReasonRestoreJobEnded   = "RestoreJobEnded"
	EventReasonDeadlineExceeded  = "RestoreDeadlineExceeded"
	EventReasonMetricsPushFailed = "FailedToPushMetrics"

	EventReasonHookJobCreated     = "HookJobCreated"
	EventReasonHookSucceeded      = "HookSucceeded"
	EventReasonHookAttemptFailed  = "HookAttemptFailed"
	EventMessageHookAttemptFailed = "%s hook %q attempt %d of %d failed, retrying: %s"
	EventReasonHookFailed         = "HookFailed"
	EventReasonHookSkipped        = "HookSkipped"
)
