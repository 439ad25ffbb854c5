package v1alpha1

// Condition types, reasons and messages of a RestoreSession. They are part of
// the API: users and tools match on them, so they follow KubeStash exactly.
const (
	TypeValidationPassed            = "ValidationPassed"
	ReasonResourceValidationPassed  = "ResourceValidationPassed"
	ReasonResourceValidationFailed  = "ResourceValidationFailed"
	MessageResourceValidationPassed = "Validation has been passed successfully."

	TypeRestoreTargetFound                = "RestoreTargetFound"
	ReasonRestoreTargetFound              = "RestoreTargetFound"
	ReasonRestoreTargetNotFound           = "RestoreTargetNotFound"
	ReasonUnableToCheckTargetAvailability = "UnableToCheckTargetAvailability"

	TypePreRestoreHooksExecutionSucceeded     = "PreRestoreHooksExecutionSucceeded"
	ReasonSuccessfullyExecutedPreRestoreHooks = "SuccessfullyExecutedPreRestoreHooks"
	ReasonFailedToExecutePreRestoreHooks      = "FailedToExecutePreRestoreHooks"
	MessagePreRestoreHooksExecuted            = "Pre-Restore Hooks have been executed successfully."

	TypeRestoreExecutorEnsured               = "RestoreExecutorEnsured"
	ReasonSuccessfullyEnsuredRestoreExecutor = "SuccessfullyEnsuredRestoreExecutor"
	ReasonFailedToEnsureRestoreExecutor      = "FailedToEnsureRestoreExecutor"
	MessageRestoreExecutorEnsured            = "Restore Executor has been ensured successfully."

	// RestoreIncomplete is True when a restore Job ended while its component
	// had not finished.
	TypeRestoreIncomplete                           = "RestoreIncomplete"
	ReasonRestoreExecutorTerminatedBeforeCompletion = "RestoreExecutorTerminatedBeforeCompletion"

	// DeadlineExceeded is True when status.restoreDeadline passed before the
	// restore finished.
	TypeDeadlineExceeded                 = "DeadlineExceeded"
	ReasonFailedToCompleteWithinDeadline = "FailedToCompleteWithinDeadline"

	TypePostRestoreHooksExecutionSucceeded     = "PostRestoreHooksExecutionSucceeded"
	ReasonSuccessfullyExecutedPostRestoreHooks = "SuccessfullyExecutedPostRestoreHooks"
	ReasonFailedToExecutePostRestoreHooks      = "FailedToExecutePostRestoreHooks"
	MessagePostRestoreHooksExecuted            = "Post-Restore Hooks have been executed successfully."

	// Planned is True on a restore whose tasks had the dryRun param
	// "true": its executors wrote nothing, and each component's
	// status.plan says what a restore would do. (Not a KubeStash
	// condition: KubeStash has no dry run.)
	TypePlanned            = "Planned"
	ReasonDryRunCompleted  = "DryRunCompleted"
	MessageDryRunCompleted = "This restore was a plan (dryRun): nothing was written; status.components[*].plan says what a restore would do."

	// MetricsPushed is set by the final step of a restore: its presence, True
	// or False, marks the restore as finished.
	TypeMetricsPushed               = "MetricsPushed"
	ReasonSuccessfullyPushedMetrics = "SuccessfullyPushedMetrics"
	ReasonFailedToPushMetrics       = "FailedToPushMetrics"
	MessageMetricsPushed            = "Metrics have been pushed successfully."
)
