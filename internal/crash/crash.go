// Package crash turns a panic into an error, so that a bug in fleetctl
// exits 1 like any error, never with the 2 the Go runtime uses for an
// unrecovered panic (which plan --detailed-exitcode means as "changes").
// A panic in a goroutine kills the process whatever its caller recovers,
// so every goroutine fleetctl starts on a command's behalf recovers its
// own.
package crash

import (
	"fmt"
	"runtime"
	"strings"
)

// Error is a recovered panic.
type Error struct {
	// Value is what was passed to panic.
	Value any
	// At names the function and line that panicked.
	At string
}

// Error says where fleetctl failed. The panic's own message is shown only
// for the Go runtime's errors (index out of range, nil dereference...),
// which hold no data; any other panic value may hold something read from
// fleet.yaml, the environment or the manager, a secret among them, so only
// its type is named.
func (e *Error) Error() string {
	what := fmt.Sprintf("a panic of type %T (its message is withheld: it may hold data fleetctl read)", e.Value)
	if re, ok := e.Value.(runtime.Error); ok {
		what = re.Error()
	}
	msg := "internal error: " + what
	if e.At != "" {
		msg += " at " + e.At
	}
	return msg + "; this is a bug in fleetctl: please report it with the command you ran"
}

// Recover turns a panic of the goroutine it is deferred in into an *Error
// in *err. It must be deferred directly: defer crash.Recover(&err).
func Recover(err *error) {
	if v := recover(); v != nil {
		*err = &Error{Value: v, At: panicSite()}
	}
}

// panicSite names the function and line that panicked: the first frame
// below the runtime's panic machinery and Recover.
func panicSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if f.Function != "" && !strings.HasPrefix(f.Function, "runtime.") && !strings.HasSuffix(f.Function, "/internal/crash.Recover") {
			file := f.File
			if i := strings.LastIndex(file, "/"); i >= 0 {
				if j := strings.LastIndex(file[:i], "/"); j >= 0 {
					file = file[j+1:]
				}
			}
			return fmt.Sprintf("%s (%s:%d)", f.Function, file, f.Line)
		}
		if !more {
			return ""
		}
	}
}
