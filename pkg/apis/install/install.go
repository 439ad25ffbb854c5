// Package install registers every API group of the project in a scheme.
//
// The generated clientset has its own scheme package, but code that runs
// before the clients are generated (the CRD tools in hack/) must not depend
// on generated code, so this list is kept by hand.
package install

import (
	"k8s.io/apimachinery/pkg/runtime"

	addonsv1alpha1 "github.com/restore-controller/restore/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/restore-controller/restore/pkg/apis/storage/v1alpha1"
)

var groups = runtime.NewSchemeBuilder(
	corev1alpha1.AddToScheme,
	storagev1alpha1.AddToScheme,
	addonsv1alpha1.AddToScheme,
)

// AddToScheme adds every API group of the project to a scheme.
var AddToScheme = groups.AddToScheme
