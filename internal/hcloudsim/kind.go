package hcloudsim

import (
	"net/http"
	"net/url"
	"time"
)

// resource holds what every resource of the API has.
type resource struct {
	id      int64
	name    string
	labels  map[string]string
	created time.Time
}

func (r *resource) common() *resource { return r }

// hasResource is a pointer to a resource type, which embeds resource.
type hasResource interface{ common() *resource }

// kind is one resource type of the state, with what the handlers all types
// share need to know of it. P is the pointer type the state stores.
type kind[P hasResource] struct {
	// key names one item in answers ({"volume": ...}) and is the subject of
	// its not_found; key+"s" names the list and the path.
	key   string
	items func(*state) map[int64]P
	json  func(*Sim, P) any
	// sortFields are what the list's sort= accepts.
	sortFields []string
	// nameTaken is the message of the 409 for a name already used.
	nameTaken string
}

// find returns the resource the path's {id} names, or writes 404 and returns
// false. The caller holds s.mu.
func (k kind[P]) find(s *Sim, w http.ResponseWriter, r *http.Request) (P, bool) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return *new(P), false
	}
	res, ok := k.items(s.st)[id]
	if !ok {
		writeError(w, errNotFound(k.key))
	}
	return res, ok
}

// nameFree answers 409 uniqueness_error when a resource of the kind has the
// name. The caller holds s.mu.
func (k kind[P]) nameFree(s *Sim, name string) *apiError {
	for _, o := range k.items(s.st) {
		if o.common().name == name {
			return errUnique("name", k.nameTaken)
		}
	}
	return nil
}

// rename gives res the name when it is set and free; labels, when set,
// replace res's labels. The caller holds s.mu.
func (k kind[P]) rename(s *Sim, res P, name string, labels *map[string]string) *apiError {
	c := res.common()
	if name != "" && name != c.name {
		if e := k.nameFree(s, name); e != nil {
			return e
		}
		c.name = name
	}
	if labels != nil {
		c.labels = cloneLabels(*labels)
	}
	return nil
}

// list serves GET /v1/{kind}s: the name and label_selector filters, then
// those filter reads from the query (nil: none), sorted and paginated.
func (k kind[P]) list(s *Sim, filter func(url.Values) (func(P) bool, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, e := parseListFilter(r)
		if e != nil {
			writeError(w, e)
			return
		}
		keep := func(P) bool { return true }
		if filter != nil {
			if keep, e = filter(r.URL.Query()); e != nil {
				writeError(w, e)
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var rows []row
		for _, res := range k.items(s.st) {
			c := res.common()
			if f.match(c.name, c.labels) && keep(res) {
				rows = append(rows, row{id: c.id, name: c.name, created: c.created, render: func() any { return k.json(s, res) }})
			}
		}
		s.writeList(w, r, k.key+"s", rows, listSpec{sortFields: k.sortFields})
	}
}

// get serves GET /v1/{kind}s/{id}.
func (k kind[P]) get(s *Sim) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if res, ok := k.find(s, w, r); ok {
			writeJSON(w, 200, map[string]any{k.key: k.json(s, res)})
		}
	}
}

// remove serves DELETE /v1/{kind}s/{id}: release refuses with an error or
// lets go of what the resource holds (nil: nothing to check), then the
// resource is gone.
func (k kind[P]) remove(s *Sim, release func(P) *apiError) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		res, ok := k.find(s, w, r)
		if !ok {
			return
		}
		if release != nil {
			if e := release(res); e != nil {
				writeError(w, e)
				return
			}
		}
		delete(k.items(s.st), res.common().id)
		w.WriteHeader(http.StatusNoContent)
	}
}

// onResource serves a request on the resource the path's {id} names: it
// decodes the body into a Req, lets check (nil: none) refuse it before the
// lookup, finds the resource under s.mu and answers status with what do
// returns.
func onResource[P hasResource, Req any](s *Sim, k kind[P], status int, check func(*Req) *apiError,
	do func(r *http.Request, res P, req *Req) (any, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := new(Req)
		if e := decode(r, req); e != nil {
			writeError(w, e)
			return
		}
		if check != nil {
			if e := check(req); e != nil {
				writeError(w, e)
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		res, ok := k.find(s, w, r)
		if !ok {
			return
		}
		resp, e := do(r, res, req)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, status, resp)
	}
}

// update serves PUT /v1/{kind}s/{id}: check vets the request before the
// lookup, apply changes the resource, and the answer is the resource.
func update[P hasResource, Req any](s *Sim, k kind[P], check func(*Req) *apiError, apply func(res P, req *Req) *apiError) http.HandlerFunc {
	return onResource(s, k, 200, check, func(_ *http.Request, res P, req *Req) (any, *apiError) {
		if e := apply(res, req); e != nil {
			return nil, e
		}
		return map[string]any{k.key: k.json(s, res)}, nil
	})
}

// act serves POST /v1/{kind}s/{id}/actions/...: do starts one action, which
// is the answer.
func act[P hasResource, Req any](s *Sim, k kind[P], do func(r *http.Request, res P, req *Req) (*action, *apiError)) http.HandlerFunc {
	return onResource(s, k, 201, nil, func(r *http.Request, res P, req *Req) (any, *apiError) {
		a, e := do(r, res, req)
		if e != nil {
			return nil, e
		}
		return actionResponse{s.actionJSON(a, time.Now())}, nil
	})
}
