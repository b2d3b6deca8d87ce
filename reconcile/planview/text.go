package planview

import (
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fleetctl/fleetctl/reconcile"
)

// TextOptions tune the human view.
type TextOptions struct {
	// Color adds ANSI colours; the CLI sets it only on a terminal and
	// never with NO_COLOR.
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

type printer struct {
	w     io.Writer
	color bool
	err   error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) paint(code, s string) string {
	if !p.color || code == "" {
		return s
	}
	return code + s + ansiReset
}

func symbolColor(sym string) string {
	switch sym {
	case "+":
		return ansiGreen
	case "~":
		return ansiYellow
	case "-":
		return ansiRed
	case "-/+", "+/-":
		return ansiYellow
	}
	return ""
}

func symbolOf(a reconcile.Action) string {
	switch a {
	case reconcile.Create:
		return "+"
	case reconcile.Update:
		return "~"
	case reconcile.Delete:
		return "-"
	case reconcile.DeleteThenCreate:
		return "-/+"
	case reconcile.CreateThenDelete:
		return "+/-"
	}
	return " "
}

var legend = []struct {
	action reconcile.Action
	text   string
}{
	{reconcile.Create, "create"},
	{reconcile.Update, "update in-place"},
	{reconcile.Delete, "destroy"},
	{reconcile.DeleteThenCreate, "destroy and then create replacement"},
	{reconcile.CreateThenDelete, "create replacement and then destroy"},
}

// Text writes the plan as people read Terraform's: a legend of the symbols
// used, one block per changed resource with its attribute changes and the
// reason for each replace, what could not be compared, the plugin's
// instances, and a summary line.
// A destroy plan reads the same, with its own first line and no-change
// line; its autoscaled instances are changes of their own.
func Text(w io.Writer, plan *reconcile.Plan, opts TextOptions) error {
	p := &printer{w: w, color: opts.Color}
	used := map[reconcile.Action]bool{}
	for _, ch := range plan.Changes {
		used[ch.Action] = true
	}
	destroy := plan.Mode == reconcile.ModeDestroy
	if plan.HasChanges() {
		if destroy {
			p.printf("fleetctl listed every resource of fleet %q to destroy it.\n", plan.Fleet)
		} else {
			p.printf("fleetctl compared fleet.yaml with the live state of fleet %q.\n", plan.Fleet)
		}
		p.printf("Resource actions are indicated with the following symbols:\n")
		for _, l := range legend {
			if used[l.action] {
				sym := symbolOf(l.action)
				p.printf("%s %s\n", p.paint(symbolColor(sym), fmt.Sprintf("%3s", sym)), l.text)
			}
		}
		p.printf("\nfleetctl will perform the following actions:\n")
		for _, ch := range plan.Changes {
			if ch.Action != reconcile.NoOp {
				p.printf("\n")
				writeChange(p, ch)
			}
		}
	}
	if len(plan.NotCompared) > 0 {
		p.printf("\nNot compared (these may differ; apply needs what is missing):\n")
		for _, n := range plan.NotCompared {
			p.printf("  %s\n", n.String())
		}
	}
	if len(plan.Instances) > 0 {
		p.printf("\nAutoscaled instances (the plugin's; apply never changes them):\n")
		nw, sw := 0, 0
		for _, in := range plan.Instances {
			nw, sw = max(nw, len(in.Name)), max(sw, len(in.Status))
		}
		for _, in := range plan.Instances {
			p.printf("  %-*s  %-*s  %s  [id=%d]\n", nw, in.Name, sw, in.Status, in.ServerType, in.ID)
		}
	}
	for _, e := range plan.Errors {
		p.printf("\n%s %s\n", p.paint(ansiRed+ansiBold, "Error:"), e)
	}
	p.printf("\n")
	n := len(plan.NotCompared)
	switch {
	case plan.HasChanges():
		c := plan.Counts()
		p.printf("%s %d to add, %d to change, %d to destroy.\n", p.paint(ansiBold, "Plan:"), c.Add, c.Change, c.Destroy)
		if n > 0 {
			p.printf("%s\n", p.paint(ansiYellow, notComparedSummary(n)))
		}
	case n > 0:
		// Never "matches the configuration": what was not compared may
		// differ.
		p.printf("%s %s\n", p.paint(ansiYellow+ansiBold, "No changes to what could be compared;"), notComparedSummary(n))
	case destroy:
		p.printf("%s No objects need to be destroyed.\n", p.paint(ansiGreen+ansiBold, "No changes."))
	default:
		p.printf("%s Your infrastructure matches the configuration.\n", p.paint(ansiGreen+ansiBold, "No changes."))
	}
	if line := CostLine(plan.Cost); line != "" {
		p.printf("%s\n", line)
	}
	return p.err
}

func notComparedSummary(n int) string {
	if n == 1 {
		return "1 item was not compared (see above)."
	}
	return fmt.Sprintf("%d items were not compared (see above).", n)
}

func headline(ch reconcile.Change) string {
	switch ch.Action {
	case reconcile.Create:
		return "will be created"
	case reconcile.Update:
		return "will be updated in-place"
	case reconcile.Delete:
		return "will be destroyed"
	case reconcile.DeleteThenCreate, reconcile.CreateThenDelete:
		return "must be replaced"
	}
	return "is unchanged"
}

func writeChange(p *printer, ch reconcile.Change) {
	sym := symbolOf(ch.Action)
	p.printf("  %s\n", p.paint(ansiBold, "# "+string(ch.Addr)+" "+headline(ch)))
	if ch.Reason != "" {
		p.printf("  # (%s)\n", ch.Reason)
	}
	if ch.Action == reconcile.CreateThenDelete && ch.TemporaryName != "" && ch.Deposed != nil {
		p.printf("  # (created as %q, renamed once %s [id=%d] is destroyed)\n", ch.TemporaryName, ch.Deposed.Name, ch.Deposed.ID)
	}
	p.printf("%s %s {\n", p.paint(symbolColor(sym), fmt.Sprintf("%3s", sym)), ch.Addr)
	if ch.ID != 0 {
		p.printf("        %s = %d\n", "id", ch.ID)
	}
	keys := unionKeys(ch.Before, ch.After)
	width := 0
	for _, k := range keys {
		before, inBefore := ch.Before[k]
		after, inAfter := ch.After[k]
		if inBefore && inAfter && reflect.DeepEqual(before, after) && !contains(ch.SensitiveChanges, k) &&
			ch.Action != reconcile.Create && ch.Action != reconcile.Delete {
			continue // hidden: does not count for alignment
		}
		width = max(width, len(k))
	}
	hidden := 0
	for _, k := range keys {
		before, inBefore := ch.Before[k]
		after, inAfter := ch.After[k]
		forces := contains(ch.ForcesReplacement, k)
		suffix := ""
		if forces {
			suffix = p.paint(ansiRed, " # forces replacement")
		}
		name := fmt.Sprintf("%-*s", width, k)
		switch {
		case ch.Action == reconcile.Create || (!inBefore && inAfter):
			p.printf("      %s %s = %s%s\n", p.paint(ansiGreen, "+"), name, formatValue(after, 6), suffix)
		case ch.Action == reconcile.Delete || (inBefore && !inAfter):
			p.printf("      %s %s = %s%s\n", p.paint(ansiRed, "-"), name, formatValue(before, 6), suffix)
		case contains(ch.SensitiveChanges, k):
			p.printf("      %s %s = (sensitive value)%s\n", p.paint(ansiYellow, "~"), name, suffix)
		case reflect.DeepEqual(before, after):
			hidden++
		default:
			writeValueChange(p, name, before, after, suffix)
		}
	}
	if hidden > 0 {
		p.printf("        # (%d unchanged attribute%s hidden)\n", hidden, plural(hidden))
	}
	p.printf("    }\n")
}

// writeValueChange shows a changed attribute: lists and maps element by
// element, scalars as before -> after.
func writeValueChange(p *printer, name string, before, after any, suffix string) {
	bl, bIsList := before.([]any)
	al, aIsList := after.([]any)
	if bIsList && aIsList {
		p.printf("      %s %s = [%s\n", p.paint(ansiYellow, "~"), name, suffix)
		same := 0
		for _, e := range al {
			if !containsValue(bl, e) {
				p.printf("          %s %s,\n", p.paint(ansiGreen, "+"), formatValue(e, 10))
			} else {
				same++
			}
		}
		for _, e := range bl {
			if !containsValue(al, e) {
				p.printf("          %s %s,\n", p.paint(ansiRed, "-"), formatValue(e, 10))
			}
		}
		if same > 0 {
			p.printf("            # (%d unchanged element%s hidden)\n", same, plural(same))
		}
		p.printf("        ]\n")
		return
	}
	bm, bIsMap := before.(map[string]any)
	am, aIsMap := after.(map[string]any)
	if bIsMap && aIsMap {
		p.printf("      %s %s = {%s\n", p.paint(ansiYellow, "~"), name, suffix)
		same := 0
		for _, k := range unionKeys(bm, am) {
			bv, inB := bm[k]
			av, inA := am[k]
			switch {
			case !inB:
				p.printf("          %s %q = %s\n", p.paint(ansiGreen, "+"), k, formatValue(av, 10))
			case !inA:
				p.printf("          %s %q = %s\n", p.paint(ansiRed, "-"), k, formatValue(bv, 10))
			case !reflect.DeepEqual(bv, av):
				p.printf("          %s %q = %s -> %s\n", p.paint(ansiYellow, "~"), k, formatValue(bv, 10), formatValue(av, 10))
			default:
				same++
			}
		}
		if same > 0 {
			p.printf("            # (%d unchanged element%s hidden)\n", same, plural(same))
		}
		p.printf("        }\n")
		return
	}
	p.printf("      %s %s = %s -> %s%s\n", p.paint(ansiYellow, "~"), name, formatValue(before, 6), formatValue(after, 6), suffix)
}

// formatValue writes a value as HCL would: quoted strings, bare numbers and
// bools, lists and maps over several lines.
// Bounds of one rendered value: a live value read from the manager can be
// nested thousands deep or be very large, and the plan must still print at
// once and stay readable.
const (
	maxRenderDepth = 16
	maxRenderBytes = 16 << 10
)

// formatValue renders v as HCL-like text, indented for its place in the
// plan. Lists and maps nested past maxRenderDepth print as "(too deep to
// show)" and output past maxRenderBytes ends in "... (truncated)".
func formatValue(v any, indent int) string {
	w := valueWriter{}
	w.value(v, indent, 0)
	return w.b.String()
}

// valueWriter writes one value into a single buffer, so that the cost is
// linear in what is printed, and stops at maxRenderBytes.
type valueWriter struct {
	b    strings.Builder
	full bool
}

func (w *valueWriter) write(s string) {
	if w.full {
		return
	}
	if w.b.Len()+len(s) > maxRenderBytes {
		// As much as fits, cut at a character boundary.
		cut := maxRenderBytes - w.b.Len()
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		w.b.WriteString(s[:cut])
		w.b.WriteString(" ... (truncated)")
		w.full = true
		return
	}
	w.b.WriteString(s)
}

func (w *valueWriter) value(v any, indent, depth int) {
	if w.full {
		return
	}
	switch t := v.(type) {
	case nil:
		w.write("null")
	case string:
		if t == reconcile.Sensitive || t == "(known after apply)" || strings.HasPrefix(t, "(") && strings.HasSuffix(t, ")") {
			w.write(t)
			return
		}
		w.write(strconv.Quote(t))
	case bool:
		w.write(strconv.FormatBool(t))
	case float64:
		if t == float64(int64(t)) {
			w.write(strconv.FormatInt(int64(t), 10))
			return
		}
		w.write(strconv.FormatFloat(t, 'g', -1, 64))
	case []any:
		if len(t) == 0 {
			w.write("[]")
			return
		}
		if depth >= maxRenderDepth {
			w.write("(too deep to show)")
			return
		}
		pad := strings.Repeat(" ", indent)
		w.write("[\n")
		for _, e := range t {
			if w.full {
				return
			}
			w.write(pad + "    ")
			w.value(e, indent+4, depth+1)
			w.write(",\n")
		}
		w.write(pad + "]")
	case map[string]any:
		if len(t) == 0 {
			w.write("{}")
			return
		}
		if depth >= maxRenderDepth {
			w.write("(too deep to show)")
			return
		}
		pad := strings.Repeat(" ", indent)
		w.write("{\n")
		for _, k := range sortedKeys(t) {
			if w.full {
				return
			}
			w.write(pad + "    " + strconv.Quote(k) + " = ")
			w.value(t[k], indent+4, depth+1)
			w.write("\n")
		}
		w.write(pad + "}")
	default:
		w.write(fmt.Sprint(v))
	}
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var out []string
	for k := range a {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for k := range b {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i], out[j]) })
	return out
}

// keyLess sorts attribute names, with numeric indexes in number order
// (runners[2] before runners[10]).
func keyLess(a, b string) bool {
	return padIndexes(a) < padIndexes(b)
}

func padIndexes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '[' {
			if j := strings.IndexByte(s[i:], ']'); j > 0 {
				fmt.Fprintf(&b, "[%08s]", s[i+1:i+j])
				i += j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func containsValue(list []any, v any) bool {
	for _, e := range list {
		if reflect.DeepEqual(e, v) {
			return true
		}
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
