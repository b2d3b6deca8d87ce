package reconcile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDigestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	rec := digestRecord{SHA256: strings.Repeat("ab", 32), Path: "/usr/local/bin/fleetctl", Size: 22020096, MTime: 1764180000}
	raw := rec.marshal()
	// The first line is sha256sum's format, so that `sha256sum -c` checks
	// the binary on the manager.
	if want := strings.Repeat("ab", 32) + "  /usr/local/bin/fleetctl\n"; !strings.HasPrefix(string(raw), want) {
		t.Errorf("record %q does not start with %q", raw, want)
	}
	got, err := parseDigestRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rec, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestParseDigestRecordRejects(t *testing.T) {
	t.Parallel()
	sum := strings.Repeat("0f", 32)
	tests := []struct {
		name string
		raw  string
	}{
		{name: "empty", raw: ""},
		{name: "pending", raw: pendingDigestRecord},
		{name: "digest line only", raw: sum + "  /usr/local/bin/fleetctl\n"},
		{name: "short digest", raw: "0f0f  /usr/local/bin/fleetctl\n# size=1 mtime=2\n"},
		{name: "digest not hex", raw: strings.Repeat("zz", 32) + "  /usr/local/bin/fleetctl\n# size=1 mtime=2\n"},
		{name: "relative path", raw: sum + "  fleetctl\n# size=1 mtime=2\n"},
		{name: "no mtime", raw: sum + "  /usr/local/bin/fleetctl\n# size=1\n"},
		{name: "size not a number", raw: sum + "  /usr/local/bin/fleetctl\n# size=big mtime=2\n"},
		{name: "extra line", raw: sum + "  /usr/local/bin/fleetctl\n# size=1 mtime=2\nmore\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if rec, err := parseDigestRecord([]byte(tt.raw)); err == nil {
				t.Errorf("parseDigestRecord(%q) = %+v, want an error", tt.raw, rec)
			}
		})
	}
}
