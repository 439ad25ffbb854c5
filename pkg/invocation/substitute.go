package invocation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Substitute replaces ${name} and ${name:=default} in s with the variable's
// value. A variable that is not defined takes its default; without one it
// is an error naming the variable, because running an executor with an
// unresolved argument would fail later and less clearly. "$$" is a literal
// "$".
func Substitute(s string, vars map[string]string) (string, error) {
	var out strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			out.WriteByte('$')
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated variable reference in %q", s)
			}
			expr := s[i+2 : i+end]
			name, def, hasDefault := strings.Cut(expr, ":=")
			if name == "" {
				return "", fmt.Errorf("empty variable reference in %q", s)
			}
			value, ok := vars[name]
			switch {
			case ok:
				out.WriteString(value)
			case hasDefault:
				out.WriteString(def)
			default:
				return "", fmt.Errorf("variable ${%s} is not defined and has no default", name)
			}
			i += end + 1
		default:
			out.WriteByte(s[i])
			i++
		}
	}
	return out.String(), nil
}

// SubstituteAll substitutes every element of list; what names the list
// (e.g. `Function "kopia-restore" args`) prefixes errors.
func SubstituteAll(list []string, vars map[string]string, what string) ([]string, error) {
	if list == nil {
		return nil, nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		v, err := Substitute(s, vars)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		out[i] = v
	}
	return out, nil
}

// AddLiteralVariables adds to vars the environment variables that have a
// literal value; those taken from other sources exist only in the
// container's environment and cannot be substituted.
func AddLiteralVariables(vars map[string]string, env []corev1.EnvVar) {
	for _, v := range env {
		if v.ValueFrom == nil {
			vars[v.Name] = v.Value
		}
	}
}
