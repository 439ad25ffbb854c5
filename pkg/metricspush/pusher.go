package metricspush

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus/push"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// Grouping key of a restore's metrics in the Pushgateway.
const (
	DefaultJob                  = "restore-controller"
	GroupingLabelNamespace      = "namespace"
	GroupingLabelRestoreSession = "restoresession"
)

// DefaultTimeout bounds one push when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Options configure a Pusher.
type Options struct {
	// URL of the Pushgateway, e.g. http://pushgateway.monitoring:9091,
	// without the /metrics/job/… path. User information in the URL
	// (https://user:password@host) is sent as basic authentication and
	// kept out of error messages.
	URL string
	// Job is the job grouping label; empty means DefaultJob.
	Job string
	// Timeout bounds each push, including connecting; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Username and Password, when Username is set, are sent as basic
	// authentication. They take precedence over the URL's user information.
	Username, Password string
	// Client sends the requests (e.g. with custom TLS); nil means a plain
	// http.Client.
	Client push.HTTPDoer
}

// Pusher pushes a finished restore's metrics to a Pushgateway. It is safe
// for concurrent use: every push builds its own registry and request.
type Pusher struct {
	url                string
	job                string
	timeout            time.Duration
	username, password string
	client             push.HTTPDoer
}

// New checks o and returns a Pusher.
func New(o Options) (*Pusher, error) {
	if o.URL == "" {
		return nil, errors.New("pushgateway URL is empty")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("pushgateway URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("pushgateway URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("pushgateway URL %q: host is empty", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("pushgateway URL %q: must have no query or fragment", u.Redacted())
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("pushgateway timeout %v is negative", o.Timeout)
	}
	p := &Pusher{job: o.Job, timeout: o.Timeout, username: o.Username, password: o.Password, client: o.Client}
	if p.job == "" {
		p.job = DefaultJob
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	// The push package names its URL in errors, which end up in the
	// RestoreSession's status: keep credentials out of it.
	if u.User != nil {
		if p.username == "" {
			p.username = u.User.Username()
			p.password, _ = u.User.Password()
		}
		u.User = nil
	}
	p.url = u.String()
	return p, nil
}

// Push replaces the restore's group in the Pushgateway with rs's metrics.
// rs is only read.
func (p *Pusher) Push(ctx context.Context, rs *corev1alpha1.RestoreSession) error {
	reg, err := restoreMetrics(rs)
	if err != nil {
		return err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	pusher := push.New(p.url, p.job).
		Grouping(GroupingLabelNamespace, rs.Namespace).
		Grouping(GroupingLabelRestoreSession, rs.Name).
		Gatherer(reg)
	if p.client != nil {
		pusher = pusher.Client(p.client)
	}
	if p.username != "" {
		pusher = pusher.BasicAuth(p.username, p.password)
	}
	if err := pusher.PushContext(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
			return fmt.Errorf("no answer within the push timeout %v: %w", p.timeout, err)
		}
		return err
	}
	klog.FromContext(ctx).V(4).Info("Pushed restore metrics", "pushgateway", p.url, "job", p.job)
	return nil
}
