// Package metricspush turns a finished RestoreSession into Prometheus
// metrics and pushes them to a Prometheus Pushgateway. Its Pusher is the
// controller's MetricsPusher: the final step of every restore calls it once
// the restore's phase and duration are known.
//
// # Grouping
//
// Each restore is its own Pushgateway group:
//
//	/metrics/job/restore-controller/namespace/<namespace>/restoresession/<name>
//
// so restores never overwrite each other, and a push replaces the whole
// group (HTTP PUT). Pushing the same restore again, as the controller does
// when writing its final status failed after a push, is therefore
// idempotent. The Pushgateway adds the grouping labels job, namespace and
// restoresession to every series; scrape it with honor_labels: true so they
// are kept. Groups stay until deleted (Pushgateway API or UI).
//
// # Metrics
//
// All are gauges. Every series also carries the labels target_kind,
// target_namespace, target_name (empty when the RestoreSession has no
// target), repository_namespace, repository, snapshot (the Snapshot the
// restore resolved, so "latest" becomes a concrete name) and addon.
//
//	restoresession_phase{phase}                        1 for the restore's phase, 0 for the other
//	                                                   five (Pending, Running, Succeeded, Failed,
//	                                                   Invalid, Unknown)
//	restoresession_duration_seconds                    time from creation to the final step
//	restoresession_components                          components the restore covers (status.totalComponents)
//	restoresession_components_succeeded                components whose phase is Succeeded
//	restoresession_components_failed                   components whose phase is Failed
//	restoresession_component_phase{component,phase}    1, one series per component, labelled with its
//	                                                   phase (Unknown when not reported)
//	restoresession_component_duration_seconds{component}  the component's restore time, when reported
//	restoresession_component_restored_bytes{component}    bytes the component restored, when reported
//
// The per-component phase is a single series per component rather than one
// per phase, so a StatefulSet with many replicas does not multiply its
// series by six:
//
//	count by (namespace, restoresession) (restoresession_component_phase{phase="Failed"})
//
// counts each restore's failed components.
package metricspush
