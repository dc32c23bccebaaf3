// Package check holds the input checks the proxy and its admin API share:
// service names, slots, instance addresses, each failing with a
// *bluegreen.ConfigError that names the field and the fix.
package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bluegreen-go/bluegreen"
)

// FieldError reports bad input as a *bluegreen.ConfigError, so that
// errors.Is(err, bluegreen.ErrInvalid) holds and the message names the field
// and the fix.
func FieldError(field, problem, fix string) error {
	return &bluegreen.ConfigError{Field: field, Problem: problem, Fix: fix}
}

// MaxTargets is the most instances a slot may have.
const MaxTargets = 1000

// maxServiceName is the longest service name accepted, in bytes.
const maxServiceName = 200

// ServiceName rejects names that cannot be a service: empty, too long,
// not UTF-8, or holding a slash or control character (names travel in admin
// API paths and in the state file).
func ServiceName(field, name string) error {
	problem := ""
	switch {
	case name == "":
		problem = "empty"
	case len(name) > maxServiceName:
		problem = fmt.Sprintf("%d bytes long, more than %d", len(name), maxServiceName)
	case !utf8.ValidString(name):
		problem = fmt.Sprintf("%q is not valid UTF-8", name)
	case strings.ContainsAny(name, `/\`):
		problem = fmt.Sprintf("%q contains a slash", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0 || strings.IndexFunc(name, unicode.IsSpace) >= 0:
		problem = fmt.Sprintf("%q contains a space or control character", name)
	}
	if problem != "" {
		return FieldError(field, problem, `name the service with letters, digits and "-_.:", such as "web"`)
	}
	return nil
}

// Slot rejects anything but slot A or B.
func Slot(field string, s bluegreen.Slot) error {
	if !s.Valid() {
		return FieldError(field, fmt.Sprintf("unknown slot %q", s), `use "A" or "B"`)
	}
	return nil
}

// Target turns "host:port" or "http://host:port" into
// "http://host:port", rejecting anything else with an error naming field.
func Target(field, s string) (string, error) {
	raw := s
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	bad := func(problem string) (string, error) {
		return "", FieldError(field, fmt.Sprintf("%q %s", raw, problem),
			`use "host:port" or "http://host:port", such as "127.0.0.1:8001"`)
	}
	switch {
	case err != nil:
		return bad("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("has a scheme other than http or https")
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return bad("has more than a scheme, host and port")
	case u.Hostname() == "" || u.Port() == "":
		return bad("lacks a host or a port")
	}
	if p := u.Port(); len(p) > 5 || strings.Trim(p, "0123456789") != "" {
		return bad("has a bad port")
	}
	if n := atoiPort(u.Port()); n < 1 || n > 65535 {
		return bad("has a port out of range")
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.String()
	} else if strings.ContainsAny(host, "%[]") {
		return bad("has a bad host")
	} else {
		host = strings.ToLower(host)
	}
	return u.Scheme + "://" + net.JoinHostPort(host, u.Port()), nil
}

func atoiPort(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// Targets normalizes a slot's instance addresses (see Target), refusing
// more than MaxTargets and duplicates.
func Targets(addrs []string) ([]string, error) {
	if len(addrs) > MaxTargets {
		return nil, FieldError("addrs", fmt.Sprintf("%d targets", len(addrs)), fmt.Sprintf("register at most %d", MaxTargets))
	}
	out := make([]string, 0, len(addrs))
	for i, a := range addrs {
		n, err := Target(fmt.Sprintf("addrs[%d]", i), a)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, n) {
			return nil, FieldError(fmt.Sprintf("addrs[%d]", i), fmt.Sprintf("%q listed twice", a), "list each instance once")
		}
		out = append(out, n)
	}
	return out, nil
}

// StrictJSON decodes exactly one JSON value from b into v, refusing
// unknown fields and trailing data.
func StrictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("bad JSON: data after the value")
	}
	return nil
}
