package reconcile

import (
	"context"
	"fmt"
	"maps"
)

// kindApply is what Apply knows about one kind of resource. The table
// applyKinds is the one source of the apply order (ApplyOrder), of the
// order plans list resources in (addrLess) and of which changes need SSH;
// a new kind is a file with its funcs and a row here.
type kindApply struct {
	kind Kind
	// phase is the kind's place in the apply order: a phase starts once
	// the previous one finished, and the kinds of one phase are applied
	// concurrently. Deletes run the phases in reverse, after everything
	// else, so that nothing is deleted while something still refers to it.
	phase int
	// apply converges one change that is not a Delete. The changes of a
	// phase run concurrently.
	apply func(a *applier, ctx context.Context, ch Change) error
	// delete carries out a Delete change.
	delete func(a *applier, ctx context.Context, ch Change) error
	// finish carries out, in the delete pass, what a CreateThenDelete left
	// there: deleting the deposed object and what follows it. Until then
	// the deposed object serves, and the new one is made ready by the
	// later phases. Nil for kinds that are never replaced create first.
	finish func(a *applier, ctx context.Context, ch Change) error
	// late, when set, lists while a destroy plan is applied, after its
	// deletes of the kind, the resources of the kind it would plan now
	// and did not: the plugin's instances keep coming while the manager
	// goes. They are deleted in turn, once.
	late func(a *applier, ctx context.Context) ([]Change, error)
	// onManager marks kinds changed on the manager over SSH. Their changes
	// are not applied one by one: applyFiles makes them over one SSH
	// connection, after the manager is ready, with at most one restart of
	// gitlab-runner. Apply refuses them up front when no SSH key is at hand.
	onManager bool
}

// applyKinds lists the kinds in the order plans list them; rows of one
// phase are adjacent.
var applyKinds = []kindApply{
	{kind: KindSSHKey, phase: 0, apply: (*applier).applySSHKey, delete: (*applier).deleteSSHKey},
	{kind: KindFirewall, phase: 0, apply: (*applier).applyFirewall, delete: (*applier).deleteFirewallChange},
	{kind: KindServer, phase: 1, apply: (*applier).applyServer, delete: (*applier).deleteServerChange, finish: (*applier).finishServer, late: (*applier).lateServers},
	{kind: KindFile, phase: 2, onManager: true},
	{kind: KindService, phase: 2, onManager: true},
}

// ApplyOrder is the order Apply runs changes in, as data: each phase runs
// after the previous one finished; changes within a phase run concurrently.
// Deletes run the phases in reverse, after everything else. It is derived
// from applyKinds.
var ApplyOrder = applyOrder(applyKinds)

func applyOrder(rows []kindApply) [][]Kind {
	var order [][]Kind
	for _, r := range rows {
		for len(order) <= r.phase {
			order = append(order, nil)
		}
		order[r.phase] = append(order[r.phase], r.kind)
	}
	return order
}

// kindOf returns a kind's row; ok is false for a kind Apply cannot act on.
func kindOf(k Kind) (row kindApply, ok bool) {
	for _, r := range applyKinds {
		if r.kind == k {
			return r, true
		}
	}
	return kindApply{}, false
}

// kindRank orders kinds as plans print them and as Apply runs them: by
// their row in applyKinds. An unknown kind sorts first.
func kindRank(k Kind) int {
	for i, r := range applyKinds {
		if r.kind == k {
			return i
		}
	}
	return 0
}

// The helpers below read a change's Before and After values, which are
// JSON-shaped once a plan went through a file.

func mergeLabels(base, over map[string]string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	switch t := v.(type) {
	case map[string]string:
		maps.Copy(out, t)
	case map[string]any:
		for k, vv := range t {
			out[k] = fmt.Sprint(vv)
		}
	}
	return out
}

func stringSlice(v any) []string {
	switch t := v.(type) {
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
