package hcloudsim

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetctl/fleetctl/internal/labelselector"
)

// row is one item of a list answer with the values lists sort by.
type row struct {
	id       int64
	name     string
	created  time.Time
	status   string
	finished time.Time
	// v is the item, or render makes it (only for the page answered).
	v      any
	render func() any
}

type listSpec struct {
	// sortFields are the fields `sort` accepts (besides their :asc/:desc forms).
	sortFields []string
	// maxPerPage overrides the maximum page size of 50.
	maxPerPage int
	// extra are more top-level keys of the answer.
	extra map[string]any
}

const (
	defaultPerPage = 25
	maxPerPage     = 50
)

func compareRows(field string, a, b row) int {
	switch field {
	case "id":
		return cmp.Compare(a.id, b.id)
	case "name", "command", "description":
		return cmp.Compare(a.name, b.name)
	case "created", "started":
		return a.created.Compare(b.created)
	case "status":
		return cmp.Compare(a.status, b.status)
	case "finished":
		return a.finished.Compare(b.finished)
	}
	return 0
}

// writeList sorts, paginates and writes rows as {key: [...], meta: {pagination}}
// with a Link header.
func (s *Sim) writeList(w http.ResponseWriter, r *http.Request, key string, rows []row, spec listSpec) {
	q := r.URL.Query()
	type order struct {
		field string
		desc  bool
	}
	var orders []order
	for _, v := range q["sort"] {
		field, dir, _ := strings.Cut(v, ":")
		if !slices.Contains(spec.sortFields, field) || (dir != "" && dir != "asc" && dir != "desc") {
			allowed := make([]string, 0, 3*len(spec.sortFields))
			for _, f := range spec.sortFields {
				allowed = append(allowed, f, f+":asc", f+":desc")
			}
			writeError(w, errField("sort", fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))))
			return
		}
		orders = append(orders, order{field, dir == "desc"})
	}
	orders = append(orders, order{"id", false})
	// IDs are unique and the last key, so the order is total.
	slices.SortFunc(rows, func(a, b row) int {
		for _, o := range orders {
			c := compareRows(o.field, a, b)
			if o.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})

	page, perPage := 1, defaultPerPage
	limit := maxPerPage
	if spec.maxPerPage > 0 {
		limit = spec.maxPerPage
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, errField("page", "must be an integer greater than 0"))
			return
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, errField("per_page", "must be an integer greater than 0"))
			return
		}
		perPage = min(n, limit)
	}
	total := len(rows)
	lastPage := max((total+perPage-1)/perPage, 1)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	items := make([]any, 0, end-start)
	for _, rw := range rows[start:end] {
		if rw.render != nil {
			items = append(items, rw.render())
		} else {
			items = append(items, rw.v)
		}
	}
	pagination := map[string]any{
		"page":          page,
		"per_page":      perPage,
		"previous_page": nil,
		"next_page":     nil,
		"last_page":     lastPage,
		"total_entries": total,
	}
	var links []string
	link := func(p int, rel string) {
		u := *r.URL
		vals := u.Query()
		vals.Set("page", strconv.Itoa(p))
		vals.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = vals.Encode()
		links = append(links, fmt.Sprintf("<%s>; rel=%q", absoluteURL(r, &u), rel))
	}
	if page > 1 {
		prev := min(page-1, lastPage)
		pagination["previous_page"] = prev
		link(prev, "prev")
	}
	if page < lastPage {
		pagination["next_page"] = page + 1
		link(page+1, "next")
	}
	link(lastPage, "last")
	w.Header().Set("Link", strings.Join(links, ", "))
	body := map[string]any{key: items, "meta": map[string]any{"pagination": pagination}}
	for k, v := range spec.extra {
		body[k] = v
	}
	writeJSON(w, 200, body)
}

func absoluteURL(r *http.Request, u *url.URL) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + u.RequestURI()
}

// listFilter holds the filters common to resource lists: name= and
// label_selector=.
type listFilter struct {
	name     string
	hasName  bool
	selector labelselector.Selector
}

func parseListFilter(r *http.Request) (listFilter, *apiError) {
	q := r.URL.Query()
	var f listFilter
	if vs, ok := q["name"]; ok {
		f.name, f.hasName = vs[0], true
	}
	if v := q.Get("label_selector"); v != "" {
		sel, err := labelselector.Parse(v)
		if err != nil {
			return f, errField("label_selector", err.Error())
		}
		f.selector = sel
	}
	return f, nil
}

func (f listFilter) match(name string, labels map[string]string) bool {
	if f.hasName && f.name != name {
		return false
	}
	return f.selector.Matches(labels)
}
