package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fleetctl/fleetctl/internal/crash"
	"github.com/fleetctl/fleetctl/spec"
)

// SessionOptions tune NewSession.
type SessionOptions struct {
	// PluginBinary is --plugin-binary; "" means the running executable.
	PluginBinary string
	// Cloud replaces the Hetzner adapter (tests).
	Cloud Cloud
	// PollInterval, Retry tune the Hetzner adapter; zero means defaults.
	PollInterval time.Duration
	Retry        RetryPolicy
	// UserAgent names the program in API requests.
	UserAgent string
	// Hooks receive what Apply and Destroy do, and the Hetzner adapter's
	// retries, while they happen.
	Hooks Hooks
	// Progress, when Hooks is nil, receives each event's line as
	// planview's text view words it; nil discards them.
	Progress io.Writer
	// ServerPoll, ShutdownTimeout, ReadyTimeout tune Apply; zero means
	// defaults.
	ServerPoll      time.Duration
	ShutdownTimeout time.Duration
	ReadyTimeout    time.Duration
	// SSHRetryInterval is how often a booting manager is dialled.
	SSHRetryInterval time.Duration
	// Secrets collects every secret value the session resolves, for
	// the caller to mask its own output with; nil means a new set.
	Secrets *Secrets
}

// Session is one command's view of one fleet: the spec, the desired state
// built from it, the cloud and the way to the manager.
type Session struct {
	Fleet   *spec.Fleet
	Desired *Desired
	Cloud   Cloud
	// Connector is nil when the manager's SSH key is not at hand;
	// NoConnectorReason then says why.
	Connector         Connector
	NoConnectorReason string
	opts              SessionOptions
	// flushProgress writes a progress line left unfinished.
	flushProgress func() error
}

// Secrets are the secret values the session resolved so far: the hcloud
// token and SSH key at once, the others when the desired state is built.
func (s *Session) Secrets() *Secrets { return s.opts.Secrets }

// NewSession resolves what every command needs: the API token (required),
// the endpoint (hcloud.endpoint, else $HCLOUD_ENDPOINT, else Hetzner's), the
// manager's SSH key (optional: plan works without it) and the desired state.
func NewSession(f *spec.Fleet, opts SessionOptions) (*Session, error) {
	s := &Session{Fleet: f, opts: opts}
	if opts.Secrets == nil {
		s.opts.Secrets = NewSecrets()
	}
	if opts.Progress == nil {
		s.opts.Progress = io.Discard
	}
	// Progress lines pass through the secrets' mask too.
	progress := s.opts.Secrets.Writer(s.opts.Progress)
	s.opts.Progress = progress
	s.flushProgress = progress.Flush
	if opts.Hooks == nil {
		s.opts.Hooks = lineHooks(progress)
	}
	// So do the events, whoever prints them.
	s.opts.Hooks = maskedHooks{next: s.opts.Hooks, secrets: s.opts.Secrets}
	s.Cloud = opts.Cloud
	if s.Cloud == nil {
		tokenRef := f.HCloud.Token
		if tokenRef == nil {
			tokenRef = &spec.Secret{Env: "HCLOUD_TOKEN"}
		}
		token, err := tokenRef.Resolve()
		if err != nil {
			return nil, fmt.Errorf("hcloud.token: %w", err)
		}
		s.opts.Secrets.Add(token)
		endpoint := f.HCloud.Endpoint
		if endpoint == "" {
			endpoint = os.Getenv("HCLOUD_ENDPOINT")
		}
		s.Cloud = NewHetznerCloud(HetznerOptions{Token: token, Endpoint: endpoint, PollInterval: opts.PollInterval, Retry: opts.Retry, UserAgent: opts.UserAgent, OnRetry: s.opts.Hooks.Retrying})
	}
	if ref := f.Manager.SSH.PrivateKey; ref == nil {
		s.NoConnectorReason = "manager.ssh.private_key is not set in fleet.yaml"
	} else if key, err := ref.ResolveText(); err != nil {
		s.NoConnectorReason = "manager.ssh.private_key: " + err.Error()
	} else {
		s.opts.Secrets.Add(key)
		if c, err := NewSSHConnector([]byte(key)); err != nil {
			s.NoConnectorReason = s.opts.Secrets.Redact(fmt.Sprintf("manager.ssh.private_key (%s): %v", ref, err))
		} else {
			c.RetryInterval = opts.SSHRetryInterval
			s.Connector = c
		}
	}
	return s, nil
}

// desired builds the desired state once; destroy never needs it.
func (s *Session) desired() (*Desired, error) {
	if s.Desired == nil {
		d, err := NewDesired(s.Fleet, DesiredOptions{PluginBinary: s.opts.PluginBinary, Secrets: s.opts.Secrets})
		if err != nil {
			return nil, err
		}
		s.Desired = d
	}
	return s.Desired, nil
}

// Requests returns how many API requests the session's Hetzner adapter
// sent, or -1 when it uses another Cloud.
func (s *Session) Requests() int64 {
	if h, ok := s.Cloud.(*HetznerCloud); ok {
		return h.Requests()
	}
	return -1
}

// Plan reads the live state and diffs it with the desired state. The plan
// and the error hold no secret value the session resolved.
func (s *Session) Plan(ctx context.Context, adopt bool) (*Plan, error) {
	p, err := s.plan(ctx, adopt)
	return p, s.finish(err)
}

// finish masks the secrets in an error and writes what progress holds.
func (s *Session) finish(err error) error {
	if s.flushProgress != nil {
		s.flushProgress()
	}
	return s.opts.Secrets.RedactError(err)
}

func (s *Session) plan(ctx context.Context, adopt bool) (*Plan, error) {
	p, _, err := s.observe(ctx, adopt)
	return p, err
}

