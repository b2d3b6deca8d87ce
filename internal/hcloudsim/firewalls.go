package hcloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetctl/fleetctl/internal/labelselector"
	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// firewallTarget is one entry of a firewall's applied_to: a server, or a
// label selector evaluated against the servers' current labels on every read.
type firewallTarget struct {
	server   int64
	selector string
	parsed   labelselector.Selector
}

type firewall struct {
	resource
	rules   []schema.FirewallRule
	applyTo []firewallTarget
}

func (t firewallTarget) same(o firewallTarget) bool {
	return t.server == o.server && t.selector == o.selector
}

// firewallsOf returns the IDs of the firewalls that apply to srv, directly or
// through a label selector, in ascending order.
func (s *Sim) firewallsOf(srv *server) []int64 {
	var ids []int64
	for _, fw := range s.st.firewalls {
		for _, t := range fw.applyTo {
			if t.server == srv.id || (t.selector != "" && t.parsed.Matches(srv.labels)) {
				ids = append(ids, fw.id)
				break
			}
		}
	}
	slices.Sort(ids)
	return ids
}

func (s *Sim) firewallJSON(fw *firewall) schema.Firewall {
	out := schema.Firewall{ID: fw.id, Name: fw.name, Labels: cloneLabels(fw.labels), Created: fw.created,
		Rules: slices.Clone(fw.rules), AppliedTo: []schema.FirewallResource{}}
	if out.Rules == nil {
		out.Rules = []schema.FirewallRule{}
	}
	for _, t := range fw.applyTo {
		if t.server != 0 {
			out.AppliedTo = append(out.AppliedTo, schema.FirewallResource{Type: "server", Server: &schema.FirewallResourceServer{ID: t.server}})
			continue
		}
		res := schema.FirewallResource{Type: "label_selector", LabelSelector: &schema.FirewallResourceLabelSelector{Selector: t.selector},
			AppliedToResources: []schema.FirewallResource{}}
		var ids []int64
		for _, srv := range s.st.servers {
			if t.parsed.Matches(srv.labels) {
				ids = append(ids, srv.id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			res.AppliedToResources = append(res.AppliedToResources, schema.FirewallResource{Type: "server", Server: &schema.FirewallResourceServer{ID: id}})
		}
		out.AppliedTo = append(out.AppliedTo, res)
	}
	return out
}

var protocols = []string{"tcp", "udp", "icmp", "esp", "gre"}

func checkPort(p string) bool {
	if p == "any" {
		return true
	}
	lo, hi, isRange := strings.Cut(p, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 1 || a > 65535 {
		return false
	}
	if !isRange {
		return true
	}
	b, err := strconv.Atoi(hi)
	return err == nil && b >= a && b <= 65535
}

// checkRules validates firewall rules as the API does and returns them as
// stored.
func checkRules(rules []schema.FirewallRuleRequest) ([]schema.FirewallRule, *apiError) {
	var fields []fieldError
	bad := func(i int, field, msg string) {
		fields = append(fields, fieldError{Name: fmt.Sprintf("rules[%d].%s", i, field), Messages: []string{msg}})
	}
	if len(rules) > 50 {
		return nil, errField("rules", "at most 50 rules are allowed")
	}
	out := make([]schema.FirewallRule, 0, len(rules))
	for i, r := range rules {
		if r.Direction != "in" && r.Direction != "out" {
			bad(i, "direction", "must be in or out")
		}
		if !slices.Contains(protocols, r.Protocol) {
			bad(i, "protocol", "must be one of "+strings.Join(protocols, ", "))
		}
		if r.Protocol == "tcp" || r.Protocol == "udp" {
			if r.Port == nil || !checkPort(*r.Port) {
				bad(i, "port", "is required for tcp and udp: a port, a range like 80-85, or any")
			}
		} else if r.Port != nil {
			bad(i, "port", "is only allowed for tcp and udp")
		}
		if r.Direction == "in" && len(r.SourceIPs) == 0 {
			bad(i, "source_ips", "are required for direction in")
		}
		if r.Direction == "out" && len(r.DestinationIPs) == 0 {
			bad(i, "destination_ips", "are required for direction out")
		}
		for _, ip := range append(slices.Clone(r.SourceIPs), r.DestinationIPs...) {
			if _, err := netip.ParsePrefix(ip); err != nil {
				if _, err := netip.ParseAddr(ip); err != nil {
					bad(i, "source_ips", fmt.Sprintf("%q is not a valid IP network", ip))
				}
			}
		}
		if r.Description != nil && len(*r.Description) > 255 {
			bad(i, "description", "must be at most 255 characters")
		}
		rule := schema.FirewallRule{Direction: r.Direction, Protocol: r.Protocol, Port: r.Port, Description: r.Description,
			SourceIPs: slices.Clone(r.SourceIPs), DestinationIPs: slices.Clone(r.DestinationIPs)}
		if rule.SourceIPs == nil {
			rule.SourceIPs = []string{}
		}
		if rule.DestinationIPs == nil {
			rule.DestinationIPs = []string{}
		}
		out = append(out, rule)
	}
	if len(fields) > 0 {
		return nil, errInvalid(fields...)
	}
	return out, nil
}

// targets validates apply_to / remove_from resources against the state.
func (s *Sim) targets(field string, res []schema.FirewallResource) ([]firewallTarget, *apiError) {
	var out []firewallTarget
	for _, r := range res {
		switch r.Type {
		case "server":
			if r.Server == nil || r.Server.ID == 0 {
				return nil, errField(field, "server.id is required for type server")
			}
			if s.st.servers[r.Server.ID] == nil {
				return nil, &apiError{status: 422, code: "firewall_resource_not_found", message: fmt.Sprintf("server %d not found", r.Server.ID)}
			}
			out = append(out, firewallTarget{server: r.Server.ID})
		case "label_selector":
			if r.LabelSelector == nil || r.LabelSelector.Selector == "" {
				return nil, errField(field, "label_selector.selector is required for type label_selector")
			}
			sel, err := labelselector.Parse(r.LabelSelector.Selector)
			if err != nil {
				return nil, errField(field, err.Error())
			}
			out = append(out, firewallTarget{selector: r.LabelSelector.Selector, parsed: sel})
		default:
			return nil, errField(field, fmt.Sprintf("type %q is not one of server, label_selector", r.Type))
		}
	}
	return out, nil
}

func targetRefs(fw *firewall, t firewallTarget) []schema.ActionResourceReference {
	refs := []schema.ActionResourceReference{ref("firewall", fw.id)}
	if t.server != 0 {
		refs = append(refs, ref("server", t.server))
	}
	return refs
}

var firewallKind = kind[*firewall]{key: "firewall", items: func(st *state) map[int64]*firewall { return st.firewalls },
	json: func(s *Sim, fw *firewall) any { return s.firewallJSON(fw) }, sortFields: []string{"id", "name", "created"}, nameTaken: "firewall name is already used"}

func (s *Sim) createFirewall(w http.ResponseWriter, r *http.Request) {
	var req schema.FirewallCreateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	if e := checkName(req.Name); e != nil {
		writeError(w, e)
		return
	}
	if e := checkLabels(req.Labels); e != nil {
		writeError(w, e)
		return
	}
	rules, e := checkRules(req.Rules)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := firewallKind.nameFree(s, req.Name); e != nil {
		writeError(w, e)
		return
	}
	targets, e := s.targets("apply_to", req.ApplyTo)
	if e != nil {
		writeError(w, e)
		return
	}
	fw := &firewall{resource: resource{id: s.st.nextID("firewall"), name: req.Name, labels: givenLabels(req.Labels), created: now()}, rules: rules}
	s.st.firewalls[fw.id] = fw
	actions := []schema.Action{}
	if len(rules) > 0 {
		actions = append(actions, s.actionJSON(s.startAction(r, "set_firewall_rules", nil, ref("firewall", fw.id)), time.Now()))
	}
	for _, t := range targets {
		if slices.ContainsFunc(fw.applyTo, t.same) {
			continue
		}
		fw.applyTo = append(fw.applyTo, t)
		a := s.startAction(r, "apply_firewall", nil, targetRefs(fw, t)...)
		actions = append(actions, s.actionJSON(a, time.Now()))
	}
	writeJSON(w, 201, schema.FirewallCreateResponse{Firewall: s.firewallJSON(fw), Actions: actions})
}

// firewallAction serves POST /v1/firewalls/{id}/actions/...: do may start
// several actions, which are the answer.
func firewallAction[T any](s *Sim, do func(r *http.Request, fw *firewall, req *T) ([]schema.Action, *apiError)) http.HandlerFunc {
	return onResource(s, firewallKind, 201, nil, func(r *http.Request, fw *firewall, req *T) (any, *apiError) {
		actions, e := do(r, fw, req)
		if e != nil {
			return nil, e
		}
		return map[string]any{"actions": actions}, nil
	})
}

func (s *Sim) routesFirewalls() {
	s.handle("GET /v1/firewalls", firewallKind.list(s, nil))
	s.handle("POST /v1/firewalls", s.createFirewall)
	s.handle("GET /v1/firewalls/{id}", firewallKind.get(s))
	s.handle("PUT /v1/firewalls/{id}", update(s, firewallKind,
		func(req *schema.FirewallUpdateRequest) *apiError {
			if req.Name != nil {
				if e := checkName(*req.Name); e != nil {
					return e
				}
			}
			return checkLabels(req.Labels)
		},
		func(fw *firewall, req *schema.FirewallUpdateRequest) *apiError {
			name := ""
			if req.Name != nil {
				name = *req.Name
			}
			return firewallKind.rename(s, fw, name, req.Labels)
		}))
	s.handle("DELETE /v1/firewalls/{id}", firewallKind.remove(s, func(fw *firewall) *apiError {
		if len(fw.applyTo) > 0 {
			return &apiError{status: 422, code: "resource_in_use", message: "firewall is still applied to resources"}
		}
		return nil
	}))
	s.handle("POST /v1/firewalls/{id}/actions/set_rules", firewallAction(s, func(r *http.Request, fw *firewall, req *schema.FirewallActionSetRulesRequest) ([]schema.Action, *apiError) {
		rules, e := checkRules(req.Rules)
		if e != nil {
			return nil, e
		}
		fw.rules = rules
		actions := []schema.Action{s.actionJSON(s.startAction(r, "set_firewall_rules", nil, ref("firewall", fw.id)), time.Now())}
		for _, t := range fw.applyTo {
			if t.server != 0 {
				actions = append(actions, s.actionJSON(s.startAction(r, "apply_firewall", nil, targetRefs(fw, t)...), time.Now()))
			}
		}
		return actions, nil
	}))
	s.handle("POST /v1/firewalls/{id}/actions/apply_to_resources", firewallAction(s, func(r *http.Request, fw *firewall, req *schema.FirewallActionApplyToResourcesRequest) ([]schema.Action, *apiError) {
		targets, e := s.targets("apply_to", req.ApplyTo)
		if e != nil {
			return nil, e
		}
		for _, t := range targets {
			if slices.ContainsFunc(fw.applyTo, t.same) {
				return nil, &apiError{status: 422, code: "firewall_already_applied", message: "firewall is already applied to the resource"}
			}
		}
		actions := []schema.Action{}
		for _, t := range targets {
			fw.applyTo = append(fw.applyTo, t)
			actions = append(actions, s.actionJSON(s.startAction(r, "apply_firewall", nil, targetRefs(fw, t)...), time.Now()))
		}
		return actions, nil
	}))
	s.handle("POST /v1/firewalls/{id}/actions/remove_from_resources", firewallAction(s, func(r *http.Request, fw *firewall, req *schema.FirewallActionRemoveFromResourcesRequest) ([]schema.Action, *apiError) {
		var targets []firewallTarget
		for _, res := range req.RemoveFrom {
			switch {
			case res.Type == "server" && res.Server != nil:
				targets = append(targets, firewallTarget{server: res.Server.ID})
			case res.Type == "label_selector" && res.LabelSelector != nil:
				targets = append(targets, firewallTarget{selector: res.LabelSelector.Selector})
			default:
				return nil, errField("remove_from", "each resource needs type server with server.id or type label_selector with label_selector.selector")
			}
		}
		for _, t := range targets {
			if !slices.ContainsFunc(fw.applyTo, t.same) {
				if s.appliedBySelector(fw, t.server) {
					return nil, &apiError{status: 422, code: "firewall_managed_by_label_selector", message: "firewall is applied to the server via a label selector and cannot be removed manually"}
				}
				return nil, &apiError{status: 422, code: "firewall_already_removed", message: "firewall is not applied to the resource"}
			}
		}
		actions := []schema.Action{}
		for _, t := range targets {
			fw.applyTo = slices.DeleteFunc(fw.applyTo, t.same)
			actions = append(actions, s.actionJSON(s.startAction(r, "remove_firewall", nil, targetRefs(fw, t)...), time.Now()))
		}
		return actions, nil
	}))
}
