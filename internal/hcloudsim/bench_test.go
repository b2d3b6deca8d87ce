package hcloudsim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// populate creates n servers through the API.
func populate(b *testing.B, h http.Handler, n int) {
	b.Helper()
	for i := range n {
		body := fmt.Sprintf(`{"name":"srv-%04d","server_type":"cx23","image":"debian-12","location":"fsn1","labels":{"fleet":"bench","i":"%d"}}`, i, i)
		req := httptest.NewRequest("POST", "/v1/servers", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatalf("create server %d: %d %s", i, rec.Code, rec.Body)
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkListServers lists 1,000 servers page by page (per_page=50, as
// hcloud-go's All does) and reports requests per second and the memory the
// 1,000 servers take.
func BenchmarkListServers(b *testing.B) {
	before := heapInUse()
	sim := New(Options{})
	defer sim.Close()
	populate(b, sim, 1000)
	// Finish the create actions, as a polling client would.
	sim.mu.Lock()
	sim.advance(time.Now(), true)
	sim.mu.Unlock()
	perThousand := heapInUse() - before

	b.ResetTimer()
	start := time.Now()
	requests := 0
	for i := 0; b.Loop(); i++ {
		page := i%20 + 1
		req := httptest.NewRequest("GET", fmt.Sprintf("/v1/servers?page=%d&per_page=50&label_selector=fleet%%3Dbench", page), nil)
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("list: %d", rec.Code)
		}
		requests++
	}
	b.ReportMetric(float64(requests)/time.Since(start).Seconds(), "requests/s")
	b.ReportMetric(float64(perThousand)/(1<<20), "MiB/1000servers")
}

// BenchmarkGetServer reads one server of 1,000 by ID.
func BenchmarkGetServer(b *testing.B) {
	sim := New(Options{})
	defer sim.Close()
	populate(b, sim, 1000)
	id := firstIDs["server"] + 500
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("GET", fmt.Sprintf("/v1/servers/%d", id), nil)
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("get: %d %s", rec.Code, rec.Body)
		}
	}
}
