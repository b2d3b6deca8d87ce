package reconcile

import (
	"fmt"
	"time"

	"github.com/fleetctl/fleetctl/internal/cron"
	"github.com/fleetctl/fleetctl/spec"
)

// PolicyMatch is the autoscaler policy in effect at one moment, as
// gitlab-runner chooses it: the last policy with a period that matches the
// minute in the policy's time zone; none matching means idle_count 0.
type PolicyMatch struct {
	// Index is the policy's index in fleet.yaml, -1 when none matched.
	Index     int    `json:"index"`
	Period    string `json:"period,omitempty"`
	Timezone  string `json:"timezone,omitempty"`
	IdleCount int    `json:"idle_count"`
}

// PolicyAt returns the policy in effect at t. A policy without a time zone
// uses UTC, the manager's time zone on Hetzner's images; one with an
// unknown time zone (validate refuses it) never matches.
func PolicyAt(policies []spec.Policy, t time.Time) PolicyMatch {
	return compilePolicies(policies).at(t)
}

// compiledPolicy is a policy with its time zone loaded and its periods
// parsed, to be matched minute after minute.
type compiledPolicy struct {
	index   int
	loc     *time.Location
	periods []string
	match   []func(time.Time) bool
	idle    int
}

type compiledPolicies []compiledPolicy

func compilePolicies(policies []spec.Policy) compiledPolicies {
	var out compiledPolicies
	for i, p := range policies {
		loc := time.UTC
		if p.Timezone != "" {
			l, err := time.LoadLocation(p.Timezone)
			if err != nil {
				continue
			}
			loc = l
		}
		cp := compiledPolicy{index: i, loc: loc, idle: p.IdleCount}
		for _, period := range p.Periods {
			cp.periods = append(cp.periods, period)
			cp.match = append(cp.match, cron.Compile(period))
		}
		out = append(out, cp)
	}
	return out
}

func (cps compiledPolicies) at(t time.Time) PolicyMatch {
	m := PolicyMatch{Index: -1}
	for _, p := range cps {
		local := t.In(p.loc)
		for j, match := range p.match {
			if match(local) {
				m = PolicyMatch{Index: p.index, Period: p.periods[j], Timezone: p.loc.String(), IdleCount: p.idle}
				break
			}
		}
	}
	return m
}

// String describes the match for people: "policy 1 (\"* 7-19 * * mon-fri\"
// in Europe/Berlin): idle_count 8".
func (m PolicyMatch) String() string {
	if m.Index < 0 {
		return "no policy matches now: idle_count 0"
	}
	return fmt.Sprintf("policy %d (%q in %s): idle_count %d", m.Index, m.Period, m.Timezone, m.IdleCount)
}
