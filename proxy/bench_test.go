package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/bluegreen-go/bluegreen"
)

// The two benchmarks measure the same load through this proxy and through
// the reference of the issue: a plain httputil.ReverseProxy behind an atomic
// pointer (with the same idle-connection allowance, for fairness). Compare:
//
//	go test -run XXX -bench 'Proxy$' -benchmem ./proxy

// benchUpstream answers every request with a small body.
func benchUpstream(b *testing.B) *httptest.Server {
	body := []byte(`{"version":"v1","ok":true}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchLoad sends GET url from parallel clients over keep-alive connections.
func benchLoad(b *testing.B, url string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}

func BenchmarkProxy(b *testing.B) {
	blue, green := benchUpstream(b), benchUpstream(b)
	p := startProxy(b, Options{})
	mustSetup(b, p, []string{blue.Listener.Addr().String()}, []string{green.Listener.Addr().String()},
		bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 100)})
	benchLoad(b, "http://"+p.Addr()+"/")
}

func BenchmarkPlainReverseProxy(b *testing.B) {
	up := benchUpstream(b)
	u, _ := url.Parse(up.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	rp.Transport = tr
	var cur atomic.Pointer[httputil.ReverseProxy]
	cur.Store(rp)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur.Load().ServeHTTP(w, r)
	}))
	b.Cleanup(front.Close)
	benchLoad(b, front.URL+"/")
}
