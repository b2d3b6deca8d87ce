package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/fleetctl/fleetctl/internal/hcloudclient"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// RetryPolicy tunes how the Hetzner adapter retries and waits; its zero
// fields take the defaults documented on hcloudclient.Policy.
type RetryPolicy = hcloudclient.Policy

// HetznerOptions configure the Hetzner Cloud adapter.
type HetznerOptions struct {
	Token string
	// Endpoint is the API base URL; "" means Hetzner's.
	Endpoint string
	// PollInterval is how often running actions are polled; default
	// 250 ms: an action is seen finished at most a quarter second late,
	// for one small request per poll.
	PollInterval time.Duration
	// Retry tunes how failed requests are retried.
	Retry RetryPolicy
	// UserAgent names the program, e.g. "fleetctl/1.2.3".
	UserAgent string
	// OnRetry, when set, is told of every wait before a retry (a rate
	// limit, with until when, or a failed attempt): Hooks.Retrying.
	OnRetry func(Retry)
}

// HetznerCloud is the Cloud backed by Hetzner's API through hcloud-go.
type HetznerCloud struct {
	client    *hcloud.Client
	transport *hcloudclient.Transport
}

var _ Cloud = (*HetznerCloud)(nil)

// NewHetznerCloud returns a Cloud that talks to Hetzner's API (or a
// compatible one at opts.Endpoint) through hcloudclient, which retries
// once, in its transport, with a timeout per attempt: the command's
// context alone bounds the whole.
func NewHetznerCloud(opts HetznerOptions) *HetznerCloud {
	poll := opts.PollInterval
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	client, t := hcloudclient.New(hcloudclient.Options{
		Token: opts.Token, Endpoint: opts.Endpoint, Application: opts.UserAgent,
		PollInterval: poll, Retry: opts.Retry, Notify: opts.OnRetry,
	})
	return &HetznerCloud{client: client, transport: t}
}

// Requests returns how many HTTP requests the adapter sent, retries included.
func (c *HetznerCloud) Requests() int64 { return c.transport.Requests() }

func (c *HetznerCloud) ListSSHKeys(ctx context.Context, sel string) ([]SSHKey, error) {
	keys, err := c.client.SSHKey.AllWithOpts(ctx, hcloud.SSHKeyListOpts{ListOpts: hcloudclient.ListOpts(sel)})
	if err != nil {
		return nil, fmt.Errorf("list ssh keys: %w", err)
	}
	out := make([]SSHKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, sshKeyFromHcloud(k))
	}
	return out, nil
}

func (c *HetznerCloud) ListFirewalls(ctx context.Context, sel string) ([]Firewall, error) {
	fws, err := c.client.Firewall.AllWithOpts(ctx, hcloud.FirewallListOpts{ListOpts: hcloudclient.ListOpts(sel)})
	if err != nil {
		return nil, fmt.Errorf("list firewalls: %w", err)
	}
	out := make([]Firewall, 0, len(fws))
	for _, f := range fws {
		out = append(out, firewallFromHcloud(f))
	}
	return out, nil
}

func (c *HetznerCloud) ListServers(ctx context.Context, sel string) ([]Server, error) {
	srvs, err := c.client.Server.AllWithOpts(ctx, hcloud.ServerListOpts{ListOpts: hcloudclient.ListOpts(sel)})
	if err != nil {
		return nil, fmt.Errorf("list servers: %w", err)
	}
	out := make([]Server, 0, len(srvs))
	for _, s := range srvs {
		out = append(out, serverFromHcloud(s))
	}
	return out, nil
}

func (c *HetznerCloud) FindSSHKey(ctx context.Context, name string) (*SSHKey, error) {
	k, _, err := c.client.SSHKey.GetByName(ctx, name)
	if err != nil || k == nil {
		return nil, wrapErr("ssh key "+name+": look up", err)
	}
	v := sshKeyFromHcloud(k)
	return &v, nil
}

