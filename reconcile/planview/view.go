// Package planview renders a reconcile.Plan for people and programs: a
// Terraform-like human view, JSON with a format_version, and GitLab's
// terraform report for the merge request widget. Renderers only read the
// plan.
package planview

import (
	"encoding/json"
	"io"

	"github.com/fleetctl/fleetctl/internal/buildinfo"
	"github.com/fleetctl/fleetctl/reconcile"
)

// FormatVersion is the version of the JSON plan format. Consumers should
// accept any 1.x. 1.1 added summary.not_compared and summary.complete;
// 1.2 added cost.
const FormatVersion = "1.2"

// GitLabReport writes GitLab's terraform report,
// {"create":N,"update":N,"delete":N}; a replace counts as a create and a
// delete, as Terraform's report does.
func GitLabReport(w io.Writer, p *reconcile.Plan) error {
	c := p.Counts()
	return json.NewEncoder(w).Encode(struct {
		Create int `json:"create"`
		Update int `json:"update"`
		Delete int `json:"delete"`
	}{c.Add, c.Change, c.Destroy})
}

// JSONPlan is the machine-readable plan.
type JSONPlan struct {
	FormatVersion   string `json:"format_version"`
	FleetctlVersion string `json:"fleetctl_version"` // the fleetctl that made the plan
	Fleet           string `json:"fleet"`
	// Mode is "destroy" for a destroy plan and left out for a normal plan
	// (Terraform's plan modes; a 1.0 consumer that ignores it sees a plan
	// deleting everything, which is what it is).
	Mode            string               `json:"mode,omitempty"`
	ResourceChanges []ResourceChange     `json:"resource_changes"`
	Instances       []reconcile.Instance `json:"instances"`
	NotCompared     []reconcile.Note     `json:"not_compared"`
	Errors          []string             `json:"errors"`
	Summary         Summary              `json:"summary"`
	// Cost is what the plan does to the monthly bill (added in 1.2).
	Cost            *reconcile.Cost `json:"cost,omitempty"`
	LiveFingerprint string          `json:"live_fingerprint"`
}

// ResourceChange is one resource's planned change, shaped like Terraform's
// resource_changes entries.
type ResourceChange struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	ID      int64  `json:"id,omitempty"`
	Change  struct {
		// Actions are Terraform's: ["no-op"], ["create"], ["update"],
		// ["delete"], ["delete","create"], ["create","delete"].
		Actions           []string         `json:"actions"`
		Before            reconcile.Values `json:"before"`
		After             reconcile.Values `json:"after"`
		Reason            string           `json:"reason,omitempty"`
		ForcesReplacement []string         `json:"forces_replacement,omitempty"`
		SensitiveChanges  []string         `json:"sensitive_changes,omitempty"`
		Steps             []reconcile.Step `json:"steps,omitempty"`
		// Deposed is the object a replace deletes; TemporaryName the
		// name a create-then-delete creates the new one under.
		Deposed       *reconcile.DeposedObject `json:"deposed,omitempty"`
		TemporaryName string                   `json:"temporary_name,omitempty"`
	} `json:"change"`
}

// Summary counts the changes. NotCompared counts the entries of
// not_compared; Complete is set only when it is 0, i.e. when "no changes"
// means the live state matches fleet.yaml.
type Summary struct {
	Add         int  `json:"add"`
	Change      int  `json:"change"`
	Destroy     int  `json:"destroy"`
	Changes     bool `json:"changes"`
	NotCompared int  `json:"not_compared"`
	Complete    bool `json:"complete"`
}

func actionList(a reconcile.Action) []string {
	switch a {
	case reconcile.DeleteThenCreate:
		return []string{"delete", "create"}
	case reconcile.CreateThenDelete:
		return []string{"create", "delete"}
	}
	return []string{a.String()}
}

// NewJSONPlan converts a plan to its JSON shape.
func NewJSONPlan(p *reconcile.Plan) JSONPlan {
	c := p.Counts()
	out := JSONPlan{
		FormatVersion: FormatVersion, FleetctlVersion: buildinfo.Version(), Fleet: p.Fleet, Mode: string(p.Mode),
		ResourceChanges: []ResourceChange{}, Instances: p.Instances, NotCompared: p.NotCompared, Errors: p.Errors,
		Summary: Summary{Add: c.Add, Change: c.Change, Destroy: c.Destroy, Changes: p.HasChanges(),
			NotCompared: len(p.NotCompared), Complete: len(p.NotCompared) == 0},
		LiveFingerprint: p.LiveFingerprint, Cost: p.Cost,
	}
	if out.Instances == nil {
		out.Instances = []reconcile.Instance{}
	}
	if out.NotCompared == nil {
		out.NotCompared = []reconcile.Note{}
	}
	if out.Errors == nil {
		out.Errors = []string{}
	}
	for _, ch := range p.Changes {
		rc := ResourceChange{Address: string(ch.Addr), Type: string(ch.Addr.Kind()), Name: ch.Addr.Name(), ID: ch.ID}
		rc.Change.Actions = actionList(ch.Action)
		rc.Change.Before, rc.Change.After = ch.Before, ch.After
		rc.Change.Reason, rc.Change.ForcesReplacement = ch.Reason, ch.ForcesReplacement
		rc.Change.SensitiveChanges, rc.Change.Steps = ch.SensitiveChanges, ch.Steps
		rc.Change.Deposed, rc.Change.TemporaryName = ch.Deposed, ch.TemporaryName
		out.ResourceChanges = append(out.ResourceChanges, rc)
	}
	return out
}

// JSON writes the plan as indented JSON.
func JSON(w io.Writer, p *reconcile.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewJSONPlan(p))
}
