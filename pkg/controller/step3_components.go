package controller

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
)

// Step 3, components: which of the Snapshot's components the restore
// restores, one restore Job each; records status.totalComponents.

// selectComponents decides which snapshot components the restore restores,
// one Job each, and records totalComponents: the Snapshot's components,
// narrowed to spec.dataSource.components when it is set.
func (c *Controller) selectComponents(s *restoreState) error {
	switch {
	case s.snapshot != nil:
		s.components = selectedComponents(s.snapshot, s.rs.Spec.DataSource.Components)
	case len(s.rs.Spec.DataSource.Components) > 0:
		// The Snapshot was deleted after validation; the user's list
		// still names the components.
		s.components = slices.Clone(s.rs.Spec.DataSource.Components)
	default:
		// Nothing names the components any more but the Jobs created
		// for them.
		jobs, err := c.ownedJobs(s.rs)
		if err != nil {
			return err
		}
		for _, job := range jobs {
			if comp := job.Annotations[AnnotationComponent]; comp != "" {
				s.components = append(s.components, comp)
			}
		}
		slices.Sort(s.components)
	}
	if len(s.components) > 0 {
		s.status().TotalComponents = int32(len(s.components))
	}
	return nil
}

// selectedComponents is the sorted list of the Snapshot's components the
// user asked for (all of them when the list is empty) that the Snapshot has.
func selectedComponents(snap *storagev1alpha1.Snapshot, requested []string) []string {
	if len(requested) == 0 {
		return slices.Sorted(maps.Keys(snap.Status.Components))
	}
	var out []string
	for _, comp := range requested {
		if _, ok := snap.Status.Components[comp]; ok && !slices.Contains(out, comp) {
			out = append(out, comp)
		}
	}
	slices.Sort(out)
	return out
}

// checkSingleton refuses a singleton task (one Job for the whole target)
// when more than one component is selected: the restore executor
// restores one component per restore Job.
func checkSingleton(s *restoreState) field.ErrorList {
	if s.snapshot == nil {
		return nil
	}
	selected := selectedComponents(s.snapshot, s.rs.Spec.DataSource.Components)
	if len(selected) <= 1 {
		return nil
	}
	var errs field.ErrorList
	for i, t := range s.tasks {
		if t.AddonTask.Singleton {
			errs = append(errs, field.Invalid(field.NewPath("spec", "dataSource", "components"), s.rs.Spec.DataSource.Components,
				fmt.Sprintf("task %q (spec.addon.tasks[%d]) is a singleton task and restores exactly one component; %d are selected: %v",
					t.Ref.Name, i, len(selected), selected)))
		}
	}
	return errs
}
