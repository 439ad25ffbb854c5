package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restore-controller/restore/test/framework"
)

// kopiaCLI runs the real kopia CLI v0.21.1 with its own config file.
type kopiaCLI struct {
	t        *testing.T
	bin      string
	config   string
	password string
}

func newKopiaCLI(t *testing.T, password string) *kopiaCLI {
	return &kopiaCLI{t: t, bin: framework.ToolPath(t, "kopia"), config: filepath.Join(t.TempDir(), "kopia.config"), password: password}
}

func (k *kopiaCLI) run(args ...string) []byte {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, append(args, "--config-file", k.config)...)
	cmd.Env = append(os.Environ(), "KOPIA_PASSWORD="+k.password, "KOPIA_CHECK_FOR_UPDATES=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		k.t.Fatalf("kopia %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// snapshot snapshots dir with the CLI and returns the manifest ID.
func (k *kopiaCLI) snapshot(dir string) string {
	k.t.Helper()
	k.run("snapshot", "create", dir)
	var snaps []struct {
		ID     string `json:"id"`
		Source struct {
			Path string `json:"path"`
		} `json:"source"`
	}
	out := k.run("snapshot", "list", dir, "--json")
	if err := json.Unmarshal(out, &snaps); err != nil || len(snaps) == 0 {
		k.t.Fatalf("kopia snapshot list: %v: %s", err, out)
	}
	return snaps[len(snaps)-1].ID
}
