package main

import (
	"fmt"
	"runtime"
	"strings"
)

// internalError is a panic recovered in run. A panic is a bug in fleetctl,
// never a plan's "changes": it exits 1, as every error does, and not with
// the 2 the Go runtime would use, which --detailed-exitcode reads as drift.
type internalError struct {
	value any
	at    string
}

// Error says where fleetctl failed. The panic's own message is shown only
// for the Go runtime's errors (index out of range, nil dereference...),
// which hold no data; any other panic value may hold something read from
// fleet.yaml, the environment or the manager, a secret among them, so only
// its type is named.
func (e *internalError) Error() string {
	what := fmt.Sprintf("a panic of type %T (its message is withheld: it may hold data fleetctl read)", e.value)
	if re, ok := e.value.(runtime.Error); ok {
		what = re.Error()
	}
	msg := "internal error: " + what
	if e.at != "" {
		msg += " at " + e.at
	}
	return msg + "; this is a bug in fleetctl: please report it with the command you ran"
}

// recoverPanic turns a panic of the goroutine it is deferred in into
// *internalError in err.
func recoverPanic(err *error) {
	if v := recover(); v != nil {
		*err = &internalError{value: v, at: panicSite()}
	}
}

// panicSite names the function and line that panicked: the first frame
// below the runtime's panic machinery, outside this file.
func panicSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") && !strings.HasSuffix(f.Function, ".recoverPanic") && f.Function != "" {
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
