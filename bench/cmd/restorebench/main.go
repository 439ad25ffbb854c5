// Command restorebench restores the same data four ways and prints a table
// side by side: the restore engine (pkg/engine, run as a child process by
// bench/cmd/bench-executor), the kopia CLI (`kopia snapshot restore` from the
// same kopia repository), restic (`restic restore` from an equivalent restic
// repository) and `cp -a` of the raw files, the disk's limit.
//
// Every leg runs as a child process into an empty directory after `sync` and
// dropping the page cache; its peak RSS comes from wait4's rusage. After the
// leg the bench times a sync(2), so numbers compare durable restores whether
// or not a tool fsyncs itself. Each leg's output is checked against the
// source (sha256 of every file, the tree's shape, link targets; modes and
// mtimes are reported separately) so a fast wrong restore cannot win.
//
// See bench/README.md.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/restore-controller/restore/internal/fstree"
)

const (
	password = "bench-password"
	// genVersion changes whenever the generators change, invalidating the
	// cached sources and repositories.
	genVersion = "1"
)

type options struct {
	scale       float64
	dir         string
	tools       string
	executorBin string
	legs        map[string]bool
	datasets    map[string]bool
	runs        int
	dropCaches  bool
}

type result struct {
	dataset, leg     string
	seconds, syncSec float64
	files, bytes     int64
	maxRSSKiB        int64
	writtenBytes     int64
	verified         string
	// oomKilled: the kernel killed the tool in its memory cgroup (a
	// memlimit leg); a result, not a failure of the benchmark.
	oomKilled bool
	err       error
}

