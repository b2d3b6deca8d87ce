package hcloudsim

import (
	"context"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// TestPricingIsThePriceList reads GET /pricing and the server types'
// prices through hcloud-go (and the contract check) and pins a few entries
// to Hetzner's published price list: net EUR, the monthly cap and the
// hourly rate each as listed, gross with 19 % VAT.
func TestPricingIsThePriceList(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	pricing, _, err := env.client.Pricing.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pricing.Image.PerGBMonth.Currency != "EUR" || pricing.Image.PerGBMonth.VATRate != "19.00" {
		t.Errorf("currency and VAT = %+v", pricing.Image.PerGBMonth)
	}
	type want struct{ typ, location, monthlyNet, monthlyGross, hourlyNet string }
	wants := []want{
		{"cpx11", "hel1", "4.9900000000", "5.9381000000", "0.0080000000"},
		{"cpx21", "hel1", "8.9900000000", "10.6981000000", "0.0144000000"},
		{"cpx21", "fsn1", "8.9900000000", "10.6981000000", "0.0144000000"},
		{"cax11", "nbg1", "3.9900000000", "4.7481000000", "0.0064000000"},
		{"cpx11", "ash", "5.9900000000", "7.1281000000", "0.0096000000"},
	}
	for _, w := range wants {
		found := false
		for _, st := range pricing.ServerTypes {
			if st.ServerType.Name != w.typ {
				continue
			}
			for _, p := range st.Pricings {
				if p.Location.Name != w.location {
					continue
				}
				found = true
				if p.Monthly.Net != w.monthlyNet || p.Monthly.Gross != w.monthlyGross || p.Hourly.Net != w.hourlyNet {
					t.Errorf("/pricing %s in %s: monthly %s net %s gross, hourly %s net; want %s, %s, %s",
						w.typ, w.location, p.Monthly.Net, p.Monthly.Gross, p.Hourly.Net, w.monthlyNet, w.monthlyGross, w.hourlyNet)
				}
			}
		}
		if !found {
			t.Errorf("/pricing has no price for %s in %s", w.typ, w.location)
		}
		st, _, err := env.client.ServerType.GetByName(ctx, w.typ)
		if err != nil || st == nil {
			t.Fatalf("server type %s: %v", w.typ, err)
		}
		for _, p := range st.Pricings {
			if p.Location.Name == w.location && (p.Monthly.Net != w.monthlyNet || p.Hourly.Net != w.hourlyNet) {
				t.Errorf("server type %s prices in %s differ from /pricing: %+v", w.typ, w.location, p)
			}
		}
	}
	var ipv4 *hcloud.PrimaryIPPricing
	for i := range pricing.PrimaryIPs {
		if pricing.PrimaryIPs[i].Type == "ipv4" {
			ipv4 = &pricing.PrimaryIPs[i]
		}
	}
	if ipv4 == nil {
		t.Fatal("/pricing has no primary IPv4 price")
	}
	for _, p := range ipv4.Pricings {
		if p.Location == "hel1" && (p.Monthly.Net != "0.5000000000" || p.Hourly.Net != "0.0008000000") {
			t.Errorf("primary IPv4 in hel1: %+v, want 0.50 monthly and 0.0008 hourly", p)
		}
	}
}
