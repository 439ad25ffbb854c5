package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/content"
	"github.com/kopia/kopia/repo/format"
	"k8s.io/klog/v2"
)

// RepositoryOptions says how to reach and unlock a kopia repository.
type RepositoryOptions struct {
	Storage  StorageConfig
	Password string
	// ScratchDir receives the kopia config file and caches, in a private
	// directory removed on Close. Empty means os.TempDir().
	ScratchDir string
	// Create initialises a repository when the storage holds none
	// (snapshot side only; a restore never creates a repository).
	Create bool
	// ReadOnly opens the repository without write access (restores).
	ReadOnly bool
}

// Repository is an open kopia repository plus what the engine needs to
// tear it down and to learn about fatal repository errors.
type Repository struct {
	repo.Repository

	dir string

	fatalOnce sync.Once
	fatal     chan struct{}
	fatalErr  error
}

// Fatal is closed when kopia reports a fatal repository error (its
// OnFatalError hook, which otherwise exits the process). FatalError returns it.
func (r *Repository) Fatal() <-chan struct{} { return r.fatal }

// FatalError is the error kopia reported as fatal, or nil.
func (r *Repository) FatalError() error {
	select {
	case <-r.fatal:
		return r.fatalErr
	default:
		return nil
	}
}

func (r *Repository) onFatal(ctx context.Context) func(error) {
	return func(err error) {
		klog.FromContext(ctx).Error(err, "Kopia reported a fatal repository error")
		r.fatalOnce.Do(func() {
			r.fatalErr = err
			close(r.fatal)
		})
	}
}

// Close closes the repository and removes its config file and caches.
func (r *Repository) Close(ctx context.Context) error {
	err := r.Repository.Close(ctx)
	if rmErr := os.RemoveAll(r.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// OpenRepository connects to the repository in opts.Storage with a config
// file in a private directory under opts.ScratchDir and opens it.
// Errors wrap ErrInvalidPassword, ErrRepositoryNotInitialized or
// ErrStorageUnreachable where they apply.
func OpenRepository(ctx context.Context, opts RepositoryOptions) (*Repository, error) {
	logger := klog.FromContext(ctx)
	if opts.Password == "" {
		return nil, fmt.Errorf("repository password is empty")
	}
	st, err := OpenStorage(ctx, opts.Storage, opts.Create)
	if err != nil {
		return nil, err
	}
	defer st.Close(ctx) //nolint:errcheck // Connect persisted what it needs.

	if opts.Create {
		err := repo.Initialize(ctx, st, &repo.NewRepositoryOptions{}, opts.Password)
		switch {
		case err == nil:
			logger.Info("Initialized a new kopia repository", "storage", opts.Storage.String())
		case errors.Is(err, repo.ErrAlreadyInitialized):
		default:
			return nil, classifyRepoError(fmt.Errorf("initializing repository in %s: %w", opts.Storage, err))
		}
	}

	scratch := opts.ScratchDir
	if scratch == "" {
		scratch = os.TempDir()
	}
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return nil, fmt.Errorf("creating scratch directory: %w", err)
	}
	// The config file holds storage credentials: keep it private.
	dir, err := os.MkdirTemp(scratch, "kopia-")
	if err != nil {
		return nil, fmt.Errorf("creating kopia config directory: %w", err)
	}
	configFile := filepath.Join(dir, "repository.config")

	// Write the connection config and open once: repo.Connect would open
	// the repository to verify the password and then repo.Open again, each
	// deriving the key with scrypt (about 64 MiB and 0.3 s apiece).
	if err := writeConnectionConfig(ctx, st, configFile, opts.ReadOnly); err != nil {
		_ = os.RemoveAll(dir)
		return nil, classifyRepoError(fmt.Errorf("connecting to repository in %s: %w", opts.Storage, err))
	}
	r := &Repository{dir: dir, fatal: make(chan struct{})}
	rep, err := repo.Open(ctx, configFile, opts.Password, &repo.Options{
		OnFatalError: r.onFatal(ctx),
		// Kopia's internal log writes its own log blobs and buffers; a
		// restore reports through klog instead.
		DisableInternalLog: true,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, classifyRepoError(fmt.Errorf("opening repository in %s: %w", opts.Storage, err))
	}
	// The key derivation's scratch memory is garbage now: hand it back
	// before the restore allocates its buffers, so the peak stays low.
	debug.FreeOSMemory()
	r.Repository = rep
	return r, nil
}

// writeConnectionConfig writes the kopia config file repo.Open reads for
// the repository in st: its connection info, no local content cache (a
// restore reads every content once), and the executor's client identity.
// A storage without a format blob fails with ErrRepositoryNotInitialized.
func writeConnectionConfig(ctx context.Context, st blob.Storage, configFile string, readOnly bool) error {
	if _, err := st.GetMetadata(ctx, format.KopiaRepositoryBlobID); err != nil {
		if errors.Is(err, blob.ErrBlobNotFound) {
			return fmt.Errorf("%w: %w", ErrRepositoryNotInitialized, repo.ErrRepositoryNotInitialized)
		}
		return fmt.Errorf("%w: unable to read format blob: %w", ErrStorageUnreachable, err)
	}
	ci := st.ConnectionInfo()
	lc := repo.LocalConfig{
		Storage: &ci,
		Caching: &content.CachingOptions{},
		ClientOptions: repo.ClientOptions{
			Hostname: "restore-executor",
			Username: "restore-executor",
			ReadOnly: readOnly,
		}.ApplyDefaults(ctx, "Repository in "+st.DisplayName()),
	}
	raw, err := json.MarshalIndent(lc, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the kopia config: %w", err)
	}
	// The config holds storage credentials: private to this process.
	if err := os.WriteFile(configFile, raw, 0o600); err != nil {
		return fmt.Errorf("writing the kopia config: %w", err)
	}
	return nil
}

// classifyRepoError adds the engine's sentinel to kopia's errors so that
// users read one clear cause and callers can match it.
func classifyRepoError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrInvalidPassword), errors.Is(err, ErrStorageUnreachable),
		errors.Is(err, ErrRepositoryNotInitialized), errors.Is(err, ErrRepositoryCorruption):
		return err
	case errors.Is(err, repo.ErrInvalidPassword):
		return fmt.Errorf("%w: %w", ErrInvalidPassword, err)
	case errors.Is(err, repo.ErrRepositoryNotInitialized):
		return fmt.Errorf("%w: %w", ErrRepositoryNotInitialized, err)
	case isCorruption(err):
		return fmt.Errorf("%w: %w", ErrRepositoryCorruption, err)
	case strings.Contains(err.Error(), "unable to read format blob"):
		return fmt.Errorf("%w: %w", ErrStorageUnreachable, err)
	default:
		return err
	}
}

// isCorruption recognises kopia's integrity failures. Kopia wraps them in
// plain errors, so the messages are the only handle (v0.21.1:
// content/committed_read_manager.go "invalid checksum", encryption
// "unable to decrypt", pack index "invalid index").
func isCorruption(err error) bool {
	msg := err.Error()
	for _, s := range []string{"invalid checksum", "unable to decrypt", "decryption failed", "message authentication failed", "invalid index"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
