package proxy

import (
	"net/http"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

func TestPickWeightedIsExact(t *testing.T) {
	for _, w := range []uint64{0, 1, 5, 100, 333, 500, 901, 999, 1000} {
		for _, offset := range []uint64{0, 1, 12345} {
			var svc service
			svc.next.Store(offset)
			got := 0
			for range 1000 {
				got += svc.pickWeighted(w)
			}
			if uint64(got) != w {
				t.Errorf("weight %d from offset %d: slot B got %d of 1000 picks, want exactly %d", w, offset, got, w)
			}
		}
	}
}

func TestPickWeightedSpreadsEvenly(t *testing.T) {
	// At 10% green, every run of 10 consecutive requests holds exactly one
	// green request: no bunching that would hit green with bursts.
	var svc service
	seq := make([]int, 1000)
	for i := range seq {
		seq[i] = svc.pickWeighted(100)
	}
	for i := 0; i+10 <= len(seq); i += 10 {
		n := 0
		for _, s := range seq[i : i+10] {
			n += s
		}
		if n != 1 {
			t.Fatalf("requests %d-%d: %d to green, want 1", i, i+9, n)
		}
	}
}

func TestTableLookup(t *testing.T) {
	mk := func(name string, hosts ...string) *service {
		s := &service{name: name}
		s.config.Store(&ServiceConfig{Hosts: hosts})
		return s
	}
	services := map[string]*service{
		"api": mk("api", "api.example.com"),
		"web": mk("web", "www.example.com", "example.com"),
		"adm": mk("adm"),
	}
	tests := []struct {
		name, host, defaultService, want string
	}{
		{"exact host", "api.example.com", "", "api"},
		{"host with port", "www.example.com:8080", "", "web"},
		{"upper case", "EXAMPLE.com", "", "web"},
		{"unknown host goes to the one hostless service", "other.test", "", "adm"},
		{"default service wins", "other.test", "api", "api"},
		{"ipv6 literal", "[::1]:80", "", "adm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := buildTable(1, services, tt.defaultService)
			got := ""
			if e := tab.lookup(tt.host); e != nil {
				got = e.svc.name
			}
			if got != tt.want {
				t.Errorf("lookup(%q) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
	t.Run("two hostless services and no default", func(t *testing.T) {
		s := map[string]*service{"a": mk("a"), "b": mk("b")}
		if e := buildTable(1, s, "").lookup("x"); e != nil {
			t.Errorf("lookup picked %q; with two candidates it must pick none", e.svc.name)
		}
	})
}

func TestNewEntry(t *testing.T) {
	svc := &service{name: "web", routes: bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 250), Test: bluegreen.SlotB}}
	svc.config.Store(&ServiceConfig{HeaderRule: HeaderRule{Name: "x-canary", Value: "1"}, Sticky: Sticky{Cookie: "bg", TTL: 60e9}})
	e := newEntry(svc)
	got := struct {
		WeightB     uint64
		Test        int
		Header      string
		HeaderValue string
		SetCookie   [2]string
	}{e.weightB, e.test, e.header, e.headerValue, e.setCookie}
	want := struct {
		WeightB     uint64
		Test        int
		Header      string
		HeaderValue string
		SetCookie   [2]string
	}{250, 1, "X-Canary", "1", [2]string{
		"bg=A; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
		"bg=B; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
}

// TestFirstPickGoesToTheSlotThatGrew: after a change of weights, whatever
// the weights, the next pick goes to the slot whose share grew.
func TestFirstPickGoesToTheSlotThatGrew(t *testing.T) {
	full := uint64(bluegreen.Full)
	for newB := uint64(1); newB < full; newB++ {
		for _, oldB := range []uint64{0, newB - 1, newB + 1, full} {
			if oldB == newB {
				continue
			}
			s := &service{}
			s.next.Store(firstPick(oldB, newB))
			want := 0
			if newB > oldB {
				want = 1
			}
			if got := s.pickWeighted(newB); got != want {
				t.Fatalf("B's weight %d -> %d: first pick went to slot %d, want %d", oldB, newB, got, want)
			}
		}
	}
}

// TestNewWeightTakesTheNextRequest: through the proxy, the environment
// whose share grows takes the very next request, from a 0.1% canary to
// the blue environment coming back in a rollback.
func TestNewWeightTakesTheNextRequest(t *testing.T) {
	blue, green := newBackend(t, "blue", nil), newBackend(t, "green", nil)
	p := startProxy(t, Options{})
	c := newClient(t)
	mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	next := func() string {
		t.Helper()
		status, body := get(t, c, "http://"+p.Addr()+"/", nil)
		if status != http.StatusOK {
			t.Fatalf("status %d (%s)", status, body)
		}
		return body
	}
	steps := []struct {
		greenWeight bluegreen.Weight
		want        string
	}{
		{1, "green"}, {0, "blue"}, {10, "green"}, {250, "green"}, {500, "green"}, {250, "blue"},
		{bluegreen.Full, "green"}, {999, "blue"}, {1, "blue"}, {2, "green"},
	}
	for _, s := range steps {
		next() // another request under the previous weights first
		if err := p.SetRoutes(t.Context(), "web", bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, s.greenWeight)}); err != nil {
			t.Fatal(err)
		}
		if got := next(); got != s.want {
			t.Errorf("green at %v: the next request went to %s, want %s", s.greenWeight, got, s.want)
		}
	}
}
