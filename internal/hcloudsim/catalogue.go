package hcloudsim

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// The catalogue: what Hetzner sells where, as of 2026. Prices are Hetzner's
// published list prices, net EUR (gross adds 19 % VAT), each an hourly rate
// and a monthly cap as the price list states them: the hourly rate is not
// the monthly price over the hours of a month, it reaches the cap after
// about 620 hours.

var locations = []schema.Location{
	{ID: 1, Name: "fsn1", Description: "Falkenstein DC Park 1", Country: "DE", City: "Falkenstein", Latitude: 50.47612, Longitude: 12.370071, NetworkZone: "eu-central"},
	{ID: 2, Name: "nbg1", Description: "Nuremberg DC Park 1", Country: "DE", City: "Nuremberg", Latitude: 49.452102, Longitude: 11.076665, NetworkZone: "eu-central"},
	{ID: 3, Name: "hel1", Description: "Helsinki DC Park 1", Country: "FI", City: "Helsinki", Latitude: 60.169855, Longitude: 24.938379, NetworkZone: "eu-central"},
	{ID: 4, Name: "ash", Description: "Ashburn, VA", Country: "US", City: "Ashburn, VA", Latitude: 39.045821, Longitude: -77.487073, NetworkZone: "us-east"},
	{ID: 5, Name: "hil", Description: "Hillsboro, OR", Country: "US", City: "Hillsboro, OR", Latitude: 45.54222, Longitude: -122.951924, NetworkZone: "us-west"},
	{ID: 6, Name: "sin", Description: "Singapore", Country: "SG", City: "Singapore", Latitude: 1.283333, Longitude: 103.833333, NetworkZone: "ap-southeast"},
}

var datacenterNames = map[string]struct {
	id   int64
	name string
	desc string
}{
	"fsn1": {4, "fsn1-dc14", "Falkenstein 1 virtual DC 14"},
	"nbg1": {2, "nbg1-dc3", "Nuremberg 1 virtual DC 3"},
	"hel1": {3, "hel1-dc2", "Helsinki 1 virtual DC 2"},
	"ash":  {5, "ash-dc1", "Ashburn virtual DC 1"},
	"hil":  {6, "hil-dc1", "Hillsboro virtual DC 1"},
	"sin":  {7, "sin-dc1", "Singapore virtual DC 1"},
}

var (
	european = []string{"fsn1", "nbg1", "hel1"}
	all      = []string{"fsn1", "nbg1", "hel1", "ash", "hil", "sin"}
)

type serverTypeDef struct {
	id          int64
	name        string
	description string
	category    string
	cores       int
	memory      float32
	disk        int
	cpuType     string
	arch        string
	monthly     float64 // EUR net in Germany and Finland: the monthly cap
	hourly      float64 // EUR net in Germany and Finland
	locations   []string
	deprecation *schema.DeprecationInfo
}

var serverTypeDefs = []serverTypeDef{
	{1, "cx11", "CX11", "cost_optimized", 1, 2, 20, "shared", "x86", 4.15, 0.0067, european, &schema.DeprecationInfo{
		Announced: time.Date(2024, 6, 6, 0, 0, 0, 0, time.UTC), UnavailableAfter: time.Date(2024, 9, 6, 0, 0, 0, 0, time.UTC)}},
	{22, "cpx11", "CPX 11", "regular_purpose", 2, 2, 40, "shared", "x86", 4.99, 0.0080, all, nil},
	{23, "cpx21", "CPX 21", "regular_purpose", 3, 4, 80, "shared", "x86", 8.99, 0.0144, all, nil},
	{24, "cpx31", "CPX 31", "regular_purpose", 4, 8, 160, "shared", "x86", 16.49, 0.0264, all, nil},
	{45, "cax11", "CAX11", "cost_optimized", 2, 4, 40, "shared", "arm", 3.99, 0.0064, european, nil},
	{93, "cax21", "CAX21", "cost_optimized", 4, 8, 80, "shared", "arm", 6.49, 0.0104, european, nil},
	{96, "ccx13", "CCX13", "general_purpose", 2, 8, 80, "dedicated", "x86", 12.49, 0.0200, all, nil},
	{114, "cx23", "CX23", "cost_optimized", 2, 4, 40, "shared", "x86", 3.49, 0.0056, european, nil},
	{116, "cpx22", "CPX 22", "regular_purpose", 2, 4, 80, "shared", "x86", 7.99, 0.0128, all, nil},
}

// locationFactor is the price factor of a location against Germany.
var locationFactor = map[string]float64{"fsn1": 1, "nbg1": 1, "hel1": 1, "ash": 1.2, "hil": 1.2, "sin": 1.35}

