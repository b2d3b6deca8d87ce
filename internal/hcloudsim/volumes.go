package hcloudsim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

type volume struct {
	resource
	size       int
	location   *schema.Location
	server     int64
	protDelete bool
	format     *string
	status     string
}

func (v *volume) schema() schema.Volume {
	out := schema.Volume{ID: v.id, Name: v.name, Size: v.size, Location: *v.location, Status: v.status,
		Labels: cloneLabels(v.labels), Created: v.created, Format: v.format,
		Protection:  schema.VolumeProtection{Delete: v.protDelete},
		LinuxDevice: fmt.Sprintf("/dev/disk/by-id/scsi-0HC_Volume_%d", v.id)}
	if v.server != 0 {
		id := v.server
		out.Server = &id
	}
	return out
}

var volumeKind = kind[*volume]{key: "volume", items: func(st *state) map[int64]*volume { return st.volumes },
	json: func(_ *Sim, v *volume) any { return v.schema() }, sortFields: []string{"id", "name", "created"}, nameTaken: "volume name is already used"}

// volumeStatus filters volumes by status=.
func volumeStatus(q url.Values) (func(*volume) bool, *apiError) {
	statuses := q["status"]
	return func(v *volume) bool { return len(statuses) == 0 || slices.Contains(statuses, v.status) }, nil
}

func (s *Sim) createVolume(w http.ResponseWriter, r *http.Request) {
	var req schema.VolumeCreateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	var fields []fieldError
	if checkName(req.Name) != nil {
		fields = append(fields, fieldError{"name", []string{"is required"}})
	}
	if req.Size < 10 || req.Size > 10240 {
		fields = append(fields, fieldError{"size", []string{"must be between 10 and 10240 GB"}})
	}
	if req.Format != nil && *req.Format != "ext4" && *req.Format != "xfs" {
		fields = append(fields, fieldError{"format", []string{"must be ext4 or xfs"}})
	}
	if req.Server == nil && req.Location == nil {
		fields = append(fields, fieldError{"location", []string{"location or server is required"}})
	}
	var loc *schema.Location
	if req.Location != nil {
		if loc = lookupLocation(*req.Location); loc == nil {
			fields = append(fields, fieldError{"location", []string{"location not found"}})
		}
	}
	if !admitCreate(w, fields, req.Labels) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := volumeKind.nameFree(s, req.Name); e != nil {
		writeError(w, e)
		return
	}
	var srv *server
	if req.Server != nil {
		if srv = s.st.servers[*req.Server]; srv == nil {
			writeError(w, errField("server", "server not found"))
			return
		}
		if loc != nil && loc.Name != srv.location.Name {
			writeError(w, errField("location", "must be the server's location"))
			return
		}
		loc = srv.location
	}
	v := &volume{resource: resource{id: s.st.nextID("volume"), name: req.Name, labels: givenLabels(req.Labels), created: now()},
		size: req.Size, location: loc, format: req.Format, status: "creating"}
	s.st.volumes[v.id] = v
	create := s.startAction(r, "create_volume", func(bool) { v.status = "available" }, ref("volume", v.id))
	resp := schema.VolumeCreateResponse{NextActions: []schema.Action{}}
	if srv != nil {
		v.server = srv.id
		srv.volumes = append(srv.volumes, v.id)
		attach := s.startAction(r, "attach_volume", nil, ref("volume", v.id), ref("server", srv.id))
		attach.after = create
		resp.NextActions = append(resp.NextActions, s.actionJSON(attach, time.Now()))
	}
	a := s.actionJSON(create, time.Now())
	resp.Action = &a
	resp.Volume = v.schema()
	writeJSON(w, 201, resp)
}

func (s *Sim) routesVolumes() {
	s.handle("GET /v1/volumes", volumeKind.list(s, volumeStatus))
	s.handle("POST /v1/volumes", s.createVolume)
	s.handle("GET /v1/volumes/{id}", volumeKind.get(s))
	s.handle("PUT /v1/volumes/{id}", update(s, volumeKind,
		func(req *schema.VolumeUpdateRequest) *apiError { return checkLabels(req.Labels) },
		func(v *volume, req *schema.VolumeUpdateRequest) *apiError {
			return volumeKind.rename(s, v, req.Name, req.Labels)
		}))
	s.handle("DELETE /v1/volumes/{id}", volumeKind.remove(s, func(v *volume) *apiError {
		if v.protDelete {
			return errProtected("volume")
		}
		if v.server != 0 {
			return &apiError{status: 422, code: "resource_in_use", message: "volume is attached to a server; detach it first"}
		}
		return nil
	}))
	s.handle("POST /v1/volumes/{id}/actions/attach", act(s, volumeKind, func(r *http.Request, v *volume, req *schema.VolumeActionAttachVolumeRequest) (*action, *apiError) {
		srv := s.st.servers[req.Server]
		switch {
		case srv == nil:
			return nil, errField("server", "server not found")
		case v.server != 0:
			return nil, &apiError{status: 422, code: "volume_already_attached", message: "volume is already attached to a server"}
		case srv.location.Name != v.location.Name:
			return nil, errField("server", "server is in another location than the volume")
		}
		v.server = srv.id
		srv.volumes = append(srv.volumes, v.id)
		return s.startAction(r, "attach_volume", nil, ref("volume", v.id), ref("server", srv.id)), nil
	}))
	s.handle("POST /v1/volumes/{id}/actions/detach", act(s, volumeKind, func(r *http.Request, v *volume, _ *struct{}) (*action, *apiError) {
		srv := s.st.servers[v.server]
		if srv == nil {
			return nil, &apiError{status: 422, code: "volume_not_attached", message: "volume is not attached"}
		}
		v.server = 0
		srv.volumes = slices.DeleteFunc(srv.volumes, func(id int64) bool { return id == v.id })
		return s.startAction(r, "detach_volume", nil, ref("volume", v.id), ref("server", srv.id)), nil
	}))
	s.handle("POST /v1/volumes/{id}/actions/resize", act(s, volumeKind, func(r *http.Request, v *volume, req *schema.VolumeActionResizeVolumeRequest) (*action, *apiError) {
		if req.Size <= v.size || req.Size > 10240 {
			return nil, errField("size", "must be larger than the current size and at most 10240 GB")
		}
		v.size = req.Size
		return s.startAction(r, "resize_volume", nil, ref("volume", v.id)), nil
	}))
	s.handle("POST /v1/volumes/{id}/actions/change_protection", act(s, volumeKind, func(r *http.Request, v *volume, req *schema.VolumeActionChangeProtectionRequest) (*action, *apiError) {
		if req.Delete == nil {
			return nil, errField("delete", "is required")
		}
		v.protDelete = *req.Delete
		return s.startAction(r, "change_protection", nil, ref("volume", v.id)), nil
	}))
}
