package engine

import (
	"context"
	"fmt"

	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/blob/filesystem"
)

// LocalStorage is a repository in a directory: the BackupStorage's volume
// mount path joined with the Repository's spec.path.
type LocalStorage struct {
	Path string
}

var _ storageBackend = (*LocalStorage)(nil)

func (s *LocalStorage) String() string { return "local:" + s.Path }

// open opens the directory with kopia's filesystem storage; with create, a
// missing directory is created.
func (s *LocalStorage) open(ctx context.Context, create bool) (blob.Storage, error) {
	if s.Path == "" {
		return nil, fmt.Errorf("local storage has no path")
	}
	st, err := filesystem.New(ctx, &filesystem.Options{Path: s.Path}, create)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrStorageUnreachable, s, err)
	}
	return st, nil
}
