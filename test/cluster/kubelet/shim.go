package kubelet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The mount-namespace shim.
//
// Go cannot run code between unshare(2) and execve(2) of a child, so a
// container is started in two steps:
//
//  1. The kubelet starts its own executable (os.Executable()) with
//     SysProcAttr.Unshareflags=CLONE_NEWNS, which gives the child a private
//     mount namespace and makes "/" recursively private in it before exec
//     (Go's forkAndExecInChild does that remount), so no mount made below can
//     propagate to the host. The environment variable shimEnv names a JSON
//     shimSpec.
//  2. This package's init() sees shimEnv and, before anything else runs,
//     builds the container's view of the filesystem and syscall.Exec's the
//     mapped binary, which thus keeps the pid, the process group and the
//     private namespace. The namespace and its mounts disappear with the last
//     process in it: nothing is ever mounted on the host.
//
// Building the view without touching the host: mountPaths such as /data or
// /var/run/secrets/kubernetes.io/serviceaccount usually do not exist on the
// host, and creating them there would leave litter. Instead the shim makes a
// new root: a tmpfs at spec.Root whose top-level entries are recursive bind
// mounts (directories, files) or copies (symlinks) of the host's "/". A
// missing top-level directory such as /data is then simply created in that
// tmpfs. When a missing component lies deeper, below a bound host directory
// D (for example /run/secrets below /run), D is "shadowed" the same way: the
// host D is first bind-mounted aside, a tmpfs is mounted on D in the new
// root, and D's entries are bound back one by one; the missing directory is
// then created in the tmpfs. Finally the shim chroots into the new root.
// Symlinks on the way (/var/run -> /run) are resolved inside the new root.

const shimEnv = "PROCESS_KUBELET_SHIM_SPEC"

type shimMount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

type shimSpec struct {
	Root       string      `json:"root"` // empty dir on the host, private to this container start
	Argv       []string    `json:"argv"`
	Env        []string    `json:"env"`
	WorkingDir string      `json:"workingDir,omitempty"`
	Mounts     []shimMount `json:"mounts"`
}

func init() {
	path := os.Getenv(shimEnv)
	if path == "" {
		return
	}
	if err := runShim(path); err != nil {
		fmt.Fprintf(os.Stderr, "process-kubelet shim: %v\n", err)
		os.Exit(127)
	}
}

func runShim(specPath string) error {
	data, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec shimSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	if len(spec.Argv) == 0 {
		return fmt.Errorf("empty argv")
	}
	// Defence in depth: the parent already made "/" private, do it again so
	// that a mistake there can never mount onto the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	r := &rootBuilder{root: spec.Root, aside: filepath.Join(spec.Root + ".aside")}
	if err := r.init(); err != nil {
		return err
	}
	// Parents before children, so a volume mounted inside another one lands
	// on top of it.
	mounts := append([]shimMount(nil), spec.Mounts...)
	sort.SliceStable(mounts, func(i, j int) bool {
		return strings.Count(filepath.Clean(mounts[i].Target), "/") < strings.Count(filepath.Clean(mounts[j].Target), "/")
	})
	for _, m := range mounts {
		if err := r.bind(m); err != nil {
			return fmt.Errorf("mounting %s at %s: %w", m.Source, m.Target, err)
		}
	}
	wd := spec.WorkingDir
	if wd == "" {
		wd = "/"
	}
	if _, err := r.ensureDir(wd); err != nil {
		return fmt.Errorf("workingDir %s: %w", wd, err)
	}
	if err := unix.Chroot(spec.Root); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir(wd); err != nil {
		return fmt.Errorf("chdir %s: %w", wd, err)
	}
	argv0 := spec.Argv[0]
	return syscall.Exec(argv0, spec.Argv, spec.Env)
}

// rootBuilder builds the container's root filesystem at root (a host path),
// see the comment at the top of this file.
type rootBuilder struct {
	root  string // the new root, a tmpfs
	aside string // where shadowed host directories are bound aside
	n     int
	// owned holds the mount points whose contents are the container's own:
	// the shim's tmpfs mounts and the volumes.
	owned map[string]bool
}

func (r *rootBuilder) init() error {
	if err := os.MkdirAll(r.root, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(r.aside, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", r.root, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs on new root: %w", err)
	}
	r.owned = map[string]bool{r.root: true}
	return r.populate("/", r.root)
}