func (c *HetznerCloud) FindFirewall(ctx context.Context, name string) (*Firewall, error) {
	f, _, err := c.client.Firewall.GetByName(ctx, name)
	if err != nil || f == nil {
		return nil, wrapErr("firewall "+name+": look up", err)
	}
	v := firewallFromHcloud(f)
	return &v, nil
}

func (c *HetznerCloud) FindServer(ctx context.Context, name string) (*Server, error) {
	s, _, err := c.client.Server.GetByName(ctx, name)
	if err != nil || s == nil {
		return nil, wrapErr("server "+name+": look up", err)
	}
	v := serverFromHcloud(s)
	return &v, nil
}

func (c *HetznerCloud) GetServer(ctx context.Context, id int64) (*Server, error) {
	s, _, err := c.client.Server.GetByID(ctx, id)
	if err != nil || s == nil {
		return nil, wrapErr("server "+strconv.FormatInt(id, 10)+": get", err)
	}
	v := serverFromHcloud(s)
	return &v, nil
}

func (c *HetznerCloud) CreateSSHKey(ctx context.Context, o SSHKeyCreate) (SSHKey, error) {
	k, _, err := c.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: o.Name, PublicKey: o.PublicKey, Labels: o.Labels})
	if err != nil {
		return SSHKey{}, err
	}
	return sshKeyFromHcloud(k), nil
}

func (c *HetznerCloud) UpdateSSHKey(ctx context.Context, id int64, name string, labels map[string]string) error {
	_, _, err := c.client.SSHKey.Update(ctx, &hcloud.SSHKey{ID: id}, hcloud.SSHKeyUpdateOpts{Name: name, Labels: labels})
	return err
}

func (c *HetznerCloud) DeleteSSHKey(ctx context.Context, id int64) error {
	_, err := c.client.SSHKey.Delete(ctx, &hcloud.SSHKey{ID: id})
	return err
}

func (c *HetznerCloud) CreateFirewall(ctx context.Context, o FirewallCreate) (Firewall, []CloudAction, error) {
	rules, err := rulesToHcloud(o.Rules)
	if err != nil {
		return Firewall{}, nil, err
	}
	res, _, err := c.client.Firewall.Create(ctx, hcloud.FirewallCreateOpts{
		Name: o.Name, Labels: o.Labels, Rules: rules, ApplyTo: selectorsToHcloud(o.ApplyTo),
	})
	if err != nil {
		return Firewall{}, nil, err
	}
	return firewallFromHcloud(res.Firewall), actionsFromHcloud(res.Actions), nil
}

func (c *HetznerCloud) UpdateFirewall(ctx context.Context, id int64, labels map[string]string) error {
	_, _, err := c.client.Firewall.Update(ctx, &hcloud.Firewall{ID: id}, hcloud.FirewallUpdateOpts{Labels: labels})
	return err
}

func (c *HetznerCloud) SetFirewallRules(ctx context.Context, id int64, rules []FirewallRule) ([]CloudAction, error) {
	hr, err := rulesToHcloud(rules)
	if err != nil {
		return nil, err
	}
	if hr == nil {
		hr = []hcloud.FirewallRule{}
	}
	acts, _, err := c.client.Firewall.SetRules(ctx, &hcloud.Firewall{ID: id}, hcloud.FirewallSetRulesOpts{Rules: hr})
	return actionsFromHcloud(acts), err
}

func (c *HetznerCloud) ApplyFirewall(ctx context.Context, id int64, sels []string) ([]CloudAction, error) {
	acts, _, err := c.client.Firewall.ApplyResources(ctx, &hcloud.Firewall{ID: id}, selectorsToHcloud(sels))
	return actionsFromHcloud(acts), err
}

func (c *HetznerCloud) RemoveFirewall(ctx context.Context, id int64, sels []string) ([]CloudAction, error) {
	acts, _, err := c.client.Firewall.RemoveResources(ctx, &hcloud.Firewall{ID: id}, selectorsToHcloud(sels))
	return actionsFromHcloud(acts), err
}

