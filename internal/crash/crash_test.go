package crash

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestRecover(t *testing.T) {
	t.Parallel()
	const secret = "glrt-known-secret-value"
	for _, tc := range []struct {
		name  string
		panic func()
		want  string
	}{
		{"runtime error", func() {
			var m map[string]int
			m[secret]++
		}, "internal error: assignment to entry in nil map at "},
		{"string", func() { panic("token " + secret) },
			"internal error: a panic of type string (its message is withheld: it may hold data fleetctl read) at "},
		{"error", func() { panic(errors.New("token " + secret)) },
			"internal error: a panic of type *errors.errorString (its message is withheld: it may hold data fleetctl read) at "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// In a goroutine of its own, as fleetctl's concurrent reads
			// and changes run: the panic must not end the process.
			var err error
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer Recover(&err)
				tc.panic()
			}()
			wg.Wait()
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *crash.Error", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.want) || !strings.Contains(msg, "crash_test.go:") {
				t.Errorf("message %q, want it to start with %q and name the panic's line", msg, tc.want)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("message %q holds the panic's data", msg)
			}
		})
	}
}

func TestRecoverWithoutPanicLeavesErr(t *testing.T) {
	t.Parallel()
	want := errors.New("plain")
	err := func() (err error) {
		defer Recover(&err)
		return want
	}()
	if err != want {
		t.Errorf("err = %v, want %v", err, want)
	}
}
