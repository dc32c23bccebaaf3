package elbrouter

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// maxARNsPerCall caps the ARNs of one coalesced DescribeRules (RuleArns) or
// DescribeListeners (ListenerArns) call; a batch with more is split into
// calls of at most this many, made at once. The ELBv2 API reference gives
// no maximum for either list (it documents only PageSize, at most 400
// results a page), so this is a conservative figure of our own, well
// within one page of results.
const maxARNsPerCall = 20

// batchTimeout bounds one batch of calls. A batch stops earlier when every
// read waiting for it has gone (its context was cancelled).
const batchTimeout = 2 * time.Minute

// coalescer merges concurrent reads of rules (or of listeners) from
// different services into shared calls, as cwmonitor.Poller does alarms:
// one batch runs at a time; reads that arrive while it runs join the next
// batch, which reads the union of their ARNs when the running one is done.
type coalescer struct {
	// describe makes one call for arns and returns the routes it found.
	describe func(ctx context.Context, arns []string) (map[string]route, error)

	mu     sync.Mutex
	flying *readBatch // the batch running
	next   *readBatch // the batch that runs after it
}

// readBatch is one round of calls for the union of its readers' ARNs.
type readBatch struct {
	done    chan struct{}
	arns    map[string]bool
	waiters int                // reads still waiting for it
	cancel  context.CancelFunc // set when it runs

	// Set before done is closed.
	found  map[string]route
	failed map[string]error // by ARN, the error of the call that asked for it
}

// read returns the routes of arns, from a shared batch. When the batch's
// call for one of arns failed, or its answer lacked one of arns, the read
// makes its own call with ctx so that it gets its own answer, unless the
// batch held its ARNs alone, in which case the batch's answer is its own.
func (c *coalescer) read(ctx context.Context, arns []string) (map[string]route, error) {
	c.mu.Lock()
	b := c.next
	if b == nil {
		b = &readBatch{done: make(chan struct{}), arns: map[string]bool{}}
		c.next = b
	}
	for _, arn := range arns {
		b.arns[arn] = true
	}
	b.waiters++
	if c.flying == nil {
		c.launch()
	}
	c.mu.Unlock()

	select {
	case <-b.done:
	case <-ctx.Done():
		c.leave(b)
		return nil, ctx.Err()
	}
	alone := true
	for arn := range b.arns {
		alone = alone && slices.Contains(arns, arn)
	}
	out := make(map[string]route, len(arns))
	for _, arn := range arns {
		if err := b.failed[arn]; err != nil {
			if alone {
				return nil, err
			}
			return c.describe(ctx, arns)
		}
		rt, ok := b.found[arn]
		if !ok {
			if alone {
				continue // the caller reports it missing
			}
			return c.describe(ctx, arns)
		}
		out[arn] = rt
	}
	return out, nil
}

// leave drops a read that stopped waiting for b: a batch no read waits for
// is dropped before it runs, or cancelled while it runs.
func (c *coalescer) leave(b *readBatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b.waiters--
	if b.waiters > 0 {
		return
	}
	switch {
	case b == c.next:
		c.next = nil
	case b.cancel != nil:
		b.cancel()
	}
}

// launch starts the next batch; c.mu is held.
func (c *coalescer) launch() {
	b := c.next
	c.next, c.flying = nil, b
	// The calls serve every read in the batch, so no one read's context
	// may cancel them.
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	b.cancel = cancel
	go c.run(ctx, b)
}

// run makes b's calls, at most maxARNsPerCall ARNs each, all at once, and
// launches the next batch if reads are waiting for one.
func (c *coalescer) run(ctx context.Context, b *readBatch) {
	arns := slices.Sorted(maps.Keys(b.arns))
	found, failed := map[string]route{}, map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for chunk := range slices.Chunk(arns, maxARNsPerCall) {
		wg.Go(func() {
			got, err := c.describe(ctx, chunk)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				for _, arn := range chunk {
					failed[arn] = err
				}
				return
			}
			maps.Copy(found, got)
		})
	}
	wg.Wait()
	b.found, b.failed = found, failed

	c.mu.Lock()
	c.flying = nil
	if c.next != nil {
		c.launch()
	}
	c.mu.Unlock()
	b.cancel()
	close(b.done)
}
