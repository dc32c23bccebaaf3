package proxy

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy/internal/check"
)

// The JSON forms of ServiceConfig, used by the admin API and the state file,
// spell durations as Go duration strings ("30s", "1m30s").

type serviceConfigJSON struct {
	Hosts               []string         `json:"hosts,omitempty"`
	HealthCheck         *healthCheckJSON `json:"healthCheck,omitempty"`
	DeregistrationDelay string           `json:"deregistrationDelay,omitempty"`
	HeaderRule          *HeaderRule      `json:"headerRule,omitempty"`
	Sticky              *stickyJSON      `json:"sticky,omitempty"`
	Off                 *DefaultsOff     `json:"off,omitempty"`
}

type healthCheckJSON struct {
	Path               string `json:"path,omitempty"`
	Interval           string `json:"interval,omitempty"`
	Timeout            string `json:"timeout,omitempty"`
	HealthyThreshold   int    `json:"healthyThreshold,omitempty"`
	UnhealthyThreshold int    `json:"unhealthyThreshold,omitempty"`
	Cooldown           string `json:"cooldown,omitempty"`
}

type stickyJSON struct {
	Cookie string `json:"cookie"`
	TTL    string `json:"ttl,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON encodes c with durations as strings such as "30s".
func (c ServiceConfig) MarshalJSON() ([]byte, error) {
	w := serviceConfigJSON{Hosts: c.Hosts, DeregistrationDelay: durString(c.DeregistrationDelay)}
	if h := c.HealthCheck; h != (HealthCheck{}) {
		w.HealthCheck = &healthCheckJSON{
			Path: h.Path, Interval: durString(h.Interval), Timeout: durString(h.Timeout),
			HealthyThreshold: h.HealthyThreshold, UnhealthyThreshold: h.UnhealthyThreshold, Cooldown: durString(h.Cooldown),
		}
	}
	if c.HeaderRule != (HeaderRule{}) {
		r := c.HeaderRule
		w.HeaderRule = &r
	}
	if c.Sticky != (Sticky{}) {
		w.Sticky = &stickyJSON{Cookie: c.Sticky.Cookie, TTL: durString(c.Sticky.TTL)}
	}
	if c.Off != (DefaultsOff{}) {
		off := c.Off
		w.Off = &off
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields and
// malformed durations are errors naming the field.
func (c *ServiceConfig) UnmarshalJSON(b []byte) error {
	var w serviceConfigJSON
	if err := decodeStrict(b, &w); err != nil {
		return err
	}
	var out ServiceConfig
	var err error
	out.Hosts = w.Hosts
	if out.DeregistrationDelay, err = parseDur("deregistrationDelay", w.DeregistrationDelay); err != nil {
		return err
	}
	if h := w.HealthCheck; h != nil {
		out.HealthCheck = HealthCheck{Path: h.Path, HealthyThreshold: h.HealthyThreshold, UnhealthyThreshold: h.UnhealthyThreshold}
		for _, d := range []struct {
			name string
			s    string
			dst  *time.Duration
		}{
			{"healthCheck.interval", h.Interval, &out.HealthCheck.Interval},
			{"healthCheck.timeout", h.Timeout, &out.HealthCheck.Timeout},
			{"healthCheck.cooldown", h.Cooldown, &out.HealthCheck.Cooldown},
		} {
			if *d.dst, err = parseDur(d.name, d.s); err != nil {
				return err
			}
		}
	}
	if w.HeaderRule != nil {
		out.HeaderRule = *w.HeaderRule
	}
	if s := w.Sticky; s != nil {
		out.Sticky.Cookie = s.Cookie
		if out.Sticky.TTL, err = parseDur("sticky.ttl", s.TTL); err != nil {
			return err
		}
	}
	if w.Off != nil {
		out.Off = *w.Off
	}
	*c = out
	return nil
}

func parseDur(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fieldError(field, fmt.Sprintf("%q is not a positive duration", s), `use a duration such as "30s" or "1m30s"`)
	}
	return d, nil
}

// decodeStrict decodes exactly one JSON value (see check.StrictJSON).
func decodeStrict(b []byte, v any) error { return check.StrictJSON(b, v) }
