package executor

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/restore-controller/restore/pkg/invocation"
)

// Priority is the CPU and I/O scheduling the executor gives itself
// (containerRuntimeSettings nice/ionice, passed in invocation.EnvNice* vars).
type Priority struct {
	Nice            *int
	IONiceClass     *int // 1 realtime, 2 best-effort, 3 idle; 0 none
	IONiceClassData *int // 0 (highest) to 7
}

// ioprio encoding of linux/ioprio.h.
const (
	ioprioClassShift = 13
	ioprioWhoProcess = 1
)

// Apply sets the priority on every thread of the process. On Linux both
// nice values and I/O priorities are per thread and new threads inherit
// their creator's, so setting all existing threads early (before any data
// is read) covers the whole process.
func (p Priority) Apply() error {
	if p.Nice == nil && (p.IONiceClass == nil || *p.IONiceClass == 0) {
		return nil
	}
	var ioprio int
	if p.IONiceClass != nil && *p.IONiceClass != 0 {
		class := *p.IONiceClass
		if class < 1 || class > 3 {
			return fmt.Errorf("ionice class %d: must be 1, 2 or 3", class)
		}
		data := 0
		if p.IONiceClassData != nil {
			data = *p.IONiceClassData
		}
		if data < 0 || data > 7 {
			return fmt.Errorf("ionice class data %d: must be 0 to 7", data)
		}
		ioprio = class<<ioprioClassShift | data
	}
	if p.Nice != nil && (*p.Nice < -20 || *p.Nice > 19) {
		return fmt.Errorf("nice adjustment %d: must be -20 to 19", *p.Nice)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("listing threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if p.Nice != nil {
			if err := unix.Setpriority(unix.PRIO_PROCESS, tid, *p.Nice); err != nil {
				return fmt.Errorf("setting nice %d: %w", *p.Nice, err)
			}
		}
		if ioprio != 0 {
			if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), uintptr(ioprio)); errno != 0 {
				return fmt.Errorf("setting ionice class %d data %d: %w", *p.IONiceClass, ioprio&7, errno)
			}
		}
	}
	return nil
}

// PriorityFromEnv reads invocation.EnvNiceAdjustment, EnvIONiceClass and
// EnvIONiceClassData through getenv; empty values are unset. A value that
// is not an integer in its range is an error naming the variable.
func PriorityFromEnv(getenv func(string) string) (Priority, error) {
	var p Priority
	for _, v := range []struct {
		name     string
		dst      **int
		min, max int
	}{
		{invocation.EnvNiceAdjustment, &p.Nice, -20, 19},
		{invocation.EnvIONiceClass, &p.IONiceClass, 0, 3},
		{invocation.EnvIONiceClassData, &p.IONiceClassData, 0, 7},
	} {
		s := strings.TrimSpace(getenv(v.name))
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return Priority{}, fmt.Errorf("%s=%q: not an integer", v.name, s)
		}
		if n < v.min || n > v.max {
			return Priority{}, fmt.Errorf("%s=%d: must be %d to %d", v.name, n, v.min, v.max)
		}
		*v.dst = &n
	}
	return p, nil
}