func main() {
	var o options
	var legs, sets string
	root := repoRoot()
	flag.Float64Var(&o.scale, "scale", envFloat("BENCH_SCALE", 1), "size multiplier for every dataset (env BENCH_SCALE); 0.01 is a quick run")
	flag.StringVar(&o.dir, "dir", envOr("BENCH_DIR", filepath.Join(root, "_output", "bench")), "work directory: sources, repositories, targets (env BENCH_DIR)")
	flag.StringVar(&o.tools, "tools", envOr("RESTORE_TOOLS_DIR", filepath.Join(root, "_output", "tools")), "directory with the kopia binary (env RESTORE_TOOLS_DIR)")
	flag.StringVar(&o.executorBin, "executor-bin", os.Getenv("BENCH_EXECUTOR_BIN"), "the bench-executor binary; empty skips the executor leg (env BENCH_EXECUTOR_BIN)")
	flag.StringVar(&legs, "legs", envOr("BENCH_LEGS", "cp,kopia,restic,executor,executor-p2,memlimit"), "legs to run (env BENCH_LEGS); memlimit runs the executor and restic in a 128 MiB memory cgroup")
	flag.StringVar(&sets, "datasets", envOr("BENCH_DATASETS", "large,small,mixed"), "datasets (env BENCH_DATASETS)")
	flag.IntVar(&o.runs, "runs", int(envFloat("BENCH_RUNS", 1)), "runs per leg; the median is reported (env BENCH_RUNS)")
	flag.Parse()
	o.legs, o.datasets = set(legs), set(sets)

	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "restorebench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	o.dropCaches = dropCaches() == nil
	if !o.dropCaches {
		fmt.Println("note: cannot drop the page cache (not root?): restores may read the repository from memory")
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	kopia := filepath.Join(o.tools, "kopia")
	if _, err := os.Stat(kopia); err != nil {
		return fmt.Errorf("kopia CLI not found (run `make tools`): %w", err)
	}
	restic, _ := exec.LookPath("restic")
	if restic == "" && o.legs["restic"] {
		fmt.Println("note: restic is not installed (apt-get install restic): skipping its leg")
		delete(o.legs, "restic")
	}
	for leg := range o.legs {
		switch {
		case leg == "cp" || leg == "kopia" || leg == "restic" || leg == "executor":
		case leg == memLimitLeg:
			if os.Geteuid() != 0 {
				fmt.Println("note: the memlimit leg needs root (it creates a memory cgroup): skipping it")
				delete(o.legs, leg)
				continue
			}
		case strings.HasPrefix(leg, "executor-p"):
			if n, err := strconv.Atoi(strings.TrimPrefix(leg, "executor-p")); err != nil || n < 1 {
				return fmt.Errorf("leg %q: want executor-pN with N >= 1", leg)
			}
		default:
			return fmt.Errorf("unknown leg %q (cp, kopia, restic, executor, executor-pN, memlimit)", leg)
		}
		if (strings.HasPrefix(leg, "executor") || leg == memLimitLeg) && o.executorBin == "" {
			fmt.Printf("note: no executor binary given: skipping leg %s\n", leg)
			delete(o.legs, leg)
		}
	}

	var results []result
	for _, ds := range datasets {
		if !o.datasets[ds.name] {
			continue
		}
		p, err := prepare(o, ds, kopia, restic)
		if err != nil {
			return fmt.Errorf("preparing %s: %w", ds.name, err)
		}
		files, bytes := p.want.Stats()
		fmt.Printf("== %s: %s — %d files, %.1f MiB\n", ds.name, ds.about, files, float64(bytes)/(1<<20))
		for _, leg := range legOrder(o.legs, restic != "") {
			var runs []result
			for i := 0; i < o.runs; i++ {
				r := runLeg(o, p, leg, kopia, restic)
				r.files, r.bytes = files, bytes
				fmt.Printf("   %-15s %7.2fs (+%.2fs sync)  rss %4d MiB  wrote %5d MiB  %s\n", leg, r.seconds, r.syncSec, r.maxRSSKiB/1024, r.writtenBytes>>20, r.status())
				runs = append(runs, r)
				if r.err != nil || r.oomKilled {
					break
				}
			}
			results = append(results, median(runs))
		}
	}
	table := render(o, results)
	fmt.Print("\n" + table)
	if err := os.WriteFile(filepath.Join(o.dir, "results.md"), []byte(table), 0o644); err != nil {
		return err
	}
	for _, r := range results {
		if r.err != nil && !r.oomKilled {
			return fmt.Errorf("%s/%s failed: %v", r.dataset, r.leg, r.err)
		}
	}
	return nil
}

// prepared is a dataset's source tree and its kopia and restic repositories.
type prepared struct {
	name       string
	src        string
	kopiaRepo  string
	kopiaSnap  string
	resticRepo string
	// resticSrc is the path restic backed up (restored below --target):
	// the source's path when the repository was made, wherever
	// BENCH_DIR has moved since.
	resticSrc string
	want      fstree.Tree
	work      string
}

// prepare generates the source and backs it up with kopia and restic, unless
// a stamp says an earlier run already did so at this scale.
func prepare(o options, ds dataset, kopia, restic string) (*prepared, error) {
	base := filepath.Join(o.dir, ds.name)
	p := &prepared{
		name:       ds.name,
		src:        filepath.Join(base, "src"),
		kopiaRepo:  filepath.Join(base, "kopia-repo"),
		resticRepo: filepath.Join(base, "restic-repo"),
		work:       filepath.Join(base, "work"),
	}
	stampPath := filepath.Join(base, "stamp.json")
	wantStamp := fmt.Sprintf("gen=%s scale=%g", genVersion, o.scale)
	type stamp struct {
		Stamp     string
		KopiaSnap string
		Restic    bool
	}
	var st stamp
	if raw, err := os.ReadFile(stampPath); err == nil {
		_ = json.Unmarshal(raw, &st)
	}
	if st.Stamp != wantStamp {
		fmt.Printf("== %s: generating source and kopia repository (scale %g)\n", ds.name, o.scale)
		if err := os.RemoveAll(base); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(p.src, 0o755); err != nil {
			return nil, err
		}
		if err := ds.gen(p.src, o.scale); err != nil {
			return nil, err
		}
		cfg := filepath.Join(base, "kopia.config")
		k := func(args ...string) ([]byte, error) {
			return output(kopiaEnv(), kopia, append(args, "--config-file", cfg)...)
		}
		if _, err := k("repository", "create", "filesystem", "--path", p.kopiaRepo,
			"--cache-directory", filepath.Join(base, "kopia-cache")); err != nil {
			return nil, err
		}
		if _, err := k("snapshot", "create", p.src); err != nil {
			return nil, err
		}
		out, err := k("snapshot", "list", p.src, "--json")
		if err != nil {
			return nil, err
		}
		var snaps []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(out, &snaps); err != nil || len(snaps) != 1 {
			return nil, fmt.Errorf("kopia snapshot list: %v (%s)", err, out)
		}
		st = stamp{Stamp: wantStamp, KopiaSnap: snaps[0].ID}
		raw, _ := json.Marshal(st)
		if err := os.WriteFile(stampPath, raw, 0o644); err != nil {
			return nil, err
		}
	}
	p.kopiaSnap = st.KopiaSnap
	if restic != "" && (o.legs["restic"] || o.legs[memLimitLeg]) && !st.Restic {
		fmt.Printf("== %s: backing up with restic\n", ds.name)
		_ = os.RemoveAll(p.resticRepo)
		r := func(args ...string) error {
			_, err := output(resticEnv(filepath.Join(base, "restic-cache")), restic, append([]string{"--repo", p.resticRepo}, args...)...)
			return err
		}
		// kopia's default policy does not compress; restic's does (auto):
		// off keeps the two repositories equivalent.
		if err := r("init"); err != nil {
			return nil, err
		}
		if err := r("backup", "--compression", "off", p.src); err != nil {
			return nil, err
		}
		st.Restic = true
		raw, _ := json.Marshal(st)
		if err := os.WriteFile(stampPath, raw, 0o644); err != nil {
			return nil, err
		}
	}
	p.resticSrc = p.src
	if restic != "" && (o.legs["restic"] || o.legs[memLimitLeg]) {
		out, err := output(resticEnv(filepath.Join(base, "restic-cache")), restic, "--repo", p.resticRepo, "snapshots", "latest", "--json")
		var snaps []struct {
			Paths []string `json:"paths"`
		}
		if err == nil && json.Unmarshal(out, &snaps) == nil && len(snaps) == 1 && len(snaps[0].Paths) == 1 {
			p.resticSrc = snaps[0].Paths[0]
		}
	}
	var err error
	p.want, err = fstree.Scan(p.src)
	return p, err
}

func runLeg(o options, p *prepared, leg, kopia, restic string) result {
	r := result{dataset: p.name, leg: leg}
	if err := os.RemoveAll(p.work); err != nil {
		r.err = err
		return r
	}
	target := filepath.Join(p.work, "target")
	if err := os.MkdirAll(target, 0o755); err != nil {
		r.err = err
		return r
	}
	defer os.RemoveAll(p.work)
	restored := target
	tool, limited := strings.CutSuffix(leg, memLimitSuffix)
	var cmd *exec.Cmd
	switch tool {
	case "cp":
		cmd = exec.Command("cp", "-a", p.src+"/.", target)
	case "kopia":
		// A fresh connection with an empty cache, like the executor's.
		cfg := filepath.Join(p.work, "kopia.config")
		cache := filepath.Join(p.work, "kopia-cache")
		if _, err := output(kopiaEnv(), kopia, "repository", "connect", "filesystem", "--path", p.kopiaRepo,
			"--config-file", cfg, "--cache-directory", cache); err != nil {
			r.err = err
			return r
		}
		if err := os.RemoveAll(cache); err != nil {
			r.err = err
			return r
		}
		cmd = exec.Command(kopia, "snapshot", "restore", p.kopiaSnap, target, "--config-file", cfg, "--no-progress")
		cmd.Env = kopiaEnv()
	case "restic":
		// restic restores the snapshot's absolute paths below --target.
		cmd = exec.Command(restic, "--repo", p.resticRepo, "restore", "latest", "--target", target)
		cmd.Env = resticEnv(filepath.Join(p.work, "restic-cache"))
		restored = filepath.Join(target, p.resticSrc)
	default: // executor, executor-pN
		args := []string{"--repo", p.kopiaRepo, "--password", password,
			"--snapshot", p.kopiaSnap, "--target", target, "--scratch", filepath.Join(p.work, "scratch")}
		if n, ok := strings.CutPrefix(tool, "executor-p"); ok {
			args = append(args, "--parallel", n)
		}
		cmd = exec.Command(o.executorBin, args...)
	}
	var cg *memCgroup
	if limited {
		var err error
		if cg, err = newMemCgroup(fmt.Sprintf("restorebench-%d", os.Getpid()), memLimitBytes); err != nil {
			r.err = err
			return r
		}
		defer cg.remove()
		cmd = cg.wrap(cmd)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	syscall.Sync()
	if o.dropCaches {
		if err := dropCaches(); err != nil {
			r.err = err
			return r
		}
	}
	start := time.Now()
	err := cmd.Run()
	r.seconds = time.Since(start).Seconds()
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.maxRSSKiB = ru.Maxrss
			// ru_oublock: 512-byte blocks the process caused to be written
			// (restored files plus anything else, e.g. a content cache).
			r.writtenBytes = ru.Oublock * 512
		}
	}
	if err != nil {
		r.oomKilled = cg != nil && cg.oomKills() > 0
		r.err = fmt.Errorf("%v: %s", err, tail(out.String(), 2000))
		return r
	}
	start = time.Now()
	syscall.Sync()
	r.syncSec = time.Since(start).Seconds()

	got, err := fstree.Scan(restored)
	if err != nil {
		r.err = fmt.Errorf("scanning the restored tree: %w", err)
		return r
	}
	content, meta := compare(p.want, got, 5)
	switch {
	case len(content) > 0:
		r.err = fmt.Errorf("restored tree differs from the source:\n  %s", strings.Join(content, "\n  "))
	case len(meta) > 0:
		r.verified = "bytes ok; metadata differs: " + strings.Join(meta, "; ")
	default:
		r.verified = "ok"
	}
	return r
}

