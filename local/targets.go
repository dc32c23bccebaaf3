package local

import (
	"context"

	"github.com/bluegreen-go/bluegreen"
)

// Targets is told where the instances of an environment listen: the side of
// a router (such as the bluegreen proxy) that keeps the pool of addresses
// behind each slot of a service. The local backend owns this interface;
// adapt a router to it when wiring the two.
type Targets interface {
	// SetTargets replaces the addresses ("127.0.0.1:PORT") behind slot of
	// service. The backend calls it with the instances' addresses once they
	// are all healthy, and with nil in ScaleDown before it stops them. When
	// addresses leave the pool, SetTargets must return only once they get
	// no new requests and the requests in flight to them have finished (or
	// the router's draining delay has passed), because the backend stops the
	// processes as soon as it returns. It must be idempotent.
	SetTargets(ctx context.Context, service string, slot bluegreen.Slot, addrs []string) error
}

// TargetsFunc adapts a function to the Targets interface.
type TargetsFunc func(ctx context.Context, service string, slot bluegreen.Slot, addrs []string) error

// SetTargets calls f.
func (f TargetsFunc) SetTargets(ctx context.Context, service string, slot bluegreen.Slot, addrs []string) error {
	return f(ctx, service, slot, addrs)
}
