package executor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/restore-controller/restore/pkg/invocation"
)

func intPtr(n int) *int { return &n }

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestPriorityFromEnv(t *testing.T) {
	got, err := PriorityFromEnv(envFunc(nil))
	if err != nil || got.Nice != nil || got.IONiceClass != nil || got.IONiceClassData != nil {
		t.Errorf("no variables: %+v, %v; want all unset", got, err)
	}
	got, err = PriorityFromEnv(envFunc(map[string]string{
		invocation.EnvNiceAdjustment: "-5", invocation.EnvIONiceClass: "3", invocation.EnvIONiceClassData: " 7 ",
	}))
	if err != nil || got.Nice == nil || *got.Nice != -5 || got.IONiceClass == nil || *got.IONiceClass != 3 ||
		got.IONiceClassData == nil || *got.IONiceClassData != 7 {
		t.Errorf("valid variables: %+v, %v", got, err)
	}
	for _, tc := range []struct{ name, value string }{
		{invocation.EnvNiceAdjustment, "ten"},
		{invocation.EnvNiceAdjustment, "20"},
		{invocation.EnvNiceAdjustment, "-21"},
		{invocation.EnvIONiceClass, "4"},
		{invocation.EnvIONiceClass, "-1"},
		{invocation.EnvIONiceClass, "idle"},
		{invocation.EnvIONiceClassData, "8"},
		{invocation.EnvIONiceClassData, "1.5"},
	} {
		_, err := PriorityFromEnv(envFunc(map[string]string{tc.name: tc.value}))
		if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), strings.TrimSpace(tc.value)) {
			t.Errorf("%s=%q: error %v, want one naming the variable and the value", tc.name, tc.value, err)
		}
	}
}

// Invalid values are refused before any thread is changed.
func TestPriorityApplyRejectsInvalidValues(t *testing.T) {
	before, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	must(t, err)
	for _, p := range []Priority{
		{Nice: intPtr(5), IONiceClass: intPtr(4)},
		{Nice: intPtr(5), IONiceClass: intPtr(2), IONiceClassData: intPtr(8)},
		{Nice: intPtr(20)},
	} {
		if err := p.Apply(); err == nil {
			t.Errorf("Apply(%+v) succeeded", p)
		}
	}
	if after, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err != nil || after != before {
		t.Errorf("priority changed by a refused Apply: %d, want %d (%v)", after, before, err)
	}
	if err := (Priority{}).Apply(); err != nil {
		t.Errorf("empty Priority: %v", err)
	}
}

const priorityChildEnv = "EXECUTOR_TEST_PRIORITY_CHILD"

// TestPriorityAppliedToAllThreads runs TestPriorityChild in a child process
// (Apply changes every thread of its process) with the controller's
// variables set, and checks what the child read back with getpriority(2)
// and ioprio_get(2) for each of its threads, including threads started
// after Apply.
func TestPriorityAppliedToAllThreads(t *testing.T) {
	const nice, class, data = 7, 2, 6
	cmd := exec.CommandContext(testContext(t), os.Args[0], "-test.run=^TestPriorityChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), priorityChildEnv+"=1",
		invocation.EnvNiceAdjustment+"="+strconv.Itoa(nice),
		invocation.EnvIONiceClass+"="+strconv.Itoa(class),
		invocation.EnvIONiceClassData+"="+strconv.Itoa(data))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	threads := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var tid, gotNice, gotIOPrio int
		if n, _ := fmt.Sscanf(sc.Text(), "thread %d nice %d ioprio %d", &tid, &gotNice, &gotIOPrio); n != 3 {
			continue
		}
		threads++
		if gotNice != nice || gotIOPrio != class<<13|data {
			t.Errorf("thread %d: nice %d ioprio %#x, want nice %d ioprio %#x", tid, gotNice, gotIOPrio, nice, class<<13|data)
		}
	}
	// The child holds 8 goroutines on their own threads, started after Apply.
	if threads < 9 {
		t.Fatalf("child reported %d threads, want at least 9:\n%s", threads, out)
	}
}

// TestPriorityChild is TestPriorityAppliedToAllThreads' child process.
func TestPriorityChild(t *testing.T) {
	if os.Getenv(priorityChildEnv) == "" {
		t.Skip("child process of TestPriorityAppliedToAllThreads")
	}
	p, err := PriorityFromEnv(os.Getenv)
	must(t, err)
	must(t, p.Apply())
	// New threads inherit their creator's values: start some now, each
	// goroutine locked to (and parked on) its own thread.
	var wg sync.WaitGroup
	ready, release := make(chan struct{}), make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready <- struct{}{}
			<-release
		}()
	}
	for range 8 {
		<-ready
	}
	defer wg.Wait()
	defer close(release)
	tasks, err := os.ReadDir("/proc/self/task")
	must(t, err)
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		must(t, err)
		// The raw syscall returns 20 - nice.
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
		must(t, err)
		ioprio, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
		if errno != 0 {
			t.Fatalf("ioprio_get(%d): %v", tid, errno)
		}
		fmt.Printf("thread %d nice %d ioprio %d\n", tid, 20-prio, ioprio)
	}
}
