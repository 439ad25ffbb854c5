package controller

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/manifest"
)

// Task parameter values are checked in validation, so a value the
// executor would refuse (parallel: "many") makes the RestoreSession
// Invalid, naming the task, the param and what it accepts, before any Job
// is created.
//
// KubeStash's Addon declares a param's name, usage, whether it is
// required and its default, but not which values it accepts; the Addon
// YAML stays KubeStash's and what each param accepts is kept here, keyed
// by the Function that runs the task: the Function is what passes the
// params to the executor, and two Addons' tasks (workload-addon's and
// pvc-addon's logical-backup-restore) run the same one. The usage text of
// the catalog's parameter definitions says the same in words
// (TestCatalogTaskParamsHaveSyntax keeps them in step).
//
// A param a task does not declare is refused too (resolveParams): the
// reference says params "must be defined in the respective Addon", and a
// misspelt one (paralel) would otherwise be dropped without a word.

// taskParamSyntax says, for each Function of the addon catalog
// (artifacts/addons) that passes task params to the executor, what each
// param accepts. The params of tasks that run another Function are only
// checked for being declared by their Addon.
var taskParamSyntax = map[string]map[string]invocation.ParamSyntax{
	invocation.FunctionKopiaRestore:    invocation.RestoreParams,
	invocation.FunctionKubedumpRestore: manifest.KubedumpParams,
}

// messageParamValue: task, param, what it accepts, why the value is not.
const messageParamValue = "task %q param %s accepts %s: %v"

// checkTaskParamValues checks the values of a task's params, given or
// defaulted (resolveParams), against what the task's Function accepts.
func checkTaskParamValues(task addonsv1alpha1.Task, params map[string]string, path *field.Path) field.ErrorList {
	syntax, ok := taskParamSyntax[task.Function]
	if !ok {
		return nil
	}
	var errs field.ErrorList
	for _, name := range slices.Sorted(maps.Keys(params)) {
		s, ok := syntax[name]
		if !ok {
			continue // declared by the Addon, not passed to the executor
		}
		if err := s.Check(params[name]); err != nil {
			errs = append(errs, field.Invalid(path.Child(name), params[name], fmt.Sprintf(messageParamValue, task.Name, name, s.Accepts, err)))
		}
	}
	return errs
}
