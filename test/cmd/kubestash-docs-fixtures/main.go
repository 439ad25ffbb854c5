// Command kubestash-docs-fixtures extracts KubeStash's own example objects
// from a git checkout (or bare mirror) of the kubestash/docs repository into
// the fixture directory test/admission/testdata/kubestash-docs, one object
// per file, for the admission test that applies them unchanged.
//
// It reads every .yaml/.yml file and every ```yaml block of every .md file
// at one commit, splits them into YAML documents, and keeps each document
// whose apiVersion group and kind name a CRD in artifacts/crds. Documents
// that decode to the same object are stored once, from the first source in
// path order. Each fixture is the document's text exactly as in the source,
// preceded by one comment line naming the source and commit.
//
//	go run ./cmd/kubestash-docs-fixtures -docs /work/.mirror/kubestash+docs/repo
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/restore-controller/restore/test/cluster"
)

func main() {
	docsGitDir := flag.String("docs", "", "git directory of kubestash/docs (a bare mirror or a checkout's .git)")
	rev := flag.String("rev", "HEAD", "commit of kubestash/docs to read")
	out := flag.String("out", "", "fixture directory (default <repo>/test/admission/testdata/kubestash-docs)")
	flag.Parse()
	if *docsGitDir == "" {
		fmt.Fprintln(os.Stderr, "-docs is required")
		os.Exit(2)
	}
	if err := run(*docsGitDir, *rev, *out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// source is one place a YAML document was found.
type source struct {
	path    string // path in kubestash/docs
	command string // the "$ kubectl get -o yaml" whose output the document is, if any
	text    string // the document, verbatim
}

func run(gitDir, rev, out string) error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(root, "test", "admission", "testdata", "kubestash-docs")
	}
	served, err := servedKinds(filepath.Join(root, "artifacts", "crds"))
	if err != nil {
		return err
	}
	git := func(args ...string) (string, error) {
		o, err := exec.Command("git", append([]string{"--git-dir", gitDir}, args...)...).Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return string(o), nil
	}
	commit, err := git("rev-parse", rev+"^{commit}")
	if err != nil {
		return err
	}
	commit = strings.TrimSpace(commit)
	list, err := git("ls-tree", "-r", "--name-only", commit)
	if err != nil {
		return err
	}

	var found []source
	for _, p := range strings.Split(strings.TrimSpace(list), "\n") {
		ext := path.Ext(p)
		if ext != ".yaml" && ext != ".yml" && ext != ".md" {
			continue
		}
		content, err := git("show", commit+":"+p)
		if err != nil {
			return err
		}
		if ext != ".md" {
			for _, doc := range splitDocuments(content) {
				found = append(found, source{path: p, text: doc})
			}
			continue
		}
		for _, b := range fencedBlocks(content) {
			texts, commands := yamlTexts(b)
			for i, t := range texts {
				for _, doc := range splitDocuments(t) {
					found = append(found, source{path: p, command: commands[i], text: doc})
				}
			}
		}
	}

	// Keep the documents of served kinds, once per distinct object.
	type fixture struct {
		kind string
		source
	}
	var fixtures []fixture
	seen := map[string]bool{}
	duplicates := 0
	var skipped []string
	for _, s := range found {
		var obj map[string]any
		err := yaml.Unmarshal([]byte(s.text), &obj)
		switch {
		case elision.MatchString(s.text):
			// "..." would end the YAML document early, or break it: the
			// docs left parts of the object out.
			if kind := servedKindOf(s.text, served); kind != "" {
				skipped = append(skipped, fmt.Sprintf("%s %s: elided with \"...\"", kind, s.path))
			}
			continue
		case err != nil:
			if kind := servedKindOf(s.text, served); kind != "" {
				skipped = append(skipped, fmt.Sprintf("%s %s: not YAML: %v", kind, s.path, err))
			}
			continue
		}
		apiVersion, _ := obj["apiVersion"].(string)
		kind, _ := obj["kind"].(string)
		group, _, _ := strings.Cut(apiVersion, "/")
		if !served[group+"/"+kind] {
			continue
		}
		canonical, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
		if seen[string(canonical)] {
			duplicates++
			continue
		}
		seen[string(canonical)] = true
		fixtures = append(fixtures, fixture{kind: kind, source: s})
	}

	// Replace the kind directories; README.md and known-rejections.txt stay.
	for gk := range served {
		_, kind, _ := strings.Cut(gk, "/")
		if err := os.RemoveAll(filepath.Join(out, strings.ToLower(kind))); err != nil {
			return err
		}
	}
	counts := map[string]int{}
	owner := map[string]string{} // short name -> source path, to catch collisions
	next := map[string]int{}     // kind/short name -> last number used
	for _, f := range fixtures {
		short := shortName(f.path)
		if o, ok := owner[short]; ok && o != f.path {
			return fmt.Errorf("sources %s and %s share the short name %q", o, f.path, short)
		}
		owner[short] = f.path
		dir := strings.ToLower(f.kind)
		next[dir+"/"+short]++
		name := fmt.Sprintf("%s-%d.yaml", short, next[dir+"/"+short])
		if err := os.MkdirAll(filepath.Join(out, dir), 0o755); err != nil {
			return err
		}
		content := fmt.Sprintf("# source: kubestash/docs %s@%s\n", f.path, commit)
		if f.command != "" {
			content += fmt.Sprintf("# output of: %s\n", f.command)
		}
		content += f.text + "\n"
		if err := os.WriteFile(filepath.Join(out, dir, name), []byte(content), 0o644); err != nil {
			return err
		}
		counts[f.kind]++
	}

	fmt.Printf("kubestash/docs %s: %d YAML documents, %d fixtures of served kinds, %d duplicates dropped\n",
		commit, len(found), len(fixtures), duplicates)
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Printf("  %-20s %d\n", k, counts[k])
	}
	for _, u := range skipped {
		fmt.Printf("  skipped %s\n", u)
	}
	return nil
}

