package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// The memlimit leg runs the executor and restic inside a memory cgroup of
// memLimitBytes, as a restore Job under a LimitRange default would: the
// cgroup charges the process's memory and the page cache it dirties, and
// the kernel OOM-kills it when neither fits. Each runs as its own leg
// (memLimitSuffix appended to the tool's name) and the table shows its
// time against the same tool's unlimited leg, or that it was OOM-killed.
const (
	memLimitLeg    = "memlimit"
	memLimitBytes  = 128 << 20
	memLimitSuffix = "@128MiB"
)

// memLimitTools are the tools the memlimit leg runs in a cgroup.
var memLimitTools = []string{"executor", "restic"}

// memCgroup is a memory cgroup created for one leg run.
type memCgroup struct {
	dir string
	v2  bool
}

// cgroupFS is where cgroupfs is mounted.
const cgroupFS = "/sys/fs/cgroup"

// newMemCgroup creates a cgroup limited to limit bytes (no swap) under
// the v1 memory hierarchy, or under the v2 unified hierarchy when the
// memory controller is there.
func newMemCgroup(name string, limit int64) (*memCgroup, error) {
	var cg *memCgroup
	switch {
	case exists(filepath.Join(cgroupFS, "memory", "memory.limit_in_bytes")) || exists(filepath.Join(cgroupFS, "memory", "cgroup.procs")):
		cg = &memCgroup{dir: filepath.Join(cgroupFS, "memory", name)}
	case exists(filepath.Join(cgroupFS, "cgroup.controllers")):
		cg = &memCgroup{dir: filepath.Join(cgroupFS, name), v2: true}
		// The root must delegate the memory controller to its children.
		_ = os.WriteFile(filepath.Join(cgroupFS, "cgroup.subtree_control"), []byte("+memory"), 0o644)
	default:
		return nil, errors.New("no memory cgroup hierarchy under " + cgroupFS)
	}
	_ = os.Remove(cg.dir) // a leftover from an interrupted run
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup (needs root): %w", err)
	}
	limitFile, swapFile := "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"
	swapValue := strconv.FormatInt(limit, 10)
	if cg.v2 {
		limitFile, swapFile, swapValue = "memory.max", "memory.swap.max", "0"
	}
	if err := os.WriteFile(filepath.Join(cg.dir, limitFile), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
		cg.remove()
		return nil, fmt.Errorf("setting the cgroup's memory limit: %w", err)
	}
	// No swap: absent when the kernel accounts none, which is fine.
	_ = os.WriteFile(filepath.Join(cg.dir, swapFile), []byte(swapValue), 0o644)
	return cg, nil
}

// wrap makes cmd join the cgroup before it execs: a shell writes its own
// pid to cgroup.procs and execs the command, so every byte the tool
// allocates is charged and wait4 still reports the tool's own rusage.
func (cg *memCgroup) wrap(cmd *exec.Cmd) *exec.Cmd {
	args := append([]string{"-c", `echo $$ > "$0" && exec "$@"`, filepath.Join(cg.dir, "cgroup.procs"), cmd.Path}, cmd.Args[1:]...)
	w := exec.Command("/bin/sh", args...)
	w.Env = cmd.Env
	w.Dir = cmd.Dir
	return w
}

// oomKills is how many processes the kernel OOM-killed in the cgroup
// (v1 memory.oom_control, v2 memory.events: the oom_kill line).
func (cg *memCgroup) oomKills() int64 {
	file := "memory.oom_control"
	if cg.v2 {
		file = "memory.events"
	}
	raw, err := os.ReadFile(filepath.Join(cg.dir, file))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// remove deletes the (empty) cgroup; its charged page cache moves to the
// parent.
func (cg *memCgroup) remove() { _ = os.Remove(cg.dir) }

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
