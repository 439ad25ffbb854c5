// Command kubectl-restore is a kubectl plugin (kubectl finds it on PATH and
// runs it as `kubectl restore`) that shows RestoreSessions to people:
//
//	kubectl restore describe NAME   phase, target, snapshot, per-component
//	                                progress, hooks, paused backups,
//	                                conditions and recent Events
//	kubectl restore watch NAME      live per-component progress bars with
//	                                speed and ETA until the restore ends
//	                                (exit 1 if it Failed)
//	kubectl restore logs NAME [COMPONENT]
//	                                the logs of the restore's executor pods,
//	                                of one component's with COMPONENT
//
// Flags: -n/--namespace, --kubeconfig, --context, as kubectl's.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/restore-controller/restore/pkg/generated/clientset/versioned"
)

const usage = `kubectl restore shows KubeStash RestoreSessions.

Usage:
  kubectl restore describe NAME [-n NAMESPACE]
  kubectl restore watch NAME [-n NAMESPACE] [--timeout DURATION] [--plain]
  kubectl restore logs NAME [COMPONENT] [-n NAMESPACE] [-f]

Flags:
`

// errUsage marks a command line the plugin cannot run; main prints usage.
var errUsage = errors.New("usage")

// exitError carries an exit code without a message of its own (the
// command already said why).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var code exitError
	switch {
	case err == nil:
	case errors.As(err, &code):
		os.Exit(int(code))
	default:
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// clients are what the commands talk to.
type clients struct {
	namespace string
	kube      kubernetes.Interface
	restore   versioned.Interface
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("kubectl-restore", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
	kubeContext := fs.String("context", "", "The kubeconfig context to use.")
	namespace := fs.StringP("namespace", "n", "", "Namespace of the RestoreSession (default: the context's).")
	timeout := fs.Duration("timeout", 0, "watch: give up after this long (0: never).")
	plain := fs.Bool("plain", false, "watch: print each change on its own line instead of redrawing bars (the default when stdout is not a terminal).")
	follow := fs.BoolP("follow", "f", false, "logs: stream the logs as they are written.")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return exitError(2)
	}
	rest := fs.Args()
	if len(rest) < 2 {
		fs.Usage()
		return exitError(2)
	}
	cmd, name, extra := rest[0], rest[1], rest[2:]

	c, err := newClients(*kubeconfig, *kubeContext, *namespace)
	if err != nil {
		return err
	}
	switch {
	case cmd == "describe" && len(extra) == 0:
		return describe(ctx, c, name, stdout)
	case cmd == "watch" && len(extra) == 0:
		live := !*plain
		if f, ok := stdout.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
			live = false
		}
		return watch(ctx, c, name, stdout, live, *timeout)
	case cmd == "logs" && len(extra) <= 1:
		component := ""
		if len(extra) == 1 {
			component = extra[0]
		}
		return logs(ctx, c, name, component, *follow, stdout)
	}
	fs.Usage()
	return exitError(2)
}

// newClients loads the kubeconfig as kubectl does and resolves the
// namespace: the flag, else the context's, else "default".
func newClients(kubeconfig, kubeContext, namespace string) (*clients, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	rest, err := cfg.ClientConfig()
	if err != nil {
		return nil, err
	}
	if namespace == "" {
		if namespace, _, err = cfg.Namespace(); err != nil {
			return nil, err
		}
	}
	rest.UserAgent = "kubectl-restore"
	kube, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return nil, err
	}
	restore, err := versioned.NewForConfig(rest)
	if err != nil {
		return nil, err
	}
	return &clients{namespace: namespace, kube: kube, restore: restore}, nil
}
