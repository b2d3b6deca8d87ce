// Package hcloudclient is the one way fleetctl talks to the Hetzner Cloud
// API: it builds the hcloud-go client that both the reconciler and the
// fleeting plugin use, with one retrying transport (see Policy), one way to
// list by label selector and one way to wait on actions. It imports no
// other fleetctl package; reconcile and plugin keep only thin adapters.
package hcloudclient

import (
	"context"
	"net/http"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// Options configure New.
type Options struct {
	Token string
	// Endpoint is the API base URL; "" means Hetzner's.
	Endpoint string
	// Application and Version name the program in the User-Agent.
	Application, Version string
	// PollInterval is how often running actions are polled; default 500 ms.
	PollInterval time.Duration
	// Retry tunes the transport; zero fields take the documented defaults.
	Retry Policy
	// Notify, when set, is told about every wait before a retry (a rate
	// limit or a failed attempt), so that the caller can show it. It may be
	// called from several goroutines at once.
	Notify func(Wait)
	// Base is the transport the attempts go through; nil means
	// http.DefaultTransport.
	Base http.RoundTripper
}

// New returns an hcloud-go client whose requests go through a Transport,
// and that Transport (for its request count).
//
// hcloud-go's own retries are turned off: they back off blindly on a 429
// instead of reading RateLimit-Reset, and they would multiply the
// transport's attempts. The http.Client has no overall Timeout either:
// it would cut retries and rate-limit waits short. Each attempt has its
// own timeout (Policy.AttemptTimeout) and the context bounds the whole.
func New(opts Options) (*hcloud.Client, *Transport) {
	poll := opts.PollInterval
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	t := NewTransport(opts.Base, opts.Retry, opts.Notify)
	o := []hcloud.ClientOption{
		hcloud.WithToken(opts.Token),
		hcloud.WithHTTPClient(&http.Client{Transport: t}),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(poll)}),
		hcloud.WithRetryOpts(hcloud.RetryOpts{BackoffFunc: hcloud.ConstantBackoff(0), MaxRetries: 0}),
	}
	if opts.Endpoint != "" {
		o = append(o, hcloud.WithEndpoint(opts.Endpoint))
	}
	if opts.Application != "" {
		o = append(o, hcloud.WithApplication(opts.Application, opts.Version))
	}
	return hcloud.NewClient(o...), t
}

// PerPage is Hetzner's largest page: the fewest requests per list.
const PerPage = 50

// ListOpts lists by label selector, PerPage at a time; the All* and
// AllWithOpts methods of hcloud-go follow meta.pagination.next_page.
func ListOpts(selector string) hcloud.ListOpts {
	return hcloud.ListOpts{PerPage: PerPage, LabelSelector: selector}
}

// WaitFor waits until every action finished, polling them together, and
// calls progress (when set) on each update. An action that ends in error
// fails the wait with hcloud-go's ActionError (its code and message).
func WaitFor(ctx context.Context, c *hcloud.Client, progress func(*hcloud.Action), actions ...*hcloud.Action) error {
	var pending []*hcloud.Action
	for _, a := range actions {
		if a != nil && a.ID != 0 {
			pending = append(pending, a)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return c.Action.WaitForFunc(ctx, func(u *hcloud.Action) error {
		if progress != nil {
			progress(u)
		}
		if u.Status == hcloud.ActionStatusError {
			return u.Error()
		}
		return nil
	}, pending...)
}
