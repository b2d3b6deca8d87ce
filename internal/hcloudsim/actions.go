package hcloudsim

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// maxFinishedActions bounds the memory kept for finished actions; the oldest
// finished ones are forgotten first.
const maxFinishedActions = 20000

type action struct {
	id        int64
	command   string
	started   time.Time
	finished  time.Time
	resources []schema.ActionResourceReference
	// seq is the request that started the action; with ActionDuration 0 the
	// action finishes at the first later request.
	seq      int64
	finishAt time.Time
	done     bool
	failed   bool
	// after, if set, must be done first (next_actions of a server create).
	after  *action
	onDone func(success bool)
}

type actionErrorKey struct{}

func withActionError(ctx context.Context) context.Context {
	return context.WithValue(ctx, actionErrorKey{}, true)
}

// startAction records a running action on the given resources. onDone (may be
// nil) applies the action's effect when it finishes, under s.mu.
func (s *Sim) startAction(r *http.Request, command string, onDone func(success bool), resources ...schema.ActionResourceReference) *action {
	now := time.Now()
	a := &action{
		id:        s.st.nextID("action"),
		command:   command,
		started:   now,
		resources: resources,
		seq:       s.st.seq,
		finishAt:  now.Add(s.opts.ActionDuration),
		onDone:    onDone,
	}
	if r != nil && r.Context().Value(actionErrorKey{}) != nil {
		a.failed = true
	}
	s.st.actions[a.id] = a
	s.st.actionOrder = append(s.st.actionOrder, a.id)
	s.st.pending = append(s.st.pending, a)
	return a
}

func ref(typ string, id int64) schema.ActionResourceReference {
	return schema.ActionResourceReference{ID: id, Type: typ}
}

// advance finishes the pending actions that are due, in the order they were
// started. Called under s.mu at every request and by the ticker.
func (s *Sim) advance(now time.Time, newRequest bool) {
	if newRequest {
		s.st.seq++
	}
	if len(s.st.pending) == 0 {
		return
	}
	kept := s.st.pending[:0]
	for _, a := range s.st.pending {
		if !s.due(a, now) {
			kept = append(kept, a)
			continue
		}
		a.done = true
		a.finished = now
		if a.after != nil && a.after.failed {
			a.failed = true
		}
		if a.onDone != nil {
			a.onDone(!a.failed)
		}
	}
	for i := len(kept); i < len(s.st.pending); i++ {
		s.st.pending[i] = nil
	}
	s.st.pending = kept
	s.forgetOldActions()
}

func (s *Sim) due(a *action, now time.Time) bool {
	if a.after != nil && !a.after.done {
		return false
	}
	if s.opts.ActionDuration <= 0 {
		return s.st.seq > a.seq
	}
	return !now.Before(a.finishAt)
}

func (s *Sim) forgetOldActions() {
	limit := maxFinishedActions
	if s.maxActions > 0 {
		limit = s.maxActions
	}
	excess := len(s.st.actionOrder) - limit
	if excess <= 0 {
		return
	}
	kept := s.st.actionOrder[:0]
	for _, id := range s.st.actionOrder {
		a := s.st.actions[id]
		if excess > 0 && a != nil && a.done {
			delete(s.st.actions, id)
			excess--
			continue
		}
		kept = append(kept, id)
	}
	s.st.actionOrder = kept
}

func (s *Sim) actionJSON(a *action, now time.Time) schema.Action {
	out := schema.Action{
		ID:        a.id,
		Command:   a.command,
		Started:   a.started.UTC().Truncate(time.Second),
		Resources: a.resources,
		Status:    "running",
	}
	if out.Resources == nil {
		out.Resources = []schema.ActionResourceReference{}
	}
	switch {
	case a.done && a.failed:
		out.Status = "error"
		out.Progress = 100
		f := a.finished.UTC().Truncate(time.Second)
		out.Finished = &f
		out.Error = &schema.ActionError{Code: "action_failed", Message: "Action failed"}
	case a.done:
		out.Status = "success"
		out.Progress = 100
		f := a.finished.UTC().Truncate(time.Second)
		out.Finished = &f
	default:
		if d := s.opts.ActionDuration; d > 0 {
			p := int(100 * now.Sub(a.started) / d)
			out.Progress = min(max(p, 0), 99)
		}
	}
	return out
}

func (s *Sim) listActions(w http.ResponseWriter, r *http.Request, match func(*action) bool) {
	q := r.URL.Query()
	var ids []int64
	for _, v := range q["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			writeError(w, errField("id", "must be a positive integer"))
			return
		}
		ids = append(ids, id)
	}
	statuses := q["status"]
	for _, st := range statuses {
		if st != "running" && st != "success" && st != "error" {
			writeError(w, errField("status", "must be one of running, success, error"))
			return
		}
	}
	now := time.Now()
	s.mu.Lock()
	var rows []row
	for _, id := range s.st.actionOrder {
		a := s.st.actions[id]
		if a == nil || (match != nil && !match(a)) {
			continue
		}
		if len(ids) > 0 && !slices.Contains(ids, a.id) {
			continue
		}
		aj := s.actionJSON(a, now)
		if len(statuses) > 0 && !slices.Contains(statuses, aj.Status) {
			continue
		}
		fin := time.Time{}
		if aj.Finished != nil {
			fin = *aj.Finished
		}
		rows = append(rows, row{id: a.id, name: a.command, created: a.started, status: aj.Status, finished: fin, v: aj})
	}
	s.mu.Unlock()
	s.writeList(w, r, "actions", rows, listSpec{sortFields: []string{"id", "command", "status", "started", "finished"}})
}

func (s *Sim) getAction(w http.ResponseWriter, r *http.Request, match func(*action) bool) {
	id, ok := pathID(w, r, "action_id")
	if !ok {
		return
	}
	s.mu.Lock()
	a := s.st.actions[id]
	var aj schema.Action
	if a != nil && (match == nil || match(a)) {
		aj = s.actionJSON(a, time.Now())
	}
	s.mu.Unlock()
	if aj.ID == 0 {
		writeError(w, errNotFound("action"))
		return
	}
	writeJSON(w, 200, schema.ActionGetResponse{Action: aj})
}

// resourceActions serves GET /v1/{kind}/actions, /v1/{kind}/actions/{action_id},
// /v1/{kind}/{id}/actions and /v1/{kind}/{id}/actions/{action_id}.
func (s *Sim) resourceActions(typ string) (list, get, listOne, getOne http.HandlerFunc) {
	ofType := func(a *action) bool {
		for _, r := range a.resources {
			if r.Type == typ {
				return true
			}
		}
		return false
	}
	ofResource := func(id int64) func(*action) bool {
		return func(a *action) bool {
			for _, r := range a.resources {
				if r.Type == typ && r.ID == id {
					return true
				}
			}
			return false
		}
	}
	list = func(w http.ResponseWriter, r *http.Request) { s.listActions(w, r, ofType) }
	get = func(w http.ResponseWriter, r *http.Request) { s.getAction(w, r, ofType) }
	listOne = func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		if !s.exists(typ, id) {
			writeError(w, errNotFound(typ))
			return
		}
		s.listActions(w, r, ofResource(id))
	}
	getOne = func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		s.getAction(w, r, ofResource(id))
	}
	return list, get, listOne, getOne
}

func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id < 1 {
		writeError(w, errNotFound("resource"))
		return 0, false
	}
	return id, true
}
