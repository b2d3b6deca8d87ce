package hcloudsim

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

type server struct {
	resource
	status      string
	serverType  *serverTypeDef
	location    *schema.Location
	image       *imageDef
	protDelete  bool
	protRebuild bool
	ipv4, ipv6  int64 // primary IP IDs, 0 when absent
	privateNets []privateNet
	volumes     []int64
	placement   int64
	userData    string
	sshKeys     []int64
	diskSize    int
	// loopback is the address of the server's SSH host (SSH mode).
	loopback string

	// backupWindow is set while backups are enabled.
	backupWindow string
}

type privateNet struct {
	network  int64
	ip       string
	aliasIPs []string
	mac      string
}

// wireServer is schema.Server with public_net replaced: the API sends null
// for an absent IPv4 or IPv6, which schema.ServerPublicNet cannot express.
type wireServer struct {
	schema.Server
	PublicNet wirePublicNet `json:"public_net"`
}

type wirePublicNet struct {
	IPv4        *schema.ServerPublicNetIPv4 `json:"ipv4"`
	IPv6        *schema.ServerPublicNetIPv6 `json:"ipv6"`
	FloatingIPs []int64                     `json:"floating_ips"`
	Firewalls   []schema.ServerFirewall     `json:"firewalls"`
}

func (s *Sim) serverJSON(srv *server) wireServer {
	img := imageSchemas[srv.image.id]
	out := wireServer{Server: schema.Server{
		ID: srv.id, Name: srv.name, Status: srv.status, Created: srv.created,
		PrivateNet:      []schema.ServerPrivateNet{},
		ServerType:      serverTypeSchemas[srv.serverType.name],
		IncludedTraffic: includedTraffic[srv.location.Name],
		OutgoingTraffic: new(uint64), IngoingTraffic: new(uint64),
		Location: *srv.location, Image: &img,
		Protection:      schema.ServerProtection{Delete: srv.protDelete, Rebuild: srv.protRebuild},
		Labels:          cloneLabels(srv.labels),
		Volumes:         slices.Clone(srv.volumes),
		PrimaryDiskSize: srv.diskSize,
		LoadBalancers:   []int64{},
	}}
	if out.Volumes == nil {
		out.Volumes = []int64{}
	}
	if srv.backupWindow != "" {
		window := srv.backupWindow
		out.BackupWindow = &window
	}
	for _, pn := range srv.privateNets {
		aliases := slices.Clone(pn.aliasIPs)
		if aliases == nil {
			aliases = []string{}
		}
		out.PrivateNet = append(out.PrivateNet, schema.ServerPrivateNet{Network: pn.network, IP: pn.ip, AliasIPs: aliases, MACAddress: pn.mac})
	}
	if pg := s.st.placementGroups[srv.placement]; pg != nil {
		p := pg.schema(s)
		out.PlacementGroup = &p
	}
	out.PublicNet = wirePublicNet{FloatingIPs: []int64{}, Firewalls: []schema.ServerFirewall{}}
	if ip := s.st.primaryIPs[srv.ipv4]; ip != nil {
		out.PublicNet.IPv4 = &schema.ServerPublicNetIPv4{ID: ip.id, IP: ip.ip, DNSPtr: ip.dnsPtr(ip.ip)}
	}
	if ip := s.st.primaryIPs[srv.ipv6]; ip != nil {
		out.PublicNet.IPv6 = &schema.ServerPublicNetIPv6{ID: ip.id, IP: ip.ip, DNSPtr: ipv6DNSPtrs(ip)}
	}
	for _, fw := range s.firewallsOf(srv) {
		out.PublicNet.Firewalls = append(out.PublicNet.Firewalls, schema.ServerFirewall{ID: fw, Status: "applied"})
	}
	return out
}

var serverKind = kind[*server]{key: "server", items: func(st *state) map[int64]*server { return st.servers },
	json: func(s *Sim, srv *server) any { return s.serverJSON(srv) }, sortFields: []string{"id", "name", "created"}, nameTaken: "server name is already used"}

var serverStatuses = []string{"running", "initializing", "starting", "stopping", "off", "deleting", "migrating", "rebuilding", "unknown"}

// serverStatus filters servers by status=, which must name a server status.
func serverStatus(q url.Values) (func(*server) bool, *apiError) {
	statuses := q["status"]
	for _, st := range statuses {
		if !slices.Contains(serverStatuses, st) {
			return nil, errField("status", fmt.Sprintf("%q is not one of %s", st, strings.Join(serverStatuses, ", ")))
		}
	}
	return func(srv *server) bool { return len(statuses) == 0 || slices.Contains(statuses, srv.status) }, nil
}

