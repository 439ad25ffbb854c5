// Package status holds the rules that turn a RestoreSession's conditions and
// component statuses into its phase, and the helpers that set conditions and
// component entries. The controller and the executor both use it, so the
// phase a user sees never depends on who wrote the status last.
//
// Every function here is pure: it reads or changes only the status passed in.
package status
