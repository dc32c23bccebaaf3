package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// progress shows a deployment as it goes: a status line redrawn in place on
// a terminal, or one plain line per notable event otherwise.
type progress struct {
	mu       sync.Mutex
	out      io.Writer
	terminal bool
	loads    loads // the load generators of the current deployment
	title    string
	stage    string
	routes   bluegreen.Routes
	green    bluegreen.Slot
	group    bool // a release group: member events are labelled, the group's stages shown once
	lastSent int64
	lastAt   time.Time
	rps      float64
}

func (p *progress) begin(title string, green bluegreen.Slot, group bool, ls ...*load) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.title, p.green, p.group, p.stage, p.routes = title, green, group, "", bluegreen.Routes{}
	p.loads = ls
	p.lastSent, p.lastAt = p.loads.sent(), time.Now()
	fmt.Fprintf(p.out, "\n== %s\n", title)
}

// event is the Deployer's OnEvent callback.
func (p *progress) event(ev bluegreen.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := ev.Stage.String()
	if ev.Step > 0 {
		name += fmt.Sprintf("#%d", ev.Step)
	}
	line := ""
	member := p.group && ev.Member != ""
	switch ev.Kind {
	case bluegreen.EventStageStarted:
		if member {
			return // the group's own event says it once for all
		}
		p.stage = name
		line = "stage " + name
	case bluegreen.EventTrafficVerified:
		p.routes = *ev.Routes
		line = "traffic " + p.bar() + " " + ev.Routes.String()
	case bluegreen.EventHookAnswered:
		line = fmt.Sprintf("hook %s: %s %s", ev.Hook, ev.HookStatus, ev.Reason)
	case bluegreen.EventMonitorFired:
		line = fmt.Sprintf("monitor %s fired: %s", ev.Monitor, ev.Reason)
		if len(ev.Alarms) > 0 {
			line = fmt.Sprintf("monitor %s fired: %s", ev.Alarms[0].Name, ev.Alarms[0].Reason)
		}
	case bluegreen.EventRollbackStarted:
		line = "ROLLBACK: " + ev.Reason
		if member {
			line = "ROLLBACK" // the group's own event says why
		}
	case bluegreen.EventDone:
		line = "done: " + string(ev.Outcome)
	default:
		return
	}
	if member {
		line = fmt.Sprintf("%-9s%s", "["+ev.Member+"]", line)
	}
	if p.terminal {
		fmt.Fprintf(p.out, "\r\033[K  %s\n", line)
		p.drawLocked()
		return
	}
	total, failed, appErrors := p.loads.snapshot()
	fmt.Fprintf(p.out, "  %-60s requests %d, failed %d, app 5xx %d\n", line, total, failed, appErrors)
}

// tick redraws the status line on a terminal, with the request rate.
func (p *progress) tick(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sent := p.loads.sent()
	if !p.lastAt.IsZero() {
		p.rps = float64(sent-p.lastSent) / now.Sub(p.lastAt).Seconds()
	}
	p.lastSent, p.lastAt = sent, now
	if p.terminal {
		p.drawLocked()
	}
}

func (p *progress) drawLocked() {
	_, failed, appErrors := p.loads.snapshot()
	fmt.Fprintf(p.out, "\r\033[K  %-32s %s %5.0f req/s  failed %d  app 5xx %d", p.stage, p.bar(), p.rps, failed, appErrors)
}

// bar draws the production split: '#' for blue, '=' for green.
func (p *progress) bar() string {
	const width = 20
	w := p.routes.Production
	if w.Empty() {
		return "[" + strings.Repeat(" ", width) + "]"
	}
	g := int(w.Of(p.green)) * width / int(bluegreen.Full)
	return "blue [" + strings.Repeat("#", width-g) + strings.Repeat("=", g) + "] green"
}

func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		fmt.Fprint(p.out, "\r\033[K")
	}
}

// note prints a line of its own, such as where a timeline was written.
func (p *progress) note(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		fmt.Fprint(p.out, "\r\033[K")
	}
	fmt.Fprintf(p.out, "  %s\n", line)
}
