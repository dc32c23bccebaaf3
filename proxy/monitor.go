package proxy

import (
	"context"
	"fmt"
	"math"

	"github.com/bluegreen-go/bluegreen"
)

// ErrorRate is an error-rate rule: the alarm fires when more than MaxRate of
// green's latest Window requests were answered with a 5xx status, once at
// least MinRequests are in the window. The zero value is the default rule:
// "green-5xx-rate", above 1% over the last 1000 requests, after at least 100.
type ErrorRate struct {
	// Name names the alarm; "green-5xx-rate" if empty.
	Name string `json:"name,omitempty"`
	// MaxRate is the highest acceptable share of 5xx answers, between 0 and
	// 1 (0.01 is 1%); 0.01 if zero.
	MaxRate float64 `json:"maxRate,omitempty"`
	// Window is how many of the latest requests count; 1000 if zero.
	Window int `json:"window,omitempty"`
	// MinRequests is how many requests the window must hold before the
	// rule may fire, so that one early error is not a 100% rate; 100 if zero
	// (or Window, if smaller).
	MinRequests int `json:"minRequests,omitempty"`
	// CompareToBlue judges green against blue at the same moment: the alarm
	// fires when green's rate is above blue's plus BlueMargin, blue's rate
	// read the same way (its latest Window requests, once it has at least
	// MinRequests). Without a blue (a service's first deployment) or with
	// too few requests in blue's window, MaxRate applies instead. A shared
	// failure (a dependency down for both) then does not roll green back;
	// green that is worse than what it replaces does, even below MaxRate.
	CompareToBlue bool `json:"compareToBlue,omitempty"`
	// BlueMargin is how far above blue's rate green's may be with
	// CompareToBlue, as a share (0.005 is half a percentage point);
	// MaxRate if zero.
	BlueMargin float64 `json:"blueMargin,omitempty"`
}

func (r ErrorRate) withDefaults() ErrorRate {
	if r.Name == "" {
		r.Name = "green-5xx-rate"
	}
	if r.MaxRate == 0 {
		r.MaxRate = 0.01
	}
	if r.Window == 0 {
		r.Window = DefaultErrorWindow
	}
	if r.MinRequests == 0 {
		r.MinRequests = min(100, r.Window)
	}
	if r.BlueMargin == 0 {
		r.BlueMargin = r.MaxRate
	}
	return r
}

// Validate checks r, with the defaults of its zero fields applied; field
// names r in the errors, such as "Options.ErrorRate".
func (r ErrorRate) Validate(field string) error { return r.withDefaults().validate(field) }

func (r ErrorRate) validate(field string) error {
	switch {
	case math.IsNaN(r.MaxRate) || r.MaxRate <= 0 || r.MaxRate >= 1:
		return fieldError(field+".MaxRate", fmt.Sprintf("%v is not between 0 and 1", r.MaxRate), "use a share such as 0.01 for 1%")
	case r.Window < 1 || r.Window > maxErrorWindow:
		return fieldError(field+".Window", fmt.Sprintf("%d out of range", r.Window), fmt.Sprintf("use 1 to %d requests", maxErrorWindow))
	case r.MinRequests < 1 || r.MinRequests > r.Window:
		return fieldError(field+".MinRequests", fmt.Sprintf("%d is not between 1 and the window (%d)", r.MinRequests, r.Window),
			"use a count no larger than the window")
	case math.IsNaN(r.BlueMargin) || r.BlueMargin < 0 || r.BlueMargin >= 1:
		return fieldError(field+".BlueMargin", fmt.Sprintf("%v is not between 0 and 1", r.BlueMargin), "use a share such as 0.005 for half a percentage point")
	}
	return nil
}

// WindowReader reads an environment's recent request outcomes. *Proxy and
// *Client implement it.
type WindowReader interface {
	ErrorWindow(ctx context.Context, service string, slot bluegreen.Slot, n int) (Window, error)
}