// includedTraffic per location in bytes.
var includedTraffic = map[string]uint64{
	"fsn1": 20 << 40, "nbg1": 20 << 40, "hel1": 20 << 40, "ash": 1 << 40, "hil": 1 << 40, "sin": 1 << 39,
}

// price writes a net price as the API does, with the gross rounded to
// four decimals as Hetzner's price list has it.
func price(net float64) schema.Price {
	gross := math.Round(net*1.19*1e4) / 1e4
	return schema.Price{Net: strconv.FormatFloat(net, 'f', 10, 64), Gross: strconv.FormatFloat(gross, 'f', 10, 64)}
}

// localPrices are a server type's monthly cap and hourly rate in a
// location: the German and Finnish list price, or, elsewhere, that price
// times the location's factor, the cap rounded to the cent and the rate to
// the hundredth of a cent as Hetzner's price list shows them.
func (d serverTypeDef) localPrices(location string) (monthly, hourly float64) {
	f := locationFactor[location]
	if f == 1 {
		return d.monthly, d.hourly
	}
	return math.Round(d.monthly*f*100) / 100, math.Ceil(d.hourly*f*1e4-1e-9) / 1e4
}

// Primary IPs: IPv4 costs its monthly cap or hourly rate in every
// location; IPv6 is free.
const (
	primaryIPv4Monthly = 0.50
	primaryIPv4Hourly  = 0.0008
)

func (d serverTypeDef) schema() schema.ServerType {
	st := schema.ServerType{
		ID: d.id, Name: d.name, Description: d.description, Category: d.category,
		Cores: d.cores, Memory: d.memory, Disk: d.disk, StorageType: "local", CPUType: d.cpuType,
		Architecture: d.arch, Deprecated: d.deprecation != nil,
		Prices:    []schema.PricingServerTypePrice{},
		Locations: []schema.ServerTypeLocation{},
	}
	st.Deprecation = d.deprecation
	for _, name := range d.locations {
		loc := locationByName(name)
		monthly, hourly := d.localPrices(name)
		st.Prices = append(st.Prices, schema.PricingServerTypePrice{
			Location: name, PriceHourly: price(hourly), PriceMonthly: price(monthly),
			IncludedTraffic: includedTraffic[name], PricePerTBTraffic: price(1),
		})
		l := schema.ServerTypeLocation{ID: loc.ID, Name: loc.Name, Available: d.deprecation == nil, Recommended: d.deprecation == nil}
		l.Deprecation = d.deprecation
		st.Locations = append(st.Locations, l)
	}
	return st
}

// serverTypeSchemas and imageSchemas are rendered once: servers embed them
// in every answer. They are shared, so never modified.
var (
	serverTypeSchemas = map[string]schema.ServerType{}
	imageSchemas      = map[int64]schema.Image{}
)

func init() {
	for _, d := range serverTypeDefs {
		serverTypeSchemas[d.name] = d.schema()
	}
	for _, d := range imageDefs {
		imageSchemas[d.id] = d.schema()
	}
}

func locationByName(name string) *schema.Location {
	for i := range locations {
		if locations[i].Name == name {
			return &locations[i]
		}
	}
	return nil
}

func locationByIDOrName(v string) *schema.Location {
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		for i := range locations {
			if locations[i].ID == id {
				return &locations[i]
			}
		}
		return nil
	}
	return locationByName(v)
}

func datacenter(loc *schema.Location) schema.Datacenter {
	dc := datacenterNames[loc.Name]
	out := schema.Datacenter{ID: dc.id, Name: dc.name, Description: dc.desc, Location: *loc,
		ServerTypes: &schema.DatacenterServerTypes{Supported: []int64{}, Available: []int64{}, AvailableForMigration: []int64{}}}
	for _, st := range serverTypeDefs {
		if slices.Contains(st.locations, loc.Name) {
			out.ServerTypes.Supported = append(out.ServerTypes.Supported, st.id)
			out.ServerTypes.AvailableForMigration = append(out.ServerTypes.AvailableForMigration, st.id)
			if st.deprecation == nil {
				out.ServerTypes.Available = append(out.ServerTypes.Available, st.id)
			}
		}
	}
	return out
}

func serverTypeByIDOrName(o schema.IDOrName) *serverTypeDef {
	for i := range serverTypeDefs {
		if (o.ID != 0 && serverTypeDefs[i].id == o.ID) || (o.ID == 0 && serverTypeDefs[i].name == o.Name) {
			return &serverTypeDefs[i]
		}
	}
	return nil
}

