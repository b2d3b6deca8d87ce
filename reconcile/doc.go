// Package reconcile converges a fleet's Hetzner Cloud resources and its
// runner-manager's files to fleet.yaml, without a state file.
//
// The flow is the one Terraform made familiar, with Flux's ownership model:
//
//	desired, _ := NewDesired(fleet, opts)      // from the spec: keys read, config.toml rendered
//	live, _ := ReadLive(ctx, cloud, desired, …) // one label-filtered list per kind, files over SFTP
//	plan := Diff(desired, live, adopt)          // pure
//	done, err := Apply(ctx, plan, …)            // executes the plan's steps, never diffs again
//
// Destroy is a plan too, of mode ModeDestroy:
//
//	live, _ := ListDestroyable(ctx, cloud, fleet, groups) // the same lists, no desired state
//	plan := DiffDestroy(fleet, groups, live, secrets)    // a Delete per owned resource
//	done, err := Apply(ctx, plan, ApplyOptions{Confirm: fleet, …})
//
// Session wires these together for the commands. planview renders a Plan.
//
// Ownership is labels: every resource fleetctl creates carries
// fleetctl.io/fleet=<name> and a fleetctl.io/role. Nothing without the fleet
// label is ever changed or deleted. Resources with the fleet label and a role
// fleetctl does not manage itself (the plugin's autoscaled instances and its
// SSH key) are reported, never changed; only a destroy plan removes them.
package reconcile