// ErrorRateMonitor is a bluegreen.Monitor that fires when green's 5xx rate,
// as the proxy measured it, breaks Rule. Green's window starts afresh when
// its instances are registered, so errors of an earlier environment in the
// same slot do not count.
type ErrorRateMonitor struct {
	// Source reads the proxy's windows: a *Proxy or a *Client.
	Source WindowReader
	// Rule is the rule; the zero value is the default rule.
	Rule ErrorRate
}

// Name returns the rule's name, which names the monitor in events and
// rollback results.
func (m *ErrorRateMonitor) Name() string { return m.Rule.withDefaults().Name }

// Evidence says how many requests green must have answered before the
// monitor can call it healthy (bluegreen.EvidenceDescriber).
func (m *ErrorRateMonitor) Evidence() string { return m.Rule.evidence() }

func (r ErrorRate) evidence() string {
	r = r.withDefaults()
	return fmt.Sprintf("at least %d requests to green", r.MinRequests)
}

// Check answers ALARM, with an alarm named after the rule, when green's
// error rate breaks it; INCONCLUSIVE while green has answered fewer than
// MinRequests requests (too few to tell a bad green from bad luck); HEALTHY
// otherwise. With Rule.CompareToBlue it also reads blue's window, once
// green has enough requests to be judged.
func (m *ErrorRateMonitor) Check(ctx context.Context, in bluegreen.MonitorInput) (bluegreen.Verdict, error) {
	rule := m.Rule.withDefaults()
	if err := rule.validate("ErrorRateMonitor.Rule"); err != nil {
		return bluegreen.Verdict{}, err
	}
	if m.Source == nil {
		return bluegreen.Verdict{}, fieldError("ErrorRateMonitor.Source", "nil", "set it to the *proxy.Proxy or *proxy.Client routing the service")
	}
	w, err := m.Source.ErrorWindow(ctx, in.Green.Service, in.Green.Slot, rule.Window)
	if err != nil {
		return bluegreen.Verdict{}, err
	}
	if w.Requests < rule.MinRequests {
		return bluegreen.Inconclusive(fmt.Sprintf("green (%s) has answered %d requests (%d with 5xx); %d are needed to judge its error rate",
			in.Green, w.Requests, w.Errors, rule.MinRequests)), nil
	}
	rate := float64(w.Errors) / float64(w.Requests)
	limit, against := rule.MaxRate, fmt.Sprintf("%.2f%%", rule.MaxRate*100)
	if rule.CompareToBlue && in.Blue != nil {
		bw, err := m.Source.ErrorWindow(ctx, in.Blue.Service, in.Blue.Slot, rule.Window)
		if err != nil {
			return bluegreen.Verdict{}, err
		}
		if bw.Requests >= rule.MinRequests {
			blueRate := float64(bw.Errors) / float64(bw.Requests)
			limit = blueRate + rule.BlueMargin
			against = fmt.Sprintf("blue's %.2f%% (%s: %d of %d) plus %.2f%%", blueRate*100, *in.Blue, bw.Errors, bw.Requests, rule.BlueMargin*100)
		} else {
			against += fmt.Sprintf(" (blue has answered %d requests, too few to compare)", bw.Requests)
		}
	}
	if rate > limit {
		return bluegreen.Alarmed(bluegreen.Alarm{
			Name: rule.Name,
			Reason: fmt.Sprintf("green (%s) answered %d of its last %d requests with 5xx (%.2f%%), above %s",
				in.Green, w.Errors, w.Requests, rate*100, against),
		}), nil
	}
	return bluegreen.Healthy(), nil
}

// Name names the Proxy as a monitor: the name of Options.ErrorRate.
func (p *Proxy) Name() string { return p.opts.ErrorRate.withDefaults().Name }

// Evidence says what the Proxy as a monitor needs (bluegreen.EvidenceDescriber).
func (p *Proxy) Evidence() string { return p.opts.ErrorRate.evidence() }

// Check applies Options.ErrorRate to green's requests, making the Proxy a
// bluegreen.Monitor. For other rules use an ErrorRateMonitor.
func (p *Proxy) Check(ctx context.Context, in bluegreen.MonitorInput) (bluegreen.Verdict, error) {
	m := ErrorRateMonitor{Source: p, Rule: p.opts.ErrorRate}
	return m.Check(ctx, in)
}
