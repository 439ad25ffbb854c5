package restoreview

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/restore-controller/restore/pkg/apis/common"
)

// none is shown for a field that has no value.
const none = "<none>"

// age is how long before now t was, as kubectl prints ages ("5m", "2d3h").
func age(t time.Time, now time.Time) string {
	if t.IsZero() {
		return none
	}
	return duration.HumanDuration(now.Sub(t))
}

// timestamp is t in RFC 3339 (UTC) with its age or, for a future t, the
// time left: "2026-12-02T15:00:00Z (5m ago)".
func timestamp(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	s := t.UTC().Format(time.RFC3339)
	if d := t.Sub(now); d > 0 {
		return s + " (in " + duration.HumanDuration(d) + ")"
	}
	return s + " (" + age(t.Time, now) + " ago)"
}

// objectRef is "Kind namespace/name", defaulting the namespace to ns.
func objectRef(kind, namespace, name, ns string) string {
	if namespace == "" {
		namespace = ns
	}
	ref := namespace + "/" + name
	if kind != "" {
		ref = kind + " " + ref
	}
	return ref
}

func typedRef(r common.TypedObjectReference, ns string) string {
	return objectRef(r.Kind, r.Namespace, r.Name, ns)
}

// orNone is s, or none when s is empty.
func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// oneLine collapses a multi-line message to one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
