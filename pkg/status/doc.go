// Package status holds the rules that turn a RestoreSession's status into
// what it reports: its phase (CalculatePhase), the one-line progress of
// `kubectl get restore` (Progress), whether the final step has run
// (FinalStepExecuted), and the helpers the controller sets and reads
// conditions with. The controller's steps record conditions, the restore
// executors record their components; the phase always follows from the
// status alone, so it never depends on who wrote the status last.
//
// Every function here is pure: it reads or changes only the status passed in.
package status