// legOrder runs the baselines first, then the executor legs by name, then
// the memlimit legs (restic's only when restic is installed).
func legOrder(legs map[string]bool, haveRestic bool) []string {
	var out, exec []string
	for _, l := range []string{"cp", "kopia", "restic"} {
		if legs[l] {
			out = append(out, l)
		}
	}
	for l := range legs {
		if strings.HasPrefix(l, "executor") {
			exec = append(exec, l)
		}
	}
	sort.Strings(exec)
	out = append(out, exec...)
	if legs[memLimitLeg] {
		for _, tool := range memLimitTools {
			if tool != "restic" || haveRestic {
				out = append(out, tool+memLimitSuffix)
			}
		}
	}
	return out
}

func (r result) status() string {
	if r.oomKilled {
		return "OOM-KILLED in its memory cgroup"
	}
	if r.err != nil {
		return "FAILED: " + r.err.Error()
	}
	return "verified " + r.verified
}

func median(rs []result) result {
	for _, r := range rs {
		if r.err != nil {
			return r
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].seconds+rs[i].syncSec < rs[j].seconds+rs[j].syncSec })
	return rs[len(rs)/2]
}

func render(o options, rs []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "restore benchmark — scale %g, %d run(s) per leg (median), page cache dropped before each leg: %v\n", o.scale, o.runs, o.dropCaches)
	fmt.Fprintf(&b, "seconds = the tool's wall time; +sync = a sync(2) after it; MB/s and files/s use the sum (durable restore)\n"+
		"× kopia, × restic: how many times faster the executor leg is (durable time); time ÷ cp: its time over cp -a's;\n"+
		"vs unlimited: a leg in a %d MiB memory cgroup (tool%s) over the same tool without a limit\n\n", memLimitBytes>>20, memLimitSuffix)
	rows := [][]string{{"dataset", "tool", "seconds", "+sync", "MB/s", "files/s", "peak RSS MiB", "written MiB",
		"× kopia", "× restic", "time ÷ cp", "vs unlimited", "verified"}}
	// durable is a leg's durable restore time in this dataset (0: none).
	durable := func(dataset, leg string) float64 {
		for _, r := range rs {
			if r.dataset == dataset && r.leg == leg && r.err == nil {
				return r.seconds + r.syncSec
			}
		}
		return 0
	}
	ratio := func(num, den float64) string {
		if num <= 0 || den <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f×", num/den)
	}
	for _, r := range rs {
		tool, limited := strings.CutSuffix(r.leg, memLimitSuffix)
		if r.err != nil {
			status, vsUnlimited := "FAILED", "-"
			if r.oomKilled {
				status, vsUnlimited = "OOM-killed", "OOM-killed"
			}
			rows = append(rows, []string{r.dataset, r.leg, "-", "-", "-", "-", "-", "-", "-", "-", "-", vsUnlimited, status})
			continue
		}
		total := r.seconds + r.syncSec
		v := r.verified
		if v != "ok" {
			v = "bytes ok, meta differs"
		}
		// Speed-ups over the peers, for the executor's legs: how many
		// times faster (durable restore time), and its time over cp -a's.
		xKopia, xRestic, overCp, vsUnlimited := "-", "-", "-", "-"
		if strings.HasPrefix(tool, "executor") {
			xKopia = ratio(durable(r.dataset, "kopia"), total)
			xRestic = ratio(durable(r.dataset, "restic"), total)
			overCp = ratio(total, durable(r.dataset, "cp"))
		}
		if limited {
			vsUnlimited = ratio(total, durable(r.dataset, tool))
		}
		rows = append(rows, []string{r.dataset, r.leg, fmt.Sprintf("%.2f", r.seconds), fmt.Sprintf("%.2f", r.syncSec),
			fmt.Sprintf("%.0f", float64(r.bytes)/1e6/total), fmt.Sprintf("%.0f", float64(r.files)/total),
			fmt.Sprint(r.maxRSSKiB / 1024), fmt.Sprint(r.writtenBytes >> 20), xKopia, xRestic, overCp, vsUnlimited, v})
	}
	writeMarkdownTable(&b, rows)
	for _, r := range rs {
		if r.err == nil && r.verified != "ok" {
			fmt.Fprintf(&b, "\n%s/%s: %s", r.dataset, r.leg, r.verified)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// writeMarkdownTable pads the columns: text left, numbers right.
func writeMarkdownTable(b *strings.Builder, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	numeric := func(i int) bool { return i >= 2 && i <= 11 }
	line := func(row []string) {
		b.WriteString("|")
		for i, c := range row {
			if numeric(i) {
				fmt.Fprintf(b, " %*s |", width[i], c)
			} else {
				fmt.Fprintf(b, " %-*s |", width[i], c)
			}
		}
		b.WriteString("\n")
	}
	line(rows[0])
	b.WriteString("|")
	for i := range width {
		if numeric(i) {
			b.WriteString(strings.Repeat("-", width[i]+1) + ":|")
		} else {
			b.WriteString(strings.Repeat("-", width[i]+2) + "|")
		}
	}
	b.WriteString("\n")
	for _, row := range rows[1:] {
		line(row)
	}
}

func dropCaches() error {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

func kopiaEnv() []string {
	return append(os.Environ(), "KOPIA_PASSWORD="+password, "KOPIA_CHECK_FOR_UPDATES=false")
}

func resticEnv(cache string) []string {
	return append(os.Environ(), "RESTIC_PASSWORD="+password, "RESTIC_CACHE_DIR="+cache)
}

// output runs a preparation command, returning its stdout; on failure the
// error carries its output.
func output(env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err,
			tail(stdout.String(), 2000), tail(stderr.String(), 2000))
	}
	return stdout.Bytes(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func set(csv string) map[string]bool {
	m := map[string]bool{}
	for _, s := range strings.Split(csv, ",") {
		if s = strings.TrimSpace(s); s != "" {
			m[s] = true
		}
	}
	return m
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envFloat(k string, def float64) float64 {
	if v := os.Getenv(k); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err == nil {
			return f
		}
		fmt.Fprintf(os.Stderr, "ignoring %s=%q: %v\n", k, v, err)
	}
	return def
}

// repoRoot is the directory holding the main go.mod (the bench runs from
// anywhere inside the repository).
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if raw, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			bytes.HasPrefix(raw, []byte("module github.com/restore-controller/restore\n")) {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
