package controller

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	"github.com/restore-controller/restore/pkg/invocation"
)

// catalog is the addon catalog the project ships (artifacts/addons).
type catalog struct {
	addons    []*addonsv1alpha1.Addon
	functions map[string]*addonsv1alpha1.Function
}

func loadCatalog(t *testing.T) catalog {
	t.Helper()
	files, err := filepath.Glob("../../artifacts/addons/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no addon catalog: %v", err)
	}
	c := catalog{functions: map[string]*addonsv1alpha1.Function{}}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			switch tm.Kind {
			case "Addon":
				var a addonsv1alpha1.Addon
				if err := yaml.UnmarshalStrict([]byte(doc), &a); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				c.addons = append(c.addons, &a)
			case "Function":
				var fn addonsv1alpha1.Function
				if err := yaml.UnmarshalStrict([]byte(doc), &fn); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				c.functions[fn.Name] = &fn
			}
		}
	}
	if len(c.addons) == 0 || len(c.functions) == 0 {
		t.Fatalf("catalog holds %d Addons and %d Functions", len(c.addons), len(c.functions))
	}
	return c
}

// Every param of every restore task of the catalog has a syntax (the task
// runs a Function taskParamSyntax knows, which knows the param), its
// default is accepted, and, for the project's own params, its usage ends
// with what it accepts. Every syntax of a Function is a param of every
// catalog task that runs it.
func TestCatalogTaskParamsHaveSyntax(t *testing.T) {
	c := loadCatalog(t)
	for _, a := range c.addons {
		for _, task := range a.Spec.RestoreTasks {
			what := fmt.Sprintf("Addon %s task %s", a.Name, task.Name)
			if _, ok := c.functions[task.Function]; !ok {
				t.Errorf("%s runs Function %q, which the catalog lacks", what, task.Function)
			}
			if len(task.Parameters) == 0 {
				continue
			}
			syntax, ok := taskParamSyntax[task.Function]
			if !ok {
				t.Errorf("%s declares params, but taskParamSyntax does not know its Function %q", what, task.Function)
				continue
			}
			var declared []string
			for _, p := range task.Parameters {
				declared = append(declared, p.Name)
				s, ok := syntax[p.Name]
				if !ok {
					t.Errorf("%s param %s: no syntax", what, p.Name)
					continue
				}
				if s.Accepts == "" {
					t.Errorf("%s param %s: no words for what it accepts", what, p.Name)
				}
				if p.Default != "" {
					if err := s.Check(p.Default); err != nil {
						t.Errorf("%s param %s: the default %q is refused: %v", what, p.Name, p.Default, err)
					}
				}
				if task.Function == invocation.FunctionKopiaRestore && !strings.HasSuffix(p.Usage, "Accepts "+s.Accepts+".") {
					t.Errorf("%s param %s: usage %q does not end with %q", what, p.Name, p.Usage, "Accepts "+s.Accepts+".")
				}
			}
			for name := range syntax {
				if !slices.Contains(declared, name) {
					t.Errorf("%s does not declare param %s, which its Function %s takes", what, name, task.Function)
				}
			}
		}
	}
}

// badParamValues holds, for every param of the catalog's tasks, a value
// the executor refuses and a fragment of why; "" for a param that takes
// any value.
var badParamValues = map[string]struct{ value, why string }{
	invocation.ParamInclude:        {"app,../etc", "must stay inside the snapshot"},
	invocation.ParamExclude:        {"*.tmp,[x", "invalid exclude pattern"},
	invocation.ParamParallel:       {"many", `"many" is not an integer`},
	invocation.ParamResume:         {"perhaps", `"perhaps" is not true or false`},
	invocation.ParamDeleteExtra:    {"yes", `"yes" is not true or false`},
	invocation.ParamSparse:         {"2", `"2" is not true or false`},
	invocation.ParamDryRun:         {"plan", `"plan" is not true or false`},
	invocation.ParamVerify:         {"all", `"all" is not true or false`},
	invocation.ParamBandwidthLimit: {"fast", `"fast" is not a quantity`},
	"enableCache":                  {"maybe", `"maybe" is not true or false`},
	"scratchDir":                   {"tmp", `"tmp" is not an absolute path`},
	"ANDedLabelSelectors":          {"app:web,bad key:x", "label key"},
	"ORedLabelSelectors":           {"tier:a b", "label value"},
	"IncludeClusterResources":      {"yes", "is not true or false"},
	"IncludeNamespaces":            {"Default", "is not a namespace name"},
	"ExcludeNamespaces":            {"kube_public", "is not a namespace name"},
	"IncludeResources":             {},
	"ExcludeResources":             {},
	"OverrideResources":            {"no", "is not true or false"},
	"StorageClassMappings":         {"old1=new1,old2", "want old=new"},
	"RestorePVs":                   {"off", "is not true or false"},
}

