package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/fleetctl/fleetctl/internal/buildinfo"
	"github.com/fleetctl/fleetctl/spec"
)

// PlanFileFormat names the saved plan format; ReadPlanFile refuses others.
const PlanFileFormat = "fleetctl-plan/1"

type planFile struct {
	Format string `json:"format"`
	// FleetctlVersion records which fleetctl made the plan, for the
	// reader of a CI artifact; apply does not decide anything by it.
	FleetctlVersion string `json:"fleetctl_version"`
	Plan            *Plan  `json:"plan"`
}

// WritePlanFile saves a plan for a later `apply FILE`. The plan holds no
// secret values (they are Sensitive, file contents only digests), so the file
// can be a CI artifact; it is written 0600 all the same.
func WritePlanFile(path string, p *Plan) error {
	b, err := json.MarshalIndent(planFile{Format: PlanFileFormat, FleetctlVersion: buildinfo.Version(), Plan: p}, "", "  ")
	if err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("plan file: %w", err)
	}
	return nil
}

// MaxPlanFileSize bounds a saved plan read back: a plan holds values and
// digests, never file contents, so it is a few kilobytes.
const MaxPlanFileSize = 16 << 20

// ReadPlanFile loads a saved plan.
func ReadPlanFile(path string) (*Plan, error) {
	b, err := spec.ReadLocalFile(path, MaxPlanFileSize)
	if err != nil {
		return nil, fmt.Errorf("plan file %s: %w", path, err)
	}
	var pf planFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return nil, fmt.Errorf("plan file %s: not a fleetctl plan: %w", path, err)
	}
	if pf.Format != PlanFileFormat || pf.Plan == nil {
		return nil, fmt.Errorf("plan file %s: not a fleetctl plan (format %q, want %q)", path, pf.Format, PlanFileFormat)
	}
	return pf.Plan, nil
}

// ErrStalePlan is returned when a saved plan no longer matches what it was
// made from.
var ErrStalePlan = errors.New("saved plan is stale")

// CheckSaved compares a saved plan with a fresh one made now: the saved plan
// may be applied only when the live state and the desired state it observed
// are unchanged (then both plans are the same, Diff being pure).
//
// A destroy plan is checked only against a fresh destroy plan, a normal one
// only against a normal one: apply refuses a saved destroy plan and destroy
// a saved normal plan.
func CheckSaved(saved, fresh *Plan) error {
	switch {
	case saved.Mode != fresh.Mode && saved.Mode == ModeDestroy:
		return fmt.Errorf("it is a destroy plan: apply it with `fleetctl destroy --confirm %s PLANFILE`; nothing was changed", saved.Fleet)
	case saved.Mode != fresh.Mode:
		return fmt.Errorf("it is a %s plan, not a destroy plan: apply it with `fleetctl apply PLANFILE`; nothing was changed", saved.Mode)
	case saved.Fleet != fresh.Fleet:
		return fmt.Errorf("%w: it was made for fleet %q, not %q", ErrStalePlan, saved.Fleet, fresh.Fleet)
	case saved.LiveFingerprint != fresh.LiveFingerprint:
		again := "plan"
		if saved.Mode == ModeDestroy {
			again = "plan --destroy"
		}
		return fmt.Errorf("%w: the live state changed since it was made (someone or something changed the fleet's resources); nothing was changed: run %s again", ErrStalePlan, again)
	case saved.DesiredFingerprint != fresh.DesiredFingerprint && saved.Mode == ModeDestroy:
		return fmt.Errorf("%w: the runners of fleet.yaml that use the upstream plugin changed since it was made; nothing was changed: run plan --destroy again", ErrStalePlan)
	case saved.DesiredFingerprint != fresh.DesiredFingerprint:
		return fmt.Errorf("%w: fleet.yaml, a secret or the plugin binary changed since it was made; nothing was changed: run plan again", ErrStalePlan)
	}
	return nil
}