func (c *HetznerCloud) RemoveFirewallFromServers(ctx context.Context, id int64, serverIDs []int64) ([]CloudAction, error) {
	res := make([]hcloud.FirewallResource, 0, len(serverIDs))
	for _, s := range serverIDs {
		res = append(res, hcloud.FirewallResource{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: s}})
	}
	acts, _, err := c.client.Firewall.RemoveResources(ctx, &hcloud.Firewall{ID: id}, res)
	return actionsFromHcloud(acts), err
}

func (c *HetznerCloud) DeleteFirewall(ctx context.Context, id int64) error {
	_, err := c.client.Firewall.Delete(ctx, &hcloud.Firewall{ID: id})
	return err
}

func (c *HetznerCloud) CreateServer(ctx context.Context, o ServerCreate) (Server, []CloudAction, error) {
	keys := make([]*hcloud.SSHKey, 0, len(o.SSHKeys))
	for _, id := range o.SSHKeys {
		keys = append(keys, &hcloud.SSHKey{ID: id})
	}
	res, _, err := c.client.Server.Create(ctx, hcloud.ServerCreateOpts{
		Name:       o.Name,
		ServerType: &hcloud.ServerType{Name: o.ServerType},
		Image:      &hcloud.Image{Name: o.Image},
		Location:   &hcloud.Location{Name: o.Location},
		SSHKeys:    keys,
		UserData:   o.UserData,
		Labels:     o.Labels,
	})
	if err != nil {
		return Server{}, nil, err
	}
	acts := actionsFromHcloud(append([]*hcloud.Action{res.Action}, res.NextActions...))
	return serverFromHcloud(res.Server), acts, nil
}

func (c *HetznerCloud) UpdateServer(ctx context.Context, id int64, name string, labels map[string]string) error {
	_, _, err := c.client.Server.Update(ctx, &hcloud.Server{ID: id}, hcloud.ServerUpdateOpts{Name: name, Labels: labels})
	return err
}

func (c *HetznerCloud) ChangeServerProtection(ctx context.Context, id int64, p Protection) (CloudAction, error) {
	a, _, err := c.client.Server.ChangeProtection(ctx, &hcloud.Server{ID: id}, hcloud.ServerChangeProtectionOpts{Delete: &p.Delete, Rebuild: &p.Rebuild})
	return actionFromHcloud(a), err
}

func (c *HetznerCloud) ServerPower(ctx context.Context, id int64, op PowerOp) (CloudAction, error) {
	s := &hcloud.Server{ID: id}
	var a *hcloud.Action
	var err error
	switch op {
	case PowerShutdown:
		a, _, err = c.client.Server.Shutdown(ctx, s)
	case PowerOff:
		a, _, err = c.client.Server.Poweroff(ctx, s)
	case PowerOn:
		a, _, err = c.client.Server.Poweron(ctx, s)
	default:
		return CloudAction{}, fmt.Errorf("unknown power operation %q", op)
	}
	return actionFromHcloud(a), err
}

// ChangeServerType keeps the disk size, so that the change can be undone:
// a server whose disk was upgraded cannot move back to a smaller type.
func (c *HetznerCloud) ChangeServerType(ctx context.Context, id int64, serverType string) (CloudAction, error) {
	a, _, err := c.client.Server.ChangeType(ctx, &hcloud.Server{ID: id}, hcloud.ServerChangeTypeOpts{
		ServerType: &hcloud.ServerType{Name: serverType}, UpgradeDisk: false,
	})
	return actionFromHcloud(a), err
}

func (c *HetznerCloud) DeleteServer(ctx context.Context, id int64) (CloudAction, error) {
	res, _, err := c.client.Server.DeleteWithResult(ctx, &hcloud.Server{ID: id})
	if err != nil {
		return CloudAction{}, err
	}
	return actionFromHcloud(res.Action), nil
}

func (c *HetznerCloud) WaitFor(ctx context.Context, progress func(CloudAction), actions ...CloudAction) error {
	hs := make([]*hcloud.Action, 0, len(actions))
	for _, a := range actions {
		hs = append(hs, &hcloud.Action{ID: a.ID, Status: hcloud.ActionStatus(a.Status), Command: a.Command})
	}
	var report func(*hcloud.Action)
	if progress != nil {
		report = func(u *hcloud.Action) { progress(actionFromHcloud(u)) }
	}
	return hcloudclient.WaitFor(ctx, c.client, report, hs...)
}