// populate recreates the entries of host directory src in dst (a fresh
// tmpfs): directories and files as recursive bind mounts, symlinks as copies.
func (r *rootBuilder) populate(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		fi, err := os.Lstat(s)
		if err != nil {
			continue // raced with removal
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(s)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, d); err != nil {
				return err
			}
		case fi.IsDir():
			if err := os.Mkdir(d, fi.Mode().Perm()); err != nil {
				return err
			}
			if err := unix.Mount(s, d, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return fmt.Errorf("bind %s: %w", s, err)
			}
		case fi.Mode().IsRegular():
			f, err := os.OpenFile(d, os.O_CREATE|os.O_WRONLY, fi.Mode().Perm())
			if err != nil {
				return err
			}
			f.Close()
			if err := unix.Mount(s, d, "", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind %s: %w", s, err)
			}
		default:
			// Sockets, devices, fifos directly below a shadowed directory are
			// not needed by a container; skip them.
		}
	}
	return nil
}

// resolve maps the container path p to a host path below r.root, following
// symlinks inside the new root. It stops at the first missing component and
// returns the resolved existing prefix and the remaining components.
func (r *rootBuilder) resolve(p string) (string, []string, error) {
	parts := splitPath(p)
	cur := r.root
	for hops := 0; len(parts) > 0; {
		next := filepath.Join(cur, parts[0])
		fi, err := os.Lstat(next)
		if os.IsNotExist(err) {
			return cur, parts, nil
		}
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if hops++; hops > 40 {
				return "", nil, fmt.Errorf("too many symlinks in %s", p)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", nil, err
			}
			if filepath.IsAbs(target) {
				cur = r.root
			}
			parts = append(splitPath(target), parts[1:]...)
			continue
		}
		if parts[0] == ".." {
			if cur != r.root {
				cur = filepath.Dir(cur)
			}
		} else {
			cur = next
		}
		parts = parts[1:]
	}
	return cur, nil, nil
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return out
}

// ensureDir makes container path p exist as a directory in the new root and
// returns its host path.
func (r *rootBuilder) ensureDir(p string) (string, error) {
	return r.ensure(p, true)
}

func (r *rootBuilder) ensure(p string, dir bool) (string, error) {
	for {
		cur, missing, err := r.resolve(p)
		if err != nil {
			return "", err
		}
		if len(missing) == 0 {
			return cur, nil
		}
		if err := r.makeWritable(cur); err != nil {
			return "", err
		}
		next := filepath.Join(cur, missing[0])
		if len(missing) == 1 && !dir {
			f, err := os.OpenFile(next, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return "", err
			}
			f.Close()
			continue
		}
		if err := os.Mkdir(next, 0o755); err != nil && !os.IsExist(err) {
			return "", err
		}
	}
}

// makeWritable makes sure that creating an entry in directory d (a host path
// below r.root) does not write to a host filesystem: unless d lies on one of
// the shim's own tmpfs mounts or in a volume (where the real kubelet, too,
// creates nested mount points), it is shadowed by a tmpfs holding bind mounts
// of its entries.
func (r *rootBuilder) makeWritable(d string) error {
	mp, err := mountPointOf(d)
	if err != nil {
		return err
	}
	if r.owned[mp] {
		return nil
	}
	r.n++
	aside := filepath.Join(r.aside, fmt.Sprint(r.n))
	if err := os.Mkdir(aside, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(d, aside, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding %s aside: %w", d, err)
	}
	if err := unix.Mount("tmpfs", d, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs on %s: %w", d, err)
	}
	r.owned[d] = true
	return r.populate(aside, d)
}

// mountPointOf returns the mount point (in this mount namespace) of the
// mount that holds path d: the longest mount point that is a prefix of d.
func mountPointOf(d string) (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	best := "/"
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountinfo(f[4])
		if (d == mp || strings.HasPrefix(d, mp+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	return best, nil
}

func unescapeMountinfo(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// bind mounts m.Source at m.Target inside the new root.
func (r *rootBuilder) bind(m shimMount) error {
	fi, err := os.Stat(m.Source)
	if err != nil {
		return err
	}
	target, err := r.ensure(m.Target, fi.IsDir())
	if err != nil {
		return err
	}
	if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	r.owned[target] = true
	if m.ReadOnly {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("read-only remount: %w", err)
		}
	}
	return nil
}
