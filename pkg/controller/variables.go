package controller

import (
	"maps"

	"github.com/restore-controller/restore/pkg/invocation"
	"github.com/restore-controller/restore/pkg/refs"
)

// restoreVariables are the variables that describe the restore itself; the
// restore tasks and the hooks share them.
func restoreVariables(s *restoreState) map[string]string {
	rs := s.rs
	vars := map[string]string{
		invocation.VarNamespace:      rs.Namespace,
		invocation.VarRestoreSession: rs.Name,
		invocation.VarAddonName:      rs.Spec.Addon.Name,
		invocation.VarScratchDir:     invocation.ScratchDir,
	}
	if s.snapshot != nil {
		vars[invocation.VarSnapshotName] = s.snapshot.Name
	}
	if s.repository != nil {
		vars[invocation.VarRepoName] = s.repository.Name
	}
	if tg := rs.Spec.Target; tg != nil {
		vars[invocation.VarTargetName] = tg.Name
		vars[invocation.VarTargetKind] = tg.Kind
		vars[invocation.VarTargetNamespace] = refs.TargetNamespace(rs)
	}
	return vars
}

// hookVariables are the values a hook's Function args or action may refer
// to: the restore's variables, the hook's params and its literal
// variables.
func hookVariables(s *restoreState, h *resolvedHook) map[string]string {
	vars := restoreVariables(s)
	maps.Copy(vars, h.params)
	invocation.AddLiteralVariables(vars, h.info.Variables)
	return vars
}
