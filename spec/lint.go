package spec

import "fmt"

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
			reqs, err := parseSelector(a.LabelSelector)
			if err != nil {
				continue // Validate reports it.
			}
			matched := false
			for _, labels := range targets {
				if selectorMatches(reqs, labels) {
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
	sortProblems(warnings)
	return warnings
}
