package awsfake

import (
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Fault is an error a fake returns instead of serving a request.
type Fault struct {
	// Status is the HTTP status, such as 400 for a throttling error or 500.
	Status int
	// Code is the AWS error code, such as "ThrottlingException".
	Code string
	// Message is the error message.
	Message string
}

// Throttling is the fault AWS returns for a request over a rate limit.
func Throttling() Fault {
	return Fault{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"}
}

// InternalError is a 500 fault, retried by the SDK.
func InternalError() Fault {
	return Fault{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: "injected internal failure"}
}

// Rule injects a fault or latency into matching calls.
type Rule struct {
	// Op is the operation name ("CreateTaskSet", "PutItem"); empty matches every operation.
	Op string
	// Fault is returned when the rule applies; a zero Fault injects only Latency.
	Fault Fault
	// Times is how many matching calls the rule applies to; 0 means every one.
	Times int
	// Probability, if above 0, applies the rule to that share of matching calls,
	// drawn from the Faults' seeded source.
	Probability float64
	// Latency delays the response (with or without a fault).
	Latency time.Duration
	// RatePerSecond, if above 0, applies the rule only to calls above that rate
	// (a fixed one-second window): throttling above a rate.
	RatePerSecond int
}

// Faults holds the fault rules and the call counts of one fake. It is safe
// for concurrent use. The zero value injects nothing; use Seed for a
// deterministic Probability.
type Faults struct {
	mu       sync.Mutex
	rules    []*ruleState
	calls    map[string]int
	rng      *rand.Rand
	injected int
}

type ruleState struct {
	Rule
	applied     int
	windowStart time.Time
	windowCount int
}

// Seed makes probabilistic rules deterministic.
func (f *Faults) Seed(seed uint64) {
	f.mu.Lock()
	f.rng = rand.New(rand.NewPCG(seed, seed))
	f.mu.Unlock()
}

// Add adds a rule; rules are checked in the order they were added.
func (f *Faults) Add(r Rule) {
	f.mu.Lock()
	f.rules = append(f.rules, &ruleState{Rule: r})
	f.mu.Unlock()
}

// Clear removes every rule.
func (f *Faults) Clear() {
	f.mu.Lock()
	f.rules = nil
	f.mu.Unlock()
}

// Calls returns the number of calls served (or faulted) per operation.
func (f *Faults) Calls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

// Injected returns how many faults have been injected.
func (f *Faults) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// Check counts a call of op and returns the fault to inject, if any, after
// sleeping any injected latency. Every fake calls it once per request.
func (f *Faults) Check(op string) (Fault, bool) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	var (
		fault   Fault
		faulted bool
		latency time.Duration
	)
	now := time.Now()
	for _, r := range f.rules {
		if r.Op != "" && r.Op != op {
			continue
		}
		if r.Times > 0 && r.applied >= r.Times {
			continue
		}
		if r.RatePerSecond > 0 {
			if now.Sub(r.windowStart) >= time.Second {
				r.windowStart, r.windowCount = now, 0
			}
			r.windowCount++
			if r.windowCount <= r.RatePerSecond {
				continue
			}
		}
		if r.Probability > 0 {
			if f.rng == nil {
				f.rng = rand.New(rand.NewPCG(1, 1))
			}
			if f.rng.Float64() >= r.Probability {
				continue
			}
		}
		r.applied++
		latency += r.Latency
		if r.Fault.Status != 0 {
			fault, faulted = r.Fault, true
			f.injected++
			break
		}
	}
	f.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	return fault, faulted
}
