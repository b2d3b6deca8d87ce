package spec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fleetctl/fleetctl/internal/labelselector"
)

// Lint returns warnings: settings that are valid but probably not what the
// user meant. They are printed and do not fail a command.
func (f *Fleet) Lint() []Problem {
	var warnings []Problem
	warn := func(path, format string, args ...any) {
		warnings = append(warnings, Problem{File: f.Source, Pos: f.Pos(path), Path: path, Message: fmt.Sprintf(format, args...), Warning: true})
	}

	capacity, unbounded := 0, false
	for _, r := range f.GitLabRunner.Runners {
		if r.Autoscaler == nil {
			continue
		}
		if r.Autoscaler.MaxInstances == 0 {
			unbounded = true
			continue
		}
		capacity += r.Autoscaler.CapacityPerInstance * r.Autoscaler.MaxInstances
	}
	if !unbounded && capacity > 0 && f.GitLabRunner.Concurrent < capacity {
		warn("gitlab_runner.concurrent", "concurrent %d is below what the autoscaled instances can run (capacity_per_instance × max_instances = %d): gitlab-runner will never use all of them; raise concurrent or lower max_instances",
			f.GitLabRunner.Concurrent, capacity)
	}

	targets := []map[string]string{f.ManagerLabels()}
	for i := range f.GitLabRunner.Runners {
		if f.GitLabRunner.Runners[i].Autoscaler != nil {
			targets = append(targets, f.InstanceLabels(&f.GitLabRunner.Runners[i]))
		}
	}
	for i, fw := range f.Firewalls {
		for j, a := range fw.ApplyTo {
			sel, err := labelselector.Parse(a.LabelSelector)
			if err != nil {
				continue // Validate reports it.
			}
			matched := false
			for _, labels := range targets {
				if sel.Matches(labels) {
					matched = true
					break
				}
			}
			if !matched {
				warn(fmt.Sprintf("firewalls[%d].apply_to[%d].label_selector", i, j),
					"selector %q matches neither the manager nor the autoscaled instances of this fleet: firewall %q protects none of its servers; add the label under manager.labels or instances.labels, or fix the selector",
					a.LabelSelector, fw.Name)
			}
		}
	}
	for i, fw := range f.Firewalls {
		if len(fw.ApplyTo) == 0 {
			warn(fmt.Sprintf("firewalls[%d]", i), "firewall %q has no apply_to: it protects no server; add apply_to: [{label_selector: ...}]", fw.Name)
		}
	}

	// A server with firewalls applied drops every inbound packet no rule
	// allows: check that SSH still gets through where fleetctl and
	// gitlab-runner need it.
	if !f.firewallsAllowSSH(f.ManagerLabels(), f.Manager.SSH.Port) {
		warn("manager.ssh.port", "the firewalls applied to the manager allow no inbound tcp port %d: fleetctl apply could not reach it over SSH; add a rule {direction: in, protocol: tcp, port: \"%d\", source_ips: [...]}", f.Manager.SSH.Port, f.Manager.SSH.Port)
	}
	for i := range f.GitLabRunner.Runners {
		r := &f.GitLabRunner.Runners[i]
		if r.Autoscaler == nil {
			continue
		}
		p := fmt.Sprintf("gitlab_runner.runners[%d].autoscaler", i)
		port := 22
		cc := r.Autoscaler.ConnectorConfig
		if cc != nil && cc.ProtocolPort != 0 {
			port = cc.ProtocolPort
		}
		if !f.firewallsAllowSSH(f.InstanceLabels(r), port) {
			warn(p+".instances", "the firewalls applied to runner %q's instances allow no inbound tcp port %d: gitlab-runner could not connect to them; add a rule for it", r.Name, port)
		}
		if len(r.Autoscaler.Instances.PrivateNetworks) == 0 && (cc == nil || !cc.UseExternalAddr) {
			warn(p+".connector_config", "instances of runner %q have no private network, so they have no internal address for gitlab-runner to connect to: set connector_config.use_external_addr: true, or attach a private network the manager shares", r.Name)
		}
	}
	sortProblems(warnings)
	return warnings
}

// firewallsAllowSSH reports whether a server with these labels accepts
// inbound tcp on port: true when no firewall applies to it at all.
func (f *Fleet) firewallsAllowSSH(labels map[string]string, port int) bool {
	applied := false
	for _, fw := range f.Firewalls {
		if !firewallApplies(fw, labels) {
			continue
		}
		applied = true
		for _, r := range fw.Rules {
			if r.Direction == "in" && r.Protocol == "tcp" && portCovers(r.Port, port) {
				return true
			}
		}
	}
	return !applied
}

func firewallApplies(fw Firewall, labels map[string]string) bool {
	for _, a := range fw.ApplyTo {
		if sel, err := labelselector.Parse(a.LabelSelector); err == nil && sel.Matches(labels) {
			return true
		}
	}
	return false
}

// portCovers reports whether a rule's port ("22", "8000-9000", "any")
// includes port.
func portCovers(rule string, port int) bool {
	if rule == "any" {
		return true
	}
	lo, hi, isRange := strings.Cut(rule, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	return err1 == nil && err2 == nil && l <= port && port <= h
}
