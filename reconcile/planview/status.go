package planview

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/fleetctl/fleetctl/reconcile"
)

// StatusFormatVersion is the version of the JSON status format.
const StatusFormatVersion = "1.0"

// StatusJSON writes the status as indented JSON with a format_version.
func StatusJSON(w io.Writer, st *reconcile.Status) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		FormatVersion string `json:"format_version"`
		*reconcile.Status
	}{StatusFormatVersion, st})
}

// StatusText writes the status for a person on a terminal: one screen.
func StatusText(w io.Writer, st *reconcile.Status, opts TextOptions) error {
	p := &printer{w: w, color: opts.Color}
	p.printf("%s %s, %s\n", p.paint(ansiBold, "Fleet"), st.Fleet, st.At.Format("2006-01-02 15:04 MST"))

	p.printf("\n%s\n", p.paint(ansiBold, "Manager"))
	if m := st.Manager; m == nil {
		p.printf("  %s\n", p.paint(ansiYellow, "no manager server: run fleetctl apply"))
	} else {
		p.printf("  server       %s  %s in %s  [id=%d]\n", m.Name, m.ServerType, m.Location, m.ID)
		p.printf("  address      %s\n", orDash(m.IPv4))
		p.printf("  status       %s, up %s\n", p.paint(stateColor(m.Status == "running"), m.Status), age(st.At, m.Created))
		p.printf("  host key     %s\n", p.paint(hostKeyColor(m.HostKey), m.HostKey))
		if m.Changes > 0 {
			p.printf("  fleet.yaml   %s\n", p.paint(ansiYellow, fmt.Sprintf("%d pending change(s): see fleetctl plan", m.Changes)))
		}
	}
	if svc := st.Service; svc != nil {
		p.printf("\n%s\n", p.paint(ansiBold, "gitlab-runner"))
		state := svc.State
		if !svc.Since.IsZero() {
			state += ", since " + svc.Since.Format("2006-01-02 15:04 MST") + " (" + age(st.At, svc.Since) + ")"
		}
		p.printf("  service      %s\n", p.paint(stateColor(svc.State == "active"), state))
		p.printf("  version      %s\n", orDash(svc.Version))
		cfg := svc.ConfigTOML
		if !svc.ConfigWritten.IsZero() {
			cfg += ", written " + svc.ConfigWritten.Format("2006-01-02 15:04 MST")
		}
		p.printf("  config.toml  %s\n", p.paint(stateColor(svc.ConfigTOML == "in sync"), cfg))
	}
	for _, r := range st.Runners {
		p.printf("\n%s %s\n", p.paint(ansiBold, "Runner"), r.Name)
		counts := fmt.Sprintf("%d running, %d creating, %d off, %d deleting", r.Instances["running"], r.Instances["creating"], r.Instances["off"], r.Instances["deleting"])
		if n := r.Instances["other"]; n > 0 {
			counts += fmt.Sprintf(", %d other", n)
		}
		limit := "no max_instances"
		if r.MaxInstances > 0 {
			limit = fmt.Sprintf("max %d", r.MaxInstances)
		}
		p.printf("  instances    %d (%s) of %s\n", r.Total, counts, limit)
		if r.Total > 0 && !r.Oldest.IsZero() {
			p.printf("  oldest       %s\n", age(st.At, r.Oldest))
		}
		p.printf("  idle floor   %d instance(s) now: %s\n", r.IdleFloor, r.Policy.String())
		if r.Jobs != nil {
			p.printf("  jobs         %d running\n", *r.Jobs)
		} else {
			p.printf("  jobs         unknown: %s\n", r.JobsUnknown)
		}
	}
	if c := st.Cost; c != nil {
		p.printf("\n%s\n", p.paint(ansiBold, "Cost"))
		switch {
		case c.Unavailable != "":
			p.printf("  unknown: %s\n", c.Unavailable)
		default:
			sym := currencySymbol(c.Currency)
			p.printf("  now          %s/hour, %s/month at that rate", moneyHourly(sym, c.Hourly.Net), money(sym, c.Monthly.Net))
			if c.VATRate != "" {
				p.printf(" (excl. %s %% VAT; %s/month gross)", c.VATRate, money(sym, c.Monthly.Gross))
			}
			p.printf("\n")
			for _, m := range c.Missing {
				p.printf("  %s\n", p.paint(ansiYellow, "not counted: "+m))
			}
		}
	}
	if len(st.NotSeen) > 0 {
		p.printf("\n%s\n", p.paint(ansiYellow, "Not seen:"))
		for _, n := range st.NotSeen {
			p.printf("  %s: %s\n", n.Subject, n.Message)
		}
	}
	return p.err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stateColor(good bool) string {
	if good {
		return ansiGreen
	}
	return ansiYellow
}

func hostKeyColor(s string) string {
	switch s {
	case "matches":
		return ansiGreen
	case "MISMATCH":
		return ansiRed + ansiBold
	}
	return ansiYellow
}

// moneyHourly formats an hourly amount to a hundredth of a cent.
func moneyHourly(sym string, v float64) string { return fmt.Sprintf("%s%.4f", sym, v) }

// age says how long ago t was, coarsely: 45s, 12m, 5h12m, 3d4h.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		if m := int(d.Minutes()) % 60; m > 0 {
			return fmt.Sprintf("%dh%dm", int(d.Hours()), m)
		}
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}
