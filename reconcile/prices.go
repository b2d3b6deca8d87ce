package reconcile

import (
	"fmt"
	"math"
	"strconv"
)

// Price is an amount of money without and with VAT, in Prices.Currency.
type Price struct {
	Net   float64 `json:"net"`
	Gross float64 `json:"gross"`
}

// Add returns p + q.
func (p Price) Add(q Price) Price { return Price{Net: p.Net + q.Net, Gross: p.Gross + q.Gross} }

// Sub returns p - q.
func (p Price) Sub(q Price) Price { return Price{Net: p.Net - q.Net, Gross: p.Gross - q.Gross} }

// Times returns p × n.
func (p Price) Times(n float64) Price { return Price{Net: p.Net * n, Gross: p.Gross * n} }

// Rate is what Hetzner charges for one resource: an hourly rate, every
// started hour counted, up to a monthly cap.
type Rate struct {
	Hourly  Price `json:"hourly"`
	Monthly Price `json:"monthly"`
}

// HoursPerMonth are the hours of an average month (365 × 24 / 12). A
// calendar month has 672 to 744; Hetzner's caps are reached well before
// either, so a resource kept all month costs its cap whatever the month.
const HoursPerMonth = 730

// ForHours is what a resource costs that exists for hours hours in one
// month: every started hour at the hourly rate, never more than the
// monthly cap (net and gross capped alike).
func (r Rate) ForHours(hours float64) Price {
	if hours <= 0 {
		return Price{}
	}
	h := math.Ceil(hours - 1e-9)
	return Price{Net: math.Min(r.Hourly.Net*h, r.Monthly.Net), Gross: math.Min(r.Hourly.Gross*h, r.Monthly.Gross)}
}

// PerMonth is what the resource costs when kept all month.
func (r Rate) PerMonth() Price { return r.ForHours(HoursPerMonth) }

// Add returns the rate of two resources billed together.
func (r Rate) Add(q Rate) Rate {
	return Rate{Hourly: r.Hourly.Add(q.Hourly), Monthly: r.Monthly.Add(q.Monthly)}
}

// Prices are Hetzner's prices as GET /pricing states them: the only source
// of money fleetctl knows. Nothing is ever assumed for a missing entry.
type Prices struct {
	Currency string
	// VATRate is the percentage gross adds, e.g. "19.00".
	VATRate string
	// ServerTypes holds the rate of each server type by location name.
	ServerTypes map[string]map[string]Rate
	// PrimaryIPs holds the rate of "ipv4" and "ipv6" by location name.
	PrimaryIPs map[string]map[string]Rate
	// VolumePerGBMonth is the monthly price of one GB of volume.
	VolumePerGBMonth Price
}

// ServerType returns a server type's rate in a location.
func (p *Prices) ServerType(serverType, location string) (Rate, error) {
	r, ok := p.ServerTypes[serverType][location]
	if !ok {
		return Rate{}, fmt.Errorf("Hetzner lists no price for server type %s in %s", serverType, location)
	}
	return r, nil
}

// PrimaryIP returns the rate of a primary IP ("ipv4" or "ipv6") in a location.
func (p *Prices) PrimaryIP(typ, location string) (Rate, error) {
	r, ok := p.PrimaryIPs[typ][location]
	if !ok {
		return Rate{}, fmt.Errorf("Hetzner lists no price for a primary %s in %s", typ, location)
	}
	return r, nil
}

// parsePrice reads the API's decimal strings.
func parsePrice(net, gross string) (Price, error) {
	n, err := strconv.ParseFloat(net, 64)
	if err != nil {
		return Price{}, fmt.Errorf("price %q: %w", net, err)
	}
	g, err := strconv.ParseFloat(gross, 64)
	if err != nil {
		return Price{}, fmt.Errorf("price %q: %w", gross, err)
	}
	return Price{Net: n, Gross: g}, nil
}

// MarshalJSON writes the amounts to a hundredth of a cent, as Hetzner's
// hourly prices are stated, without float noise.
func (p Price) MarshalJSON() ([]byte, error) {
	r := func(v float64) string {
		s := strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
		if s == "-0" {
			s = "0"
		}
		return s
	}
	return []byte(`{"net":` + r(p.Net) + `,"gross":` + r(p.Gross) + `}`), nil
}
