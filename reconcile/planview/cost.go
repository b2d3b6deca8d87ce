package planview

import (
	"fmt"
	"math"
	"strings"

	"github.com/fleetctl/fleetctl/reconcile"
)

// CostLine is the plan's cost in one line, net of VAT:
// "Cost: €5.49/month → €9.49/month (+€4.00); instances €18.98–€47.45/month, excl. 19.00 % VAT".
// With a price missing it says which instead of a sum.
func CostLine(c *reconcile.Cost) string {
	switch {
	case c == nil:
		return ""
	case c.Unavailable != "":
		return "Cost: unknown: " + c.Unavailable
	case !c.Complete():
		return "Cost: unknown: " + strings.Join(c.Missing, "; ")
	}
	sym := currencySymbol(c.Currency)
	var b strings.Builder
	fmt.Fprintf(&b, "Cost: %s/month", money(sym, c.Before.Net))
	if math.Abs(c.Delta.Net) >= 0.005 {
		sign := "+"
		if c.Delta.Net < 0 {
			sign = "-"
		}
		fmt.Fprintf(&b, " → %s/month (%s%s)", money(sym, c.After.Net), sign, money(sym, math.Abs(c.Delta.Net)))
	} else {
		b.WriteString(" (unchanged)")
	}
	if c.Unbounded {
		fmt.Fprintf(&b, "; instances %s/month and up (a runner has no max_instances)", money(sym, c.InstancesMin.Net))
	} else {
		fmt.Fprintf(&b, "; instances %s–%s/month", money(sym, c.InstancesMin.Net), money(sym, c.InstancesMax.Net))
	}
	if c.VATRate != "" {
		fmt.Fprintf(&b, ", excl. %s %% VAT", c.VATRate)
	}
	return b.String()
}

func currencySymbol(code string) string {
	if code == "EUR" || code == "" {
		return "€"
	}
	return code + " "
}

// money formats an amount to the cent, e.g. €4.99.
func money(sym string, v float64) string {
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0 // no "-0.00"
	}
	return fmt.Sprintf("%s%.2f", sym, v)
}
