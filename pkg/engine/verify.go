package engine

import (
	"context"
	"errors"

	"github.com/kopia/kopia/repo"
)

// Verification is what verifying a restore found.
type Verification struct {
	Files, Bytes, Symlinks, Mismatches int64
	FirstMismatches                    []string
}

func verifyRoots(context.Context, repo.Repository, []restoreRoot, RestoreOptions) (*Verification, error) {
	return nil, errors.New("verify is not implemented yet")
}