// A wrong value of any param of any task of the catalog makes the
// RestoreSession Invalid before any Job is created: the condition names
// the field, the task, the param and what it accepts, and a Warning Event
// says the same.
func TestTaskParamValueInvalid(t *testing.T) {
	c := loadCatalog(t)
	type row struct {
		addon *addonsv1alpha1.Addon
		task  addonsv1alpha1.Task
		param string
	}
	var rows []row
	for _, a := range c.addons {
		for _, task := range a.Spec.RestoreTasks {
			for _, p := range task.Parameters {
				rows = append(rows, row{a, task, p.Name})
			}
		}
	}
	for _, r := range rows {
		bad, ok := badParamValues[r.param]
		if !ok {
			t.Errorf("Addon %s task %s param %s: no row in badParamValues", r.addon.Name, r.task.Name, r.param)
			continue
		}
		if bad.value == "" {
			continue // any value is accepted
		}
		t.Run(r.addon.Name+"/"+r.task.Name+"/"+r.param, func(t *testing.T) {
			f := newFixture(t)
			f.replaceObject(r.addon.DeepCopy())
			f.replaceObject(c.functions[r.task.Function].DeepCopy())
			f.editRS(func(rs *corev1alpha1.RestoreSession) {
				params, _ := json.Marshal(map[string]string{r.param: bad.value})
				rs.Spec.Addon = corev1alpha1.AddonInfo{Name: r.addon.Name, Tasks: []corev1alpha1.TaskReference{
					{Name: r.task.Name, Params: &runtime.RawExtension{Raw: params}},
				}}
			})
			f.start()
			if _, err := f.sync(); err != nil {
				t.Fatalf("syncHandler: %v", err)
			}
			rs := f.rs()
			expectPhase(t, rs, corev1alpha1.RestoreInvalid)
			accepts := taskParamSyntax[r.task.Function][r.param].Accepts
			want := []string{
				field.NewPath("spec", "addon", "tasks").Index(0).Child("params", r.param).String(),
				fmt.Sprintf("task %q param %s accepts %s", r.task.Name, r.param, accepts),
				bad.why,
			}
			expectCondition(t, rs, corev1alpha1.TypeValidationPassed, metav1.ConditionFalse, corev1alpha1.ReasonResourceValidationFailed, want...)
			expectNoJobs(t, f)
			ev := f.events()
			if !slices.ContainsFunc(ev, func(e string) bool {
				return strings.HasPrefix(e, "Warning "+EventReasonInvalid+" ") && strings.Contains(e, want[1])
			}) {
				t.Errorf("no Warning %s Event naming %q in %v", EventReasonInvalid, want[1], ev)
			}
		})
	}
}

// Values the executor takes pass, given or defaulted, and a task whose
// Function the registry does not know is not value-checked.
func TestCheckTaskParamValuesAccepts(t *testing.T) {
	path := field.NewPath("spec", "addon", "tasks").Index(0).Child("params")
	for _, tc := range []struct {
		function string
		params   map[string]string
	}{
		{invocation.FunctionKopiaRestore, map[string]string{"include": "app/db, /source/data/x", "exclude": "*.tmp,cache/", "parallel": "16", "resume": "false", "deleteExtra": "1", "sparse": "TRUE"}},
		{invocation.FunctionKopiaRestore, map[string]string{"parallel": "0", "include": ""}},
		{invocation.FunctionKubedumpRestore, map[string]string{"enableCache": "false", "scratchDir": "/kubestash-tmp", "ANDedLabelSelectors": "app:web,tier=db,stable",
			"ORedLabelSelectors": "", "IncludeClusterResources": "true", "IncludeNamespaces": "default,kube-system", "ExcludeNamespaces": "*",
			"IncludeResources": "pods,deployments.apps", "ExcludeResources": "secrets", "OverrideResources": "", "StorageClassMappings": "old=new, a=b", "RestorePVs": "false"}},
		{"someone-elses-function", map[string]string{"parallel": "many"}},
	} {
		task := addonsv1alpha1.Task{Name: "t", Function: tc.function}
		if errs := checkTaskParamValues(task, tc.params, path); len(errs) != 0 {
			t.Errorf("%s %v: %v", tc.function, tc.params, errs)
		}
	}
}
