package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"k8s.io/klog/v2"
)

// cgroupRoot is where cgroupfs is mounted; /proc/self/cgroup names the
// process's cgroups relative to it.
const (
	cgroupRoot     = "/sys/fs/cgroup"
	procSelfCgroup = "/proc/self/cgroup"
)

// unlimitedMemory is the smallest value a cgroup reports for "no limit":
// v1 reports the page-rounded maximum int64, v2 the word "max".
const unlimitedMemory = int64(1) << 60

// ConfigureRuntime fits the Go runtime to the container the process runs
// in and returns the memory limit it found (0: none). GOMAXPROCS already
// follows the cgroup's CPU limit (Go ≥ 1.25); this sets a soft memory limit
// (debug.SetMemoryLimit) below the cgroup's memory limit, unless GOMEMLIMIT
// is set, so the collector works harder before the kernel OOM-kills the
// process. The cgroup also charges the page cache the restore dirties;
// the restore bounds that itself (writeback.go), and the soft limit leaves
// room for it (softMemoryLimit).
func ConfigureRuntime(ctx context.Context) int64 {
	logger := klog.FromContext(ctx)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(restoreGCPercent)
	}
	limit, err := containerMemoryLimit()
	if err != nil {
		logger.Error(err, "Reading the cgroup memory limit")
		return 0
	}
	if limit <= 0 {
		return 0
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		logger.V(2).Info("GOMEMLIMIT is set; not deriving a Go memory limit", "cgroupLimit", limit)
		return limit
	}
	soft := softMemoryLimit(limit)
	debug.SetMemoryLimit(soft)
	logger.V(1).Info("Set the Go memory limit from the cgroup", "cgroupLimit", limit, "goMemoryLimit", soft, "gomaxprocs", runtime.GOMAXPROCS(0))
	return limit
}

// restoreGCPercent replaces Go's default GOGC of 100 (unless GOGC is set).
// A restore's live heap is small and mostly kopia's pooled buffers, while
// every chunk it reads leaves a chunk-sized slice of garbage (kopia's
// GetContent copies the decrypted data out of its pool): with the default
// the heap would grow to twice the pool before each collection.
const restoreGCPercent = 25

// containerMemoryLimit is the process's cgroup memory limit (0: none),
// read once.
var containerMemoryLimit = sync.OnceValues(func() (int64, error) {
	raw, err := os.ReadFile(procSelfCgroup)
	if err != nil {
		return 0, nil //nolint:nilerr // not Linux, or no /proc: no limit known
	}
	return cgroupMemoryLimit(cgroupRoot, raw)
})

// softMemoryLimit is the Go runtime's share of a cgroup memory limit: three
// quarters, the rest for the page cache being written back, the binary's
// text and the kernel's accounting slack.
func softMemoryLimit(limit int64) int64 {
	return limit / 4 * 3
}

// cgroupMemoryLimit returns the memory limit in bytes that applies to the
// process whose /proc/self/cgroup reads procCgroup, with cgroupfs mounted at
// root: the smallest limit of its memory cgroup and that cgroup's ancestors
// (cgroup v1: memory/…/memory.limit_in_bytes; v2: …/memory.max). 0 means
// unlimited. Missing limit files are skipped: inside a container the
// process's cgroup is often mounted as root's top (the path in procCgroup
// then names no directory below it), where root's own file applies.
func cgroupMemoryLimit(root string, procCgroup []byte) (int64, error) {
	var v1Path, v2Path string
	haveV1, haveV2 := false, false
	sc := bufio.NewScanner(bytes.NewReader(procCgroup))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2Path, haveV2 = parts[2], true
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1Path, haveV1 = parts[2], true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading %s: %w", procSelfCgroup, err)
	}
	switch {
	case haveV1:
		// A v1 memory controller wins over the v2 line of a hybrid setup,
		// whose unified hierarchy has no memory controller.
		return smallestLimit(filepath.Join(root, "memory"), v1Path, "memory.limit_in_bytes")
	case haveV2:
		return smallestLimit(root, v2Path, "memory.max")
	default:
		return 0, nil
	}
}

// smallestLimit reads file in dir/cgroupPath and each ancestor up to dir
// and returns the smallest limit (0: none).
func smallestLimit(dir, cgroupPath, file string) (int64, error) {
	limit := int64(math.MaxInt64)
	p := path.Clean("/" + cgroupPath)
	for {
		v, err := readLimitFile(filepath.Join(dir, filepath.FromSlash(p), file))
		if err != nil {
			return 0, err
		}
		if v > 0 {
			limit = min(limit, v)
		}
		if p == "/" {
			break
		}
		p = path.Dir(p)
	}
	if limit >= unlimitedMemory {
		return 0, nil
	}
	return limit, nil
}

// readLimitFile parses a memory limit file: bytes, or "max" (0: no limit,
// also when the file does not exist).
func readLimitFile(name string) (int64, error) {
	raw, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the memory limit: %w", err)
	}
	s := strings.TrimSpace(string(raw))
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid memory limit %q in %s", s, name)
	}
	if v >= unlimitedMemory {
		return 0, nil
	}
	return v, nil
}