// IsUniquenessError reports whether err is Hetzner's 409 uniqueness_error:
// a resource with the name exists already.
func IsUniquenessError(err error) bool {
	return hcloud.IsError(err, hcloud.ErrorCodeUniquenessError)
}

// IsNotFound reports whether err is Hetzner's 404 not_found.
func IsNotFound(err error) bool {
	return hcloud.IsError(err, hcloud.ErrorCodeNotFound)
}

// IsNotApplied reports Hetzner's firewall_resource_not_found, answered to
// the request or as the error of its action: the firewall is not (or no
// longer) applied to the resource, which is what a removal wants.
func IsNotApplied(err error) bool {
	var ae hcloud.ActionError
	return hcloud.IsError(err, hcloud.ErrorCodeFirewallResourceNotFound) ||
		errors.As(err, &ae) && ae.Code == string(hcloud.ErrorCodeFirewallResourceNotFound)
}

// IsForbidden reports whether err is Hetzner's 403 forbidden, as a
// read-only token gets for any write.
func IsForbidden(err error) bool {
	return hcloud.IsError(err, hcloud.ErrorCodeForbidden, hcloud.ErrorCodeUnauthorized)
}

func wrapErr(subject string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", subject, err)
}

func sshKeyFromHcloud(k *hcloud.SSHKey) SSHKey {
	return SSHKey{ID: k.ID, Name: k.Name, PublicKey: k.PublicKey, Fingerprint: k.Fingerprint, Labels: k.Labels}
}

func firewallFromHcloud(f *hcloud.Firewall) Firewall {
	out := Firewall{ID: f.ID, Name: f.Name, Labels: f.Labels}
	for _, r := range f.Rules {
		fr := FirewallRule{Direction: string(r.Direction), Protocol: string(r.Protocol)}
		if r.Port != nil {
			fr.Port = *r.Port
		}
		if r.Description != nil {
			fr.Description = *r.Description
		}
		for _, n := range r.SourceIPs {
			fr.SourceIPs = append(fr.SourceIPs, n.String())
		}
		for _, n := range r.DestinationIPs {
			fr.DestinationIPs = append(fr.DestinationIPs, n.String())
		}
		out.Rules = append(out.Rules, fr)
	}
	for _, a := range f.AppliedTo {
		if a.Type == hcloud.FirewallResourceTypeLabelSelector && a.LabelSelector != nil {
			out.ApplyTo = append(out.ApplyTo, a.LabelSelector.Selector)
		}
		if a.Type == hcloud.FirewallResourceTypeServer && a.Server != nil {
			out.Servers = append(out.Servers, a.Server.ID)
		}
	}
	sort.Strings(out.ApplyTo)
	slices.Sort(out.Servers)
	return out
}

func serverFromHcloud(s *hcloud.Server) Server {
	out := Server{ID: s.ID, Name: s.Name, Status: string(s.Status), Labels: s.Labels, Created: s.Created,
		Protection: Protection{Delete: s.Protection.Delete, Rebuild: s.Protection.Rebuild}}
	if s.ServerType != nil {
		out.ServerType = s.ServerType.Name
		out.Architecture = string(s.ServerType.Architecture)
	}
	if s.Image != nil {
		out.Image = s.Image.Name
		if out.Image == "" {
			out.Image = s.Image.Description
		}
		if out.Architecture == "" {
			out.Architecture = string(s.Image.Architecture)
		}
	}
	if s.Location != nil {
		out.Location = s.Location.Name
	}
	if !s.PublicNet.IPv4.IsUnspecified() && s.PublicNet.IPv4.IP != nil {
		out.IPv4 = s.PublicNet.IPv4.IP.String()
	}
	if s.PublicNet.IPv6.IP != nil {
		out.IPv6 = s.PublicNet.IPv6.IP.String()
	}
	return out
}

