package planview

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func nested(depth int) any {
	var v any = "leaf"
	for i := range depth {
		if i%2 == 0 {
			v = []any{v}
		} else {
			v = map[string]any{"k": v}
		}
	}
	return v
}

// TestFormatValueBounded renders live values as a hostile manager's
// fleet.yaml copy could hold them: nested 2,000 and 9,000 deep (which took
// 39 s and 10 minutes before), and very wide. Each prints at once, within
// maxRenderBytes, saying what it left out.
func TestFormatValueBounded(t *testing.T) {
	t.Parallel()
	wide := make([]any, 100000)
	for i := range wide {
		wide[i] = strings.Repeat("x", 40)
	}
	for _, tc := range []struct {
		name   string
		value  any
		marker string
	}{
		{"2000 deep", nested(2000), "(too deep to show)"},
		{"9000 deep", nested(9000), "(too deep to show)"},
		{"100000 items", wide, "... (truncated)"},
		{"one huge string", strings.Repeat("y", 1<<20), "... (truncated)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			got := formatValue(tc.value, 6)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			t.Logf("%d bytes in %v, %d KiB allocated", len(got), took, (after.TotalAlloc-before.TotalAlloc)>>10)
			if !strings.Contains(got, tc.marker) {
				t.Errorf("output does not say %q: %.200s", tc.marker, got)
			}
			if len(got) > maxRenderBytes+len(" ... (truncated)") {
				t.Errorf("output is %d bytes, over %d", len(got), maxRenderBytes)
			}
			if len(got) < maxRenderBytes/2 && tc.marker == "... (truncated)" {
				t.Errorf("only %d bytes shown of a large value: show as much as fits", len(got))
			}
		})
	}
	if got := formatValue(nested(6), 0); strings.Contains(got, "too deep") || !strings.Contains(got, `"leaf"`) {
		t.Errorf("a shallow value was cut: %s", got)
	}
}

func BenchmarkFormatValueDeep(b *testing.B) {
	v := nested(9000)
	for b.Loop() {
		formatValue(v, 6)
	}
}