// servedKinds returns "group/Kind" of every CRD in dir.
func servedKinds(dir string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	served := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		served[crd.Spec.Group+"/"+crd.Spec.Names.Kind] = true
	}
	if len(served) == 0 {
		return nil, fmt.Errorf("no CRDs in %s", dir)
	}
	return served, nil
}

var (
	fenceOpen      = regexp.MustCompile("^( *)(`{3,}|~{3,})\\s*([^`\\s]*)")
	shellPrompt    = regexp.MustCompile(`^\$\s`)
	kubectlGetYAML = regexp.MustCompile(`^\$\s+kubectl\s+get\s.*(-o\s*yaml|--output[= ]yaml)\s*$`)
	docSeparator   = regexp.MustCompile(`^---\s*$`)
	apiVersionKey  = regexp.MustCompile(`(?m)^apiVersion:\s*([a-z0-9.-]+)/`)
	kindKey        = regexp.MustCompile(`(?m)^kind:\s*(\w+)`)
	elision        = regexp.MustCompile(`(?m)^\s*\.\.\.\s*$`)
)

// block is the content of one fenced code block of a Markdown text.
type block struct {
	info    string // first word of the info string, lower case
	content string
}

// fencedBlocks returns the fenced code blocks of a Markdown text, each with
// the fence's indentation removed. As in CommonMark, a block is closed by a
// fence of the same character at least as long as the opening one (or by the
// end of the text).
func fencedBlocks(md string) []block {
	var blocks []block
	sc := bufio.NewScanner(strings.NewReader(md))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var (
		in     bool
		fence  string
		indent int
		cur    block
		buf    bytes.Buffer
	)
	for sc.Scan() {
		line := sc.Text()
		if !in {
			if m := fenceOpen.FindStringSubmatch(line); m != nil {
				in, indent, fence = true, len(m[1]), m[2]
				cur = block{info: strings.ToLower(m[3])}
				buf.Reset()
			}
			continue
		}
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
			in = false
			cur.content = buf.String()
			blocks = append(blocks, cur)
			continue
		}
		// Remove up to indent leading spaces, as CommonMark does.
		n := 0
		for n < indent && n < len(line) && line[n] == ' ' {
			n++
		}
		buf.WriteString(line[n:])
		buf.WriteByte('\n')
	}
	if in {
		cur.content = buf.String()
		blocks = append(blocks, cur)
	}
	return blocks
}

// yamlTexts returns the YAML streams a fenced block shows, each with the
// command that printed it ("" for a plain YAML block). A YAML block without
// shell prompts is one stream. In any block, the lines after a
// "$ kubectl get ... -o yaml" prompt up to the next prompt are that
// command's output: the object as a KubeStash cluster served it.
func yamlTexts(b block) (texts, commands []string) {
	isYAML := b.info == "yaml" || b.info == "yml"
	lines := strings.Split(b.content, "\n")
	hasPrompt := false
	for _, l := range lines {
		if shellPrompt.MatchString(l) {
			hasPrompt = true
			break
		}
	}
	if isYAML && !hasPrompt {
		return []string{b.content}, []string{""}
	}
	command := ""
	var out []string
	flush := func() {
		if command != "" {
			texts = append(texts, strings.Join(out, "\n"))
			commands = append(commands, command)
		}
		command, out = "", nil
	}
	for _, l := range lines {
		if shellPrompt.MatchString(l) {
			flush()
			if kubectlGetYAML.MatchString(l) {
				command = strings.TrimSpace(l)
			}
			continue
		}
		out = append(out, l)
	}
	flush()
	return texts, commands
}

// splitDocuments splits a YAML stream at its "---" lines and returns the
// documents that hold more than comments and blank lines, each without
// leading and trailing blank lines.
func splitDocuments(stream string) []string {
	var docs []string
	var cur []string
	flush := func() {
		start, end := 0, len(cur)
		for start < end && strings.TrimSpace(cur[start]) == "" {
			start++
		}
		for end > start && strings.TrimSpace(cur[end-1]) == "" {
			end--
		}
		lines := cur[start:end]
		cur = nil
		for _, l := range lines {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, strings.Join(lines, "\n"))
				return
			}
		}
	}
	for _, line := range strings.Split(stream, "\n") {
		if docSeparator.MatchString(line) {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return docs
}

// servedKindOf returns the kind that text, which is not valid YAML, names
// when its group and kind are served ("" otherwise), so that skipping it is
// reported.
func servedKindOf(text string, served map[string]bool) string {
	a := apiVersionKey.FindStringSubmatch(text)
	k := kindKey.FindStringSubmatch(text)
	if a == nil || k == nil || !served[a[1]+"/"+k[1]] {
		return ""
	}
	return k[1]
}

// shortName names a source file for fixture file names:
// docs/guides/workloads/deployment/examples/restoresession.yaml becomes
// workloads-deployment-restoresession, docs/addons/mysql/logical/index.md
// becomes addons-mysql-logical.
func shortName(p string) string {
	p = strings.TrimSuffix(p, path.Ext(p))
	var parts []string
	for _, part := range strings.Split(p, "/") {
		switch part {
		case "docs", "guides", "examples", "index", "_index":
			continue
		}
		parts = append(parts, strings.ToLower(part))
	}
	return strings.Join(parts, "-")
}