func rulesToHcloud(rules []FirewallRule) ([]hcloud.FirewallRule, error) {
	var out []hcloud.FirewallRule
	for _, r := range rules {
		hr := hcloud.FirewallRule{Direction: hcloud.FirewallRuleDirection(r.Direction), Protocol: hcloud.FirewallRuleProtocol(r.Protocol)}
		if r.Port != "" {
			p := r.Port
			hr.Port = &p
		}
		if r.Description != "" {
			d := r.Description
			hr.Description = &d
		}
		var err error
		if hr.SourceIPs, err = parseCIDRs(r.SourceIPs); err != nil {
			return nil, err
		}
		if hr.DestinationIPs, err = parseCIDRs(r.DestinationIPs); err != nil {
			return nil, err
		}
		out = append(out, hr)
	}
	return out, nil
}

func parseCIDRs(ss []string) ([]net.IPNet, error) {
	out := []net.IPNet{}
	for _, s := range ss {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("firewall rule: %w", err)
		}
		out = append(out, *n)
	}
	return out, nil
}

func selectorsToHcloud(sels []string) []hcloud.FirewallResource {
	var out []hcloud.FirewallResource
	for _, s := range sels {
		out = append(out, hcloud.FirewallResource{
			Type:          hcloud.FirewallResourceTypeLabelSelector,
			LabelSelector: &hcloud.FirewallResourceLabelSelector{Selector: s},
		})
	}
	return out
}

func actionFromHcloud(a *hcloud.Action) CloudAction {
	if a == nil {
		return CloudAction{}
	}
	out := CloudAction{ID: a.ID, Command: a.Command, Status: string(a.Status), Progress: a.Progress}
	for _, r := range a.Resources {
		if r != nil {
			out.Resources = append(out.Resources, fmt.Sprintf("%s: %d", r.Type, r.ID))
		}
	}
	if a.Status == hcloud.ActionStatusError {
		out.Error = a.ErrorMessage
		if a.ErrorCode != "" {
			out.Error = a.ErrorCode + ": " + a.ErrorMessage
		}
	}
	return out
}

func actionsFromHcloud(as []*hcloud.Action) []CloudAction {
	var out []CloudAction
	for _, a := range as {
		if a != nil {
			out = append(out, actionFromHcloud(a))
		}
	}
	return out
}

func (c *HetznerCloud) Pricing(ctx context.Context) (*Prices, error) {
	hp, _, err := c.client.Pricing.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("read prices: %w", err)
	}
	return pricesFromHcloud(hp)
}

func pricesFromHcloud(hp hcloud.Pricing) (*Prices, error) {
	p := &Prices{Currency: hp.Currency, VATRate: hp.VATRate,
		ServerTypes: map[string]map[string]Rate{}, PrimaryIPs: map[string]map[string]Rate{}}
	var errs []error
	rate := func(hn, hg, mn, mg string) Rate {
		h, err1 := parsePrice(hn, hg)
		m, err2 := parsePrice(mn, mg)
		errs = append(errs, err1, err2)
		return Rate{Hourly: h, Monthly: m}
	}
	for _, st := range hp.ServerTypes {
		if st.ServerType == nil {
			continue
		}
		byLoc := map[string]Rate{}
		for _, l := range st.Pricings {
			if l.Location != nil {
				byLoc[l.Location.Name] = rate(l.Hourly.Net, l.Hourly.Gross, l.Monthly.Net, l.Monthly.Gross)
			}
		}
		p.ServerTypes[st.ServerType.Name] = byLoc
	}
	for _, ip := range hp.PrimaryIPs {
		byLoc := map[string]Rate{}
		for _, l := range ip.Pricings {
			byLoc[l.Location] = rate(l.Hourly.Net, l.Hourly.Gross, l.Monthly.Net, l.Monthly.Gross)
		}
		p.PrimaryIPs[ip.Type] = byLoc
	}
	if v := hp.Volume.PerGBMonthly; v.Net != "" {
		vp, err := parsePrice(v.Net, v.Gross)
		errs = append(errs, err)
		p.VolumePerGBMonth = vp
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("read prices: %w", err)
	}
	return p, nil
}