type imageDef struct {
	id         int64
	name       string
	desc       string
	flavor     string
	version    string
	arch       string
	created    time.Time
	deprecated *time.Time
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

func ptrTime(t time.Time) *time.Time { return &t }

var imageDefs = []imageDef{
	{67794396, "ubuntu-22.04", "Ubuntu 22.04", "ubuntu", "22.04", "x86", date(2022, 4, 21), nil},
	{103908070, "ubuntu-22.04", "Ubuntu 22.04", "ubuntu", "22.04", "arm", date(2023, 3, 20), nil},
	{161547269, "ubuntu-24.04", "Ubuntu 24.04", "ubuntu", "24.04", "x86", date(2024, 4, 25), nil},
	{161547270, "ubuntu-24.04", "Ubuntu 24.04", "ubuntu", "24.04", "arm", date(2024, 4, 25), nil},
	{114690387, "debian-12", "Debian 12", "debian", "12", "x86", date(2023, 6, 13), nil},
	{114690389, "debian-12", "Debian 12", "debian", "12", "arm", date(2023, 6, 13), nil},
	{310557660, "debian-13", "Debian 13", "debian", "13", "x86", date(2025, 8, 12), nil},
	{310557661, "debian-13", "Debian 13", "debian", "13", "arm", date(2025, 8, 12), nil},
	{76766499, "rocky-9", "Rocky Linux 9", "rocky", "9", "x86", date(2022, 7, 14), nil},
	{103908072, "rocky-9", "Rocky Linux 9", "rocky", "9", "arm", date(2023, 3, 20), nil},
	{45557056, "ubuntu-20.04", "Ubuntu 20.04", "ubuntu", "20.04", "x86", date(2020, 4, 23), ptrTime(date(2025, 5, 31))},
	{103908068, "ubuntu-20.04", "Ubuntu 20.04", "ubuntu", "20.04", "arm", date(2023, 3, 20), ptrTime(date(2025, 5, 31))},
}

func (d imageDef) schema() schema.Image {
	name, version := d.name, d.version
	created := d.created
	return schema.Image{
		ID: d.id, Status: "available", Type: "system", Name: &name, Description: d.desc,
		DiskSize: 5, Created: &created, OSFlavor: d.flavor, OSVersion: &version,
		Architecture: d.arch, RapidDeploy: true, Labels: map[string]string{}, Deprecated: d.deprecated,
	}
}

// imageFor finds a system image by ID, or by name for an architecture.
func imageFor(o schema.IDOrName, arch string) *imageDef {
	for i := range imageDefs {
		d := &imageDefs[i]
		if o.ID != 0 && d.id == o.ID {
			return d
		}
		if o.ID == 0 && d.name == o.Name && d.arch == arch {
			return d
		}
	}
	return nil
}

func (s *Sim) listLocations(w http.ResponseWriter, r *http.Request) {
	f, e := parseListFilter(r)
	if e != nil {
		writeError(w, e)
		return
	}
	var rows []row
	for _, l := range locations {
		if f.hasName && l.Name != f.name {
			continue
		}
		rows = append(rows, row{id: l.ID, name: l.Name, v: l})
	}
	s.writeList(w, r, "locations", rows, listSpec{sortFields: []string{"id", "name"}})
}

func (s *Sim) getLocation(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	for _, l := range locations {
		if l.ID == id {
			writeJSON(w, 200, schema.LocationGetResponse{Location: l})
			return
		}
	}
	writeError(w, errNotFound("location"))
}

func (s *Sim) listDatacenters(w http.ResponseWriter, r *http.Request) {
	f, e := parseListFilter(r)
	if e != nil {
		writeError(w, e)
		return
	}
	var rows []row
	for i := range locations {
		dc := datacenter(&locations[i])
		if f.hasName && dc.Name != f.name {
			continue
		}
		rows = append(rows, row{id: dc.ID, name: dc.Name, v: dc})
	}
	s.writeList(w, r, "datacenters", rows, listSpec{sortFields: []string{"id", "name"},
		extra: map[string]any{"recommendation": datacenterNames["fsn1"].id}})
}

func (s *Sim) getDatacenter(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	for i := range locations {
		if dc := datacenter(&locations[i]); dc.ID == id {
			writeJSON(w, 200, schema.DatacenterGetResponse{Datacenter: dc})
			return
		}
	}
	writeError(w, errNotFound("datacenter"))
}

func (s *Sim) listServerTypes(w http.ResponseWriter, r *http.Request) {
	f, e := parseListFilter(r)
	if e != nil {
		writeError(w, e)
		return
	}
	var rows []row
	for _, d := range serverTypeDefs {
		if f.hasName && d.name != f.name {
			continue
		}
		rows = append(rows, row{id: d.id, name: d.name, v: d.schema()})
	}
	s.writeList(w, r, "server_types", rows, listSpec{sortFields: []string{"id", "name"}})
}

func (s *Sim) getServerType(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if d := serverTypeByIDOrName(schema.IDOrName{ID: id}); d != nil {
		writeJSON(w, 200, schema.ServerTypeGetResponse{ServerType: d.schema()})
		return
	}
	writeError(w, errNotFound("server_type"))
}

func (s *Sim) listImages(w http.ResponseWriter, r *http.Request) {
	f, e := parseListFilter(r)
	if e != nil {
		writeError(w, e)
		return
	}
	q := r.URL.Query()
	for _, t := range q["type"] {
		if !slices.Contains([]string{"system", "app", "snapshot", "backup"}, t) {
			writeError(w, errField("type", fmt.Sprintf("%q is not one of system, app, snapshot, backup", t)))
			return
		}
	}
	for _, a := range q["architecture"] {
		if a != "x86" && a != "arm" {
			writeError(w, errField("architecture", fmt.Sprintf("%q is not one of x86, arm", a)))
			return
		}
	}
	for _, st := range q["status"] {
		if st != "available" && st != "creating" && st != "unavailable" {
			writeError(w, errField("status", fmt.Sprintf("%q is not one of available, creating, unavailable", st)))
			return
		}
	}
	includeDeprecated := false
	if v := q.Get("include_deprecated"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, errField("include_deprecated", "must be true or false"))
			return
		}
		includeDeprecated = b
	}
	var rows []row
	for _, d := range imageDefs {
		img := d.schema()
		switch {
		case !f.match(d.name, img.Labels):
			continue
		case len(q["type"]) > 0 && !slices.Contains(q["type"], "system"):
			continue
		case len(q["architecture"]) > 0 && !slices.Contains(q["architecture"], d.arch):
			continue
		case len(q["status"]) > 0 && !slices.Contains(q["status"], "available"):
			continue
		case q.Get("bound_to") != "":
			continue
		case d.deprecated != nil && !includeDeprecated:
			continue
		}
		rows = append(rows, row{id: d.id, name: d.name, created: d.created, v: img})
	}
	s.writeList(w, r, "images", rows, listSpec{sortFields: []string{"id", "name", "created"}})
}

