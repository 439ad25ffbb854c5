package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCgroupMemoryLimit reads fixture trees under testdata/cgroup: each has
// the process's /proc/self/cgroup (proc-self-cgroup) and a cgroupfs (sys).
func TestCgroupMemoryLimit(t *testing.T) {
	tests := []struct {
		fixture string
		want    int64
		wantErr bool
	}{
		{fixture: "v1", want: 128 << 20},
		{fixture: "v1-parent-smaller", want: 192 << 20},
		{fixture: "v1-container-root", want: 256 << 20},
		{fixture: "v1-unlimited", want: 0},
		{fixture: "v2", want: 128 << 20},
		{fixture: "v2-unlimited", want: 0},
		{fixture: "v2-invalid", wantErr: true},
		{fixture: "hybrid", want: 96 << 20},
		{fixture: "none", want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			dir := filepath.Join("testdata", "cgroup", tc.fixture)
			raw, err := os.ReadFile(filepath.Join(dir, "proc-self-cgroup"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := cgroupMemoryLimit(filepath.Join(dir, "sys"), raw)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got limit %d, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("limit = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestSoftMemoryLimitLeavesRoomForPageCache(t *testing.T) {
	for _, limit := range []int64{128 << 20, 1 << 30} {
		soft := softMemoryLimit(limit)
		if soft >= limit || soft < limit/2 {
			t.Errorf("softMemoryLimit(%d) = %d, want between half and the limit", limit, soft)
		}
	}
}
