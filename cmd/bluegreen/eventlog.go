package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy/admin"
	"github.com/bluegreen-go/bluegreen/timeline"
)

// eventsDir is the subdirectory of -state holding the saved event logs:
// events/SERVICE/DEPLOYMENT.jsonl, one event a line, and beside it
// DEPLOYMENT.samples.jsonl, the daemon's request and error counters.
const eventsDir = "events"

// Suffixes of the saved files.
const (
	eventsSuffix  = ".jsonl"
	samplesSuffix = ".samples.jsonl"
)

// eventLog saves a service's deployment events as JSON lines, each written
// with one write as it happens, so that a command killed mid-deployment
// leaves what happened up to then. Failing to save is reported once and
// does not stop the deployment.
type eventLog struct {
	dir string
	log func(format string, args ...any)

	mu      sync.Mutex
	files   map[string]*os.File // by deployment ID
	current string              // the latest deployment ID seen
	failed  bool
	buf     []byte
}

func newEventLog(stateDir, service string, log func(string, ...any)) *eventLog {
	return &eventLog{dir: filepath.Join(stateDir, eventsDir, service), log: log, files: map[string]*os.File{}}
}

// event saves ev. It is a bluegreen.Callbacks.OnEvent.
func (l *eventLog) event(ev bluegreen.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.current = ev.DeploymentID
	l.appendLocked(ev.DeploymentID, eventsSuffix, ev)
}

// sample saves the daemon's counters beside the current deployment's events.
func (l *eventLog) sample(s timeline.Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.current != "" {
		l.appendLocked(l.current, samplesSuffix, s)
	}
}

func (l *eventLog) appendLocked(id, suffix string, v any) {
	if l.failed {
		return
	}
	fail := func(err error) {
		l.failed = true
		l.log("WARNING not saving the deployment's events in %s (bluegreen timeline needs them): %v", l.dir, err)
	}
	key := id + suffix
	f := l.files[key]
	if f == nil {
		if err := os.MkdirAll(l.dir, 0o755); err != nil {
			fail(err)
			return
		}
		var err error
		f, err = os.OpenFile(filepath.Join(l.dir, fileName(id)+suffix), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fail(err)
			return
		}
		l.files[key] = f
	}
	var err error
	if l.buf, err = timeline.AppendJSONLine(l.buf[:0], v); err != nil {
		fail(err)
		return
	}
	if _, err := f.Write(l.buf); err != nil {
		fail(err)
	}
}

// close flushes the files to disk and closes them.
func (l *eventLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, f := range l.files {
		_ = f.Sync()
		_ = f.Close()
		delete(l.files, k)
	}
}

// fileName makes a deployment ID safe as a file name: characters other than
// letters, digits, '.', '_' and '-' become '_'.
func fileName(id string) string {
	if id == "" {
		return "unknown"
	}
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	s := string(b)
	if strings.Trim(s, ".") == "" {
		s = strings.ReplaceAll(s, ".", "_")
	}
	return s
}

// sampleMetrics reads the daemon's counters of both slots of service every
// interval until ctx is done, saving them in l.
func sampleMetrics(ctx context.Context, c *admin.Client, service string, l *eventLog, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
			rctx, cancel := context.WithTimeout(ctx, interval)
			m, err := c.Metrics(rctx, service, slot)
			cancel()
			if err == nil {
				l.sample(timeline.Sample{Time: time.Now(), Slot: slot, Requests: m.Requests, Errors: m.Errors})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// tee calls each function with the event.
func tee(fs ...func(bluegreen.Event)) func(bluegreen.Event) {
	return func(ev bluegreen.Event) {
		for _, f := range fs {
			f(ev)
		}
	}
}