func (s *Sim) getImage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if d := imageFor(schema.IDOrName{ID: id}, ""); d != nil {
		writeJSON(w, 200, schema.ImageGetResponse{Image: d.schema()})
		return
	}
	writeError(w, errNotFound("image"))
}

func (s *Sim) getPricing(w http.ResponseWriter, r *http.Request) {
	p := schema.Pricing{Currency: "EUR", VATRate: "19.00",
		Image:        schema.PricingImage{PricePerGBMonth: price(0.011)},
		Traffic:      schema.PricingTraffic{PricePerTB: price(1)},
		ServerBackup: schema.PricingServerBackup{Percentage: "20.00"},
		Volume:       schema.PricingVolume{PricePerGBPerMonth: price(0.044)},
		FloatingIPs:  []schema.PricingFloatingIPType{},
		PrimaryIPs:   []schema.PricingPrimaryIP{},
		ServerTypes:  []schema.PricingServerType{}, LoadBalancerTypes: []schema.PricingLoadBalancerType{},
	}
	for _, typ := range []string{"ipv4", "ipv6"} {
		pp := schema.PricingPrimaryIP{Type: typ}
		monthly, hourly := primaryIPv4Monthly, primaryIPv4Hourly
		if typ == "ipv6" {
			monthly, hourly = 0, 0
		}
		for _, l := range locations {
			pp.Prices = append(pp.Prices, schema.PricingPrimaryIPTypePrice{Location: l.Name, PriceHourly: price(hourly), PriceMonthly: price(monthly)})
		}
		p.PrimaryIPs = append(p.PrimaryIPs, pp)
		fp := schema.PricingFloatingIPType{Type: typ}
		for _, l := range locations {
			fp.Prices = append(fp.Prices, schema.PricingFloatingIPTypePrice{Location: l.Name, PriceMonthly: price(3 * monthly / 0.5)})
		}
		p.FloatingIPs = append(p.FloatingIPs, fp)
	}
	p.FloatingIP = schema.PricingFloatingIP{PriceMonthly: price(3)}
	for _, d := range serverTypeDefs {
		st := d.schema()
		p.ServerTypes = append(p.ServerTypes, schema.PricingServerType{ID: d.id, Name: d.name, Prices: st.Prices})
	}
	writeJSON(w, 200, schema.PricingGetResponse{Pricing: p})
}
