package proxy

import (
	"errors"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		field string
	}{
		{"bad address", Options{Addr: "8080"}, "Options.Addr"},
		{"bad rate", Options{ErrorRate: ErrorRate{MaxRate: 1.5}}, "Options.ErrorRate.MaxRate"},
		{"rule window above ring", Options{ErrorWindow: 10, ErrorRate: ErrorRate{Window: 20, MinRequests: 5}}, "Options.ErrorRate.Window"},
		{"timeout not below interval", Options{Defaults: ServiceConfig{HealthCheck: HealthCheck{Interval: time.Second, Timeout: time.Second}}}, "Options.Defaults.HealthCheck.Timeout"},
		{"bad header name", Options{Defaults: ServiceConfig{HeaderRule: HeaderRule{Name: "X Canary", Value: "1"}}}, "Options.Defaults.HeaderRule.Name"},
		{"bad cookie", Options{Defaults: ServiceConfig{Sticky: Sticky{Cookie: "a;b"}}}, "Options.Defaults.Sticky.Cookie"},
		{"hosts in defaults", Options{Defaults: ServiceConfig{Hosts: []string{"x.example.com"}}}, "Options.Defaults.Hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Errorf("New = %v, want an error naming %s", err, tt.field)
			}
		})
	}
	// A short interval alone gets a timeout that fits.
	p, err := New(Options{Defaults: ServiceConfig{HealthCheck: HealthCheck{Path: "/", Interval: time.Second}}})
	if err != nil {
		t.Fatalf("interval without timeout: %v", err)
	}
	p.Close()
}
