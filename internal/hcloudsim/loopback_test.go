package hcloudsim

import (
	"net"
	"strconv"
	"testing"
)

func TestNextFreeLoopback(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	taken, err := net.Listen("tcp", net.JoinHostPort("127.0.3.2", strconv.Itoa(port)))
	if err != nil {
		t.Skip("cannot listen on 127.0.3.2:", err)
	}
	defer taken.Close()
	got, err := nextFreeLoopback("127.0.3.1", port, map[string]bool{"127.0.3.1": true})
	if err != nil || got != "127.0.3.3" {
		t.Errorf("got %q, %v; want 127.0.3.3 (127.0.3.1 used, 127.0.3.2 taken)", got, err)
	}
	if _, err := nextFreeLoopback("10.0.0.1", port, nil); err == nil {
		t.Errorf("a non-loopback first address was accepted")
	}
}
