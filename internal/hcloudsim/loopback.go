package hcloudsim

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// nextFreeLoopback returns the first address from first on in 127.0.0.0/8,
// not in used, where port can be listened on (another simulator may hold it).
func nextFreeLoopback(first string, port int, used map[string]bool) (string, error) {
	start, err := netip.ParseAddr(first)
	if err != nil || !start.Is4() || !start.IsLoopback() {
		return "", fmt.Errorf("first loopback address %q is not in 127.0.0.0/8", first)
	}
	for a := start; a.IsLoopback() && a.Is4(); a = a.Next() {
		b := a.As4()
		if b[3] == 0 || b[3] == 255 || used[a.String()] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(a.String(), strconv.Itoa(port)))
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			// Not a taken address (e.g. no permission for port 22): every
			// other address would fail alike.
			return "", fmt.Errorf("listen on %s port %d: %w", a, port, err)
		}
		l.Close()
		return a.String(), nil
	}
	return "", fmt.Errorf("no free loopback address with port %d", port)
}