// observe reads the live state, plans, and prices the plan; status shows
// what it observed.
func (s *Session) observe(ctx context.Context, adopt bool) (*Plan, *observed, error) {
	// The lists need only the fleet's name, and the SSH connection to
	// the manager only the lists: both run while the desired state is
	// built (which hashes the plugin binary).
	type listed struct {
		live  *Live
		early *earlyDial
		err   error
	}
	lists := make(chan listed, 1)
	// The prices are one request, made while the lists are.
	type priced struct {
		prices *Prices
		err    error
	}
	pricing := make(chan priced, 1)
	go func() {
		var got priced
		defer func() { pricing <- got }()
		defer crash.Recover(&got.err)
		got.prices, got.err = s.Cloud.Pricing(ctx)
	}()
	go func() {
		var got listed
		defer func() { lists <- got }()
		defer crash.Recover(&got.err)
		l, err := ListOwned(ctx, s.Cloud, s.Fleet.Name, UpstreamGroups(s.Fleet))
		var early *earlyDial
		if err == nil {
			early = dialManagerEarly(ctx, s.Fleet, l, s.Connector)
		}
		got = listed{l, early, err}
	}()
	d, derr := s.desired()
	got := <-lists
	if derr != nil || got.err != nil {
		got.early.closeUnused()
		if derr != nil {
			return nil, nil, derr
		}
		return nil, nil, got.err
	}
	opts := ReadOptions{Connector: s.Connector, NoConnectorReason: s.NoConnectorReason, early: got.early}
	if err := CompleteLive(ctx, s.Cloud, d, got.live, opts); err != nil {
		return nil, nil, err
	}
	p := Diff(d, got.live, adopt)
	pr := <-pricing
	var bug *crash.Error
	if errors.As(pr.err, &bug) {
		return nil, nil, pr.err
	}
	if pr.err != nil {
		p.Cost = &Cost{Unavailable: s.opts.Secrets.Redact(pr.err.Error())}
	} else {
		p.Cost = EstimateCost(s.Fleet, d, got.live, p, pr.prices)
	}
	return p, &observed{desired: d, live: got.live, prices: pr.prices}, nil
}

// observed is what a plan read: the desired and live state and the
// prices (nil when they could not be read).
type observed struct {
	desired *Desired
	live    *Live
	prices  *Prices
}

// Apply executes a plan made by this session (or a saved one that
// CheckSaved accepted).
func (s *Session) Apply(ctx context.Context, p *Plan, allowDestroy bool) ([]Result, error) {
	if _, err := s.desired(); err != nil {
		return nil, s.finish(err)
	}
	res, err := Apply(ctx, p, s.applyOptions(allowDestroy))
	return res, s.finish(err)
}

func (s *Session) applyOptions(allowDestroy bool) ApplyOptions {
	return ApplyOptions{
		Cloud: s.Cloud, Desired: s.Desired, Connector: s.Connector, NoConnectorReason: s.NoConnectorReason,
		AllowDestroy: allowDestroy, Hooks: s.opts.Hooks,
		ServerPoll: s.opts.ServerPoll, ShutdownTimeout: s.opts.ShutdownTimeout, ReadyTimeout: s.opts.ReadyTimeout,
	}
}

// Destroy removes everything that carries the fleet's label: the manager,
// the plugin's autoscaled instances, the firewalls (first detached from the
// label selectors and the servers they apply to, see deleteFirewall) and
// the SSH keys, the plugin's included. For runners that use the upstream
// plugin it also removes that plugin's servers of their instance groups and
// its SSH key named after the group (see UpstreamGroup). Protection is
// lifted only on servers the fleet owns; nothing else is touched. confirm
// must be the fleet's name. Like Apply, it returns what it did, also when
// it fails half-way.
//
// It is PlanDestroy and ApplyDestroy, the engine every plan goes through:
// the servers go first, then the firewalls and SSH keys. A plugin still
// running on the manager may create an instance while the servers go, so
// once they are gone the servers are listed once more and what appeared
// meanwhile is removed too.
func (s *Session) Destroy(ctx context.Context, confirm string) ([]Result, error) {
	if err := ConfirmDestroy(s.Fleet.Name, confirm); err != nil {
		return nil, err
	}
	p, err := s.PlanDestroy(ctx)
	if err != nil {
		return nil, err
	}
	return s.ApplyDestroy(ctx, p, confirm)
}

// PlanDestroy lists what the fleet owns and plans its removal. It never
// builds the desired state: it needs neither a secret of fleet.yaml nor the
// manager's SSH key. The plan and the error hold no secret value the
// session resolved.
func (s *Session) PlanDestroy(ctx context.Context) (*Plan, error) {
	p, err := PlanDestroy(ctx, s.Cloud, s.Fleet, s.opts.Secrets)
	return p, s.finish(err)
}

// ApplyDestroy applies a destroy plan (one this session made, or a saved one
// that CheckSaved accepted); confirm must be the fleet's name.
func (s *Session) ApplyDestroy(ctx context.Context, p *Plan, confirm string) ([]Result, error) {
	opts := s.applyOptions(false)
	opts.Desired, opts.Confirm = nil, confirm
	res, err := Apply(ctx, p, opts)
	return res, s.finish(err)
}

// Lock takes the fleet's apply lock (see AcquireLock) and reports it to
// the session's hooks. Work done under it uses the returned context, which
// ends if the lock is lost.
func (s *Session) Lock(ctx context.Context, opts LockOptions) (*Lock, context.Context, error) {
	l, held, err := AcquireLock(ctx, s.Cloud, s.Fleet.Name, opts, s.opts.Hooks)
	return l, held, s.opts.Secrets.RedactError(err)
}