// serverCreateRequest is schema.ServerCreateRequest made lenient where other
// clients send names instead of IDs, plus the older datacenter field.
type serverCreateRequest struct {
	Name             string                         `json:"name"`
	ServerType       schema.IDOrName                `json:"server_type"`
	Image            schema.IDOrName                `json:"image"`
	SSHKeys          []schema.IDOrName              `json:"ssh_keys"`
	Location         *schema.IDOrName               `json:"location"`
	Datacenter       *schema.IDOrName               `json:"datacenter"`
	UserData         string                         `json:"user_data"`
	StartAfterCreate *bool                          `json:"start_after_create"`
	Labels           *map[string]string             `json:"labels"`
	Automount        *bool                          `json:"automount"`
	Volumes          []int64                        `json:"volumes"`
	Networks         []int64                        `json:"networks"`
	Firewalls        []schema.ServerCreateFirewalls `json:"firewalls"`
	PlacementGroup   int64                          `json:"placement_group"`
	PublicNet        *struct {
		EnableIPv4 *bool `json:"enable_ipv4"`
		EnableIPv6 *bool `json:"enable_ipv6"`
		IPv4       int64 `json:"ipv4"`
		IPv6       int64 `json:"ipv6"`
	} `json:"public_net"`
}

func randomPassword() string {
	b := make([]byte, 15)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Sim) createServer(w http.ResponseWriter, r *http.Request) {
	var req serverCreateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	var fields []fieldError
	addField := func(name, msg string) { fields = append(fields, fieldError{Name: name, Messages: []string{msg}}) }
	if e := checkHostname(req.Name); e != nil {
		addField("name", "must be a valid hostname (RFC 1123)")
	}
	st := serverTypeByIDOrName(req.ServerType)
	if st == nil {
		addField("server_type", "server type not found")
	}
	var img *imageDef
	if st != nil {
		img = imageFor(req.Image, st.arch)
		if img == nil {
			addField("image", "image not found")
		} else if img.arch != st.arch {
			addField("image", fmt.Sprintf("image architecture %s does not match server type architecture %s", img.arch, st.arch))
		}
	}
	if len(req.UserData) > 32*1024 {
		addField("user_data", "must be at most 32 KiB")
	}
	var loc *schema.Location
	switch {
	case req.Location != nil:
		loc = lookupLocation(*req.Location)
		if loc == nil {
			addField("location", "location not found")
		}
	case req.Datacenter != nil:
		for i := range locations {
			dc := datacenterNames[locations[i].Name]
			if dc.name == req.Datacenter.Name || (req.Datacenter.ID != 0 && dc.id == req.Datacenter.ID) {
				loc = &locations[i]
			}
		}
		if loc == nil {
			addField("datacenter", "datacenter not found")
		}
	case st != nil:
		loc = locationByName(st.locations[0])
	}
	if e := checkLabels(req.Labels); e != nil {
		fields = append(fields, e.details.(map[string]any)["fields"].([]fieldError)...)
	}
	if len(fields) > 0 {
		writeError(w, errInvalid(fields...))
		return
	}
	if !slices.Contains(st.locations, loc.Name) || st.deprecation != nil && time.Now().After(st.deprecation.UnavailableAfter) {
		writeError(w, &apiError{status: 412, code: "resource_unavailable",
			message: fmt.Sprintf("server type %s is not available in location %s", st.name, loc.Name)})
		return
	}
	enable4, enable6 := true, true
	var ipv4ID, ipv6ID int64
	if pn := req.PublicNet; pn != nil {
		if pn.EnableIPv4 != nil {
			enable4 = *pn.EnableIPv4
		}
		if pn.EnableIPv6 != nil {
			enable6 = *pn.EnableIPv6
		}
		ipv4ID, ipv6ID = pn.IPv4, pn.IPv6
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if e := serverKind.nameFree(s, req.Name); e != nil {
		writeError(w, e)
		return
	}
	var keyIDs []int64
	for _, k := range req.SSHKeys {
		key := s.lookupSSHKey(k)
		if key == nil {
			writeError(w, errField("ssh_keys", fmt.Sprintf("SSH key %s not found", idOrNameString(k))))
			return
		}
		keyIDs = append(keyIDs, key.id)
	}
	for _, fw := range req.Firewalls {
		if s.st.firewalls[fw.Firewall] == nil {
			writeError(w, errField("firewalls", fmt.Sprintf("firewall %d not found", fw.Firewall)))
			return
		}
	}
	for _, n := range req.Networks {
		nw := s.st.networks[n]
		if nw == nil {
			writeError(w, errField("networks", fmt.Sprintf("network %d not found", n)))
			return
		}
		if nw.subnetFor(loc.NetworkZone) == nil {
			writeError(w, errField("networks", fmt.Sprintf("network %d has no subnet in network zone %s", n, loc.NetworkZone)))
			return
		}
	}
	for _, v := range req.Volumes {
		vol := s.st.volumes[v]
		if vol == nil {
			writeError(w, errField("volumes", fmt.Sprintf("volume %d not found", v)))
			return
		}
		if vol.server != 0 {
			writeError(w, &apiError{status: 422, code: "volume_already_attached", message: fmt.Sprintf("volume %d is already attached", v)})
			return
		}
		if vol.location.Name != loc.Name {
			writeError(w, errField("volumes", fmt.Sprintf("volume %d is in another location", v)))
			return
		}
	}
	if req.PlacementGroup != 0 && s.st.placementGroups[req.PlacementGroup] == nil {
		writeError(w, errField("placement_group", fmt.Sprintf("placement group %d not found", req.PlacementGroup)))
		return
	}
	for _, p := range []struct {
		id  int64
		typ string
	}{{ipv4ID, "ipv4"}, {ipv6ID, "ipv6"}} {
		if p.id == 0 {
			continue
		}
		ip := s.st.primaryIPs[p.id]
		if ip == nil || ip.typ != p.typ {
			writeError(w, errField("public_net", fmt.Sprintf("primary IP %d not found", p.id)))
			return
		}
		if ip.assignee != 0 {
			writeError(w, &apiError{status: 422, code: "primary_ip_assigned", message: fmt.Sprintf("primary IP %d is already assigned", p.id)})
			return
		}
		if ip.location.Name != loc.Name {
			writeError(w, errField("public_net", fmt.Sprintf("primary IP %d is in another location", p.id)))
			return
		}
	}

	srv := &server{
		resource: resource{id: s.st.nextID("server"), name: req.Name, labels: givenLabels(req.Labels), created: now()},
		status:   "initializing", serverType: st, location: loc, image: img,
		userData: req.UserData, sshKeys: keyIDs, diskSize: st.disk, placement: req.PlacementGroup,
	}
	if enable4 || ipv4ID != 0 {
		if ipv4ID == 0 {
			ip, err := s.newPrimaryIP("ipv4", loc, true)
			if err != nil {
				writeError(w, &apiError{status: 412, code: "resource_unavailable", message: err.Error()})
				return
			}
			ipv4ID = ip.id
		}
		s.st.primaryIPs[ipv4ID].assign(srv.id)
		srv.ipv4 = ipv4ID
		srv.loopback = s.st.primaryIPs[ipv4ID].ip
	}
	if enable6 || ipv6ID != 0 {
		if ipv6ID == 0 {
			ip, _ := s.newPrimaryIP("ipv6", loc, true)
			ipv6ID = ip.id
		}
		s.st.primaryIPs[ipv6ID].assign(srv.id)
		srv.ipv6 = ipv6ID
	}
	s.st.servers[srv.id] = srv
	for _, fw := range req.Firewalls {
		f := s.st.firewalls[fw.Firewall]
		f.applyTo = append(f.applyTo, firewallTarget{server: srv.id})
	}
	for _, n := range req.Networks {
		s.attachNetwork(srv, s.st.networks[n], "", nil)
	}
	for _, v := range req.Volumes {
		s.st.volumes[v].server = srv.id
		srv.volumes = append(srv.volumes, v)
	}

	resources := []schema.ActionResourceReference{ref("server", srv.id)}
	start := req.StartAfterCreate == nil || *req.StartAfterCreate
	create := s.startAction(r, "create_server", func(ok bool) {
		switch {
		case !ok:
			srv.status = "off"
		case start:
			srv.status = "starting"
		default:
			srv.status = "off"
		}
	}, resources...)
	resp := struct {
		Server       wireServer      `json:"server"`
		Action       schema.Action   `json:"action"`
		NextActions  []schema.Action `json:"next_actions"`
		RootPassword *string         `json:"root_password"`
	}{NextActions: []schema.Action{}}
	if start {
		next := s.startAction(r, "start_server", func(ok bool) {
			if ok {
				s.serverRunning(srv)
			} else {
				srv.status = "off"
			}
		}, resources...)
		next.after = create
		next.failed = false
		resp.NextActions = append(resp.NextActions, s.actionJSON(next, time.Now()))
	}
	if len(keyIDs) == 0 {
		pw := randomPassword()
		resp.RootPassword = &pw
	}
	resp.Server = s.serverJSON(srv)
	resp.Action = s.actionJSON(create, time.Now())
	writeJSON(w, 201, resp)
}

func idOrNameString(o schema.IDOrName) string {
	if o.ID != 0 {
		return fmt.Sprint(o.ID)
	}
	return o.Name
}

func lookupLocation(o schema.IDOrName) *schema.Location {
	if o.ID != 0 {
		return locationByIDOrName(fmt.Sprint(o.ID))
	}
	return locationByName(o.Name)
}

func (s *Sim) lookupSSHKey(o schema.IDOrName) *sshKey {
	if o.ID != 0 {
		return s.st.sshKeys[o.ID]
	}
	for _, k := range s.st.sshKeys {
		if k.name == o.Name {
			return k
		}
	}
	return nil
}

// serverRunning marks a server running and starts its SSH host.
func (s *Sim) serverRunning(srv *server) {
	srv.status = "running"
	if s.hosts == nil || s.st.servers[srv.id] == nil || srv.loopback == "" {
		return
	}
	var keys []string
	for _, id := range srv.sshKeys {
		if k := s.st.sshKeys[id]; k != nil {
			keys = append(keys, k.publicKey)
		}
	}
	used := map[string]bool{}
	for _, ip := range s.st.primaryIPs {
		used[ip.ip] = true
	}
	addr, err := s.hosts.start(srv.id, srv.name, srv.loopback, srv.userData, keys, used)
	if err != nil {
		s.opts.Logf("server %s: SSH host on %s: %v", srv.name, srv.loopback, err)
		return
	}
	if addr != srv.loopback {
		// Another process took the address meanwhile: the server moves.
		if ip := s.st.primaryIPs[srv.ipv4]; ip != nil {
			ip.ip = addr
		}
		srv.loopback = addr
	}
}

func (s *Sim) serverStopped(srv *server) {
	srv.status = "off"
	if s.hosts != nil {
		s.hosts.stop(srv.id)
	}
}

func (s *Sim) routesServers() {
	s.handle("GET /v1/servers", serverKind.list(s, serverStatus))
	s.handle("POST /v1/servers", s.createServer)
	s.handle("GET /v1/servers/{id}", serverKind.get(s))
	s.handle("PUT /v1/servers/{id}", update(s, serverKind,
		func(req *schema.ServerUpdateRequest) *apiError {
			if req.Name != "" {
				if e := checkHostname(req.Name); e != nil {
					return e
				}
			}
			return checkLabels(req.Labels)
		},
		func(srv *server, req *schema.ServerUpdateRequest) *apiError {
			old := srv.name
			if e := serverKind.rename(s, srv, req.Name, req.Labels); e != nil {
				return e
			}
			if srv.name != old && s.hosts != nil {
				// The SSH host serves DIR/servers/<name>/: move it with the name.
				running := srv.status == "running"
				s.hosts.stop(srv.id)
				s.hosts.rename(srv.id, old, srv.name)
				if running {
					s.serverRunning(srv)
				}
			}
			return nil
		}))
	s.handle("DELETE /v1/servers/{id}", s.deleteServer)
	s.routesServerActions()
	s.routesServerDNSPtr()
	s.routesServerCLIActions()
}

func (s *Sim) deleteServer(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv, ok := serverKind.find(s, w, r)
	if !ok {
		return
	}
	if srv.protDelete {
		writeError(w, errProtected("server"))
		return
	}
	a := s.startAction(r, "delete_server", nil, ref("server", srv.id))
	s.removeServer(srv)
	writeJSON(w, 200, schema.ServerDeleteResponse{Action: s.actionJSON(a, time.Now())})
}

// removeServer forgets a server and everything that only existed for it.
func (s *Sim) removeServer(srv *server) {
	delete(s.st.servers, srv.id)
	if s.hosts != nil {
		s.hosts.forget(srv.id)
	}
	for _, id := range []int64{srv.ipv4, srv.ipv6} {
		ip := s.st.primaryIPs[id]
		if ip == nil {
			continue
		}
		if ip.autoDelete {
			delete(s.st.primaryIPs, id)
		} else {
			ip.assignee = 0
		}
	}
	for _, v := range srv.volumes {
		if vol := s.st.volumes[v]; vol != nil {
			vol.server = 0
		}
	}
	for _, fw := range s.st.firewalls {
		fw.applyTo = slices.DeleteFunc(fw.applyTo, func(t firewallTarget) bool { return t.server == srv.id })
	}
}
