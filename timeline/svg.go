package timeline

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bluegreen-go/bluegreen"
)

// Options tune the picture. The zero Options draw a 1200-pixel-wide
// timeline titled after the deployment.
type Options struct {
	// Title is the picture's title; default "deployment ID", after the
	// events' DeploymentID.
	Title string
	// Service names the lane of a single service's deployment (events with
	// no Member); default "service".
	Service string
	// Width is the picture's width in pixels, 480 to 20000; 0 means 1200.
	Width int
	// Samples are readings of the router's counters per environment (see
	// Sample), drawn as requests and errors per second under each lane.
	// Samples whose Member matches no lane are ignored, except that a
	// single lane takes every sample.
	Samples []Sample
}

// Width limits.
const (
	DefaultWidth = 1200
	MinWidth     = 480
	MaxWidth     = 20000
)

// Geometry, in pixels.
const (
	labelWidth   = 180 // the column of lane labels
	rightMargin  = 28
	headerHeight = 50
	legendRow    = 18
	laneHeader   = 18
	stageHeight  = 20
	markerRow    = 14
	weightHeight = 64
	rateHeight   = 48
	laneGap      = 22
	axisHeight   = 44
	charWidth    = 6.2 // of an 11-pixel sans-serif character, roughly
)

// Colors.
const (
	colBlue     = "#1f77b4"
	colGreen    = "#2ca02c"
	colRed      = "#d62728"
	colAmber    = "#ff9f1c"
	colGrey     = "#7f7f7f"
	colPurple   = "#9467bd"
	colTest     = "#8c564b"
	colGrid     = "#e5e5e5"
	colText     = "#222222"
	colSoftText = "#555555"
)

var stageColors = [...]string{"#c7c7c7", "#c6dbef", "#9ecae1", "#c7e9c0", "#fdd0a2", "#fdae6b",
	"#dadaeb", "#bcbddc", "#a1d99b", "#fee391", "#d9d9d9", "#e0e0e0"}

var stageShort = map[bluegreen.Stage]string{
	bluegreen.StageReconcileService:           "reconcile",
	bluegreen.StagePreScaleUp:                 "pre-scale",
	bluegreen.StageScaleUp:                    "scale up",
	bluegreen.StagePostScaleUp:                "post-scale",
	bluegreen.StageTestTrafficShift:           "test shift",
	bluegreen.StagePostTestTrafficShift:       "post-test",
	bluegreen.StagePreProductionTrafficShift:  "pre-prod",
	bluegreen.StageProductionTrafficShift:     "prod",
	bluegreen.StagePostProductionTrafficShift: "post-prod",
	bluegreen.StageBakeTime:                   "bake",
	bluegreen.StageCleanUp:                    "clean up",
}

// Write draws the timeline of events (a deployment's event log, or a
// release group's, whose events carry Member) as an SVG document on w.
// Events may come in any order; an empty log draws an empty picture saying
// so. Text from the events is escaped, and invalid UTF-8 is replaced, so
// any log gives well-formed XML.
func Write(w io.Writer, events []bluegreen.Event, opts Options) error {
	if opts.Width == 0 {
		opts.Width = DefaultWidth
	}
	if opts.Width < MinWidth || opts.Width > MaxWidth {
		return fmt.Errorf("timeline: Options.Width %d is out of range: use %d to %d pixels, or 0 for %d", opts.Width, MinWidth, MaxWidth, DefaultWidth)
	}
	var b bytes.Buffer
	render(&b, events, opts)
	_, err := w.Write(b.Bytes())
	if err != nil {
		return fmt.Errorf("timeline: writing the SVG: %w", err)
	}
	return nil
}

// canvas writes SVG elements into a buffer.
type canvas struct {
	b             *bytes.Buffer
	left, plotW   float64
	t0            time.Time
	spanSec       float64
	width, height float64
}

// x maps a time to a horizontal position in the plot, clamped to it.
func (c *canvas) x(t time.Time) float64 {
	d := t.Sub(c.t0).Seconds()
	d = math.Max(0, math.Min(d, c.spanSec))
	return c.left + d/c.spanSec*c.plotW
}

func (c *canvas) printf(format string, args ...any) { fmt.Fprintf(c.b, format, args...) }

// text writes a <text> element; s is escaped.
func (c *canvas) text(x, y float64, attrs, s string) {
	c.printf(`<text x="%s" y="%s"%s>%s</text>`+"\n", num(x), num(y), attrs, esc(s))
}

func render(b *bytes.Buffer, events []bluegreen.Event, opts Options) {
	c := &canvas{b: b, width: float64(opts.Width), left: labelWidth}
	c.plotW = c.width - labelWidth - rightMargin
	var lanes []*lane
	if len(events) > 0 {
		var t1 time.Time
		c.t0, t1 = span(events)
		c.spanSec = t1.Sub(c.t0).Seconds()
		lanes = buildLanes(slices.Clone(events), opts.Samples)
	}
	if c.spanSec <= 0 {
		c.spanSec = 1
	}
	title := opts.Title
	if title == "" {
		title = "deployment"
		if len(events) > 0 && events[0].DeploymentID != "" {
			title += " " + events[0].DeploymentID
		}
	}
	legend := legendItems()
	legendRows := layoutLegend(legend, c.width)
	y := float64(headerHeight) + float64(legendRows)*legendRow + 8
	heights := make([]float64, len(lanes))
	total := y
	for i, l := range lanes {
		heights[i] = laneHeight(l)
		total += heights[i] + laneGap
	}
	if len(lanes) == 0 {
		total += 40
	}
	c.height = total + axisHeight
	c.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="Helvetica, Arial, sans-serif" font-size="11" fill="%s">`+"\n",
		num(c.width), num(c.height), num(c.width), num(c.height), colText)
	c.printf("<title>%s</title>\n", esc(title))
	c.printf(`<rect class="background" x="0" y="0" width="%s" height="%s" fill="#ffffff"/>`+"\n", num(c.width), num(c.height))
	c.text(12, 22, ` class="title" font-size="16" font-weight="bold"`, clip(title, int((c.width-24)/9)))
	c.text(12, 40, ` class="subtitle" fill="`+colSoftText+`"`, subtitle(events, lanes))
	drawLegend(c, legend)
	if len(lanes) == 0 {
		c.text(c.left, y+24, ` class="empty"`, "no events")
	}
	top := y
	// Grid lines first, under the lanes.
	ticks, step := timeTicks(c.spanSec)
	c.printf(`<g class="grid" stroke="%s" stroke-width="1">`+"\n", colGrid)
	for _, tk := range ticks {
		x := c.left + tk/c.spanSec*c.plotW
		c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(x), num(top), num(x), num(c.height-axisHeight+4))
	}
	c.printf("</g>\n")
	for i, l := range lanes {
		service := opts.Service
		if len(lanes) > 1 && service == "" {
			service = "group" // a release group's own events
		}
		drawLane(c, l, y, heights[i], service)
		y += heights[i] + laneGap
	}
	drawAxis(c, ticks, step, c.height-axisHeight)
	c.printf("</svg>\n")
}

func subtitle(events []bluegreen.Event, lanes []*lane) string {
	if len(events) == 0 {
		return "no events"
	}
	t0, t1 := span(events)
	parts := []string{fmt.Sprintf("%d events", len(events)), "from " + t0.UTC().Format("2006-01-02 15:04:05.000 UTC"),
		"lasting " + t1.Sub(t0).Round(time.Millisecond).String()}
	if len(lanes) > 1 {
		parts = append(parts, fmt.Sprintf("%d members", len(lanes)))
	}
	return strings.Join(parts, ", ")
}

func laneHeight(l *lane) float64 {
	h := float64(laneHeader + stageHeight + 6 + 2*markerRow + 8 + weightHeight)
	if len(l.samples) > 0 {
		h += 14 + rateHeight
	}
	return h
}

func drawLane(c *canvas, l *lane, y, h float64, service string) {
	name := l.member
	switch {
	case name == "" && service != "":
		name = service
	case name == "":
		name = "service"
	}
	c.printf(`<g class="lane" data-member="%s">`+"\n", esc(l.member))
	c.printf(`<rect class="lane-frame" x="4" y="%s" width="%s" height="%s" fill="none" stroke="#cccccc" rx="4"/>`+"\n",
		num(y-6), num(c.width-8), num(h+10))
	c.text(12, y+10, ` class="lane-label" font-size="13" font-weight="bold"`, clip(name, 24))
	green := "green: slot unknown (B drawn)"
	if l.green.Valid() {
		green = fmt.Sprintf("green: slot %s, blue: slot %s", l.green, l.green.Other())
	}
	c.text(12, y+26, ` class="lane-green" fill="`+colSoftText+`"`, green)
	if l.outcome != "" {
		col := colSoftText
		switch l.outcome {
		case bluegreen.OutcomeSucceeded:
			col = colGreen
		case bluegreen.OutcomeRolledBack, bluegreen.OutcomeFailed:
			col = colRed
		}
		c.text(12, y+40, ` class="lane-outcome" font-weight="bold" fill="`+col+`"`, clip(string(l.outcome), 24))
	}
	c.text(12, y+54, ` class="lane-summary" fill="`+colSoftText+`"`,
		fmt.Sprintf("%d stages, %s", len(l.stages), l.end.Sub(l.start).Round(time.Millisecond)))

	// Rollback spans, under everything else of the lane.
	for _, r := range l.rollbacks {
		x1, x2 := c.x(r.start), c.x(r.end)
		c.printf(`<g class="rollback"><title>%s</title>`, esc(r.text))
		c.printf(`<rect class="rollback-span" x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.12" stroke="%s" stroke-dasharray="3,2"/>`,
			num(x1), num(y+laneHeader-2), num(math.Max(2, x2-x1)), num(h-laneHeader+2), colRed, colRed)
		c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>`, num(x1), num(y+4), num(x1), num(y+h), colRed)
		anchor, tx := "start", x1+4
		if x1 > c.left+c.plotW/2 {
			anchor, tx = "end", x1-4
		}
		c.text(tx, y+11, ` class="rollback-text" text-anchor="`+anchor+`" fill="`+colRed+`" font-weight="bold"`, clip(r.text, int(c.plotW/2/charWidth)))
		c.printf("</g>\n")
	}

	// Stage bars.
	sy := y + laneHeader
	c.printf(`<g class="stages">` + "\n")
	for i, s := range l.stages {
		x1, x2 := c.x(s.start), c.x(s.end)
		w := math.Max(1, x2-x1)
		col := stageColors[int(s.stage)%len(stageColors)]
		label := s.stage.String()
		short := stageShort[s.stage]
		if short == "" {
			short = label
		}
		if s.step > 0 {
			label += fmt.Sprintf(" step %d", s.step)
			short += " " + strconv.Itoa(s.step)
		}
		title := fmt.Sprintf("%s: %s to %s (%s)", label, elapsed(s.start.Sub(c.t0)), elapsed(s.end.Sub(c.t0)), s.end.Sub(s.start).Round(time.Millisecond))
		if s.rollback {
			title += ", during the rollback"
		}
		if s.reason != "" {
			title += ": " + s.reason
		}
		c.printf(`<g class="stage" data-stage="%s" data-step="%d" data-index="%d"><title>%s</title>`, esc(s.stage.String()), s.step, i, esc(title))
		stroke := "#ffffff"
		if s.rollback {
			stroke = colRed
		}
		c.printf(`<rect x="%s" y="%s" width="%s" height="%d" fill="%s" stroke="%s" stroke-width="0.5"/>`, num(x1), num(sy), num(w), stageHeight, col, stroke)
		switch {
		case textWidth(label)+4 <= w:
			c.text(x1+2, sy+14, ` class="stage-label"`, label)
		case textWidth(short)+4 <= w:
			c.text(x1+2, sy+14, ` class="stage-label"`, short)
		}
		c.printf("</g>\n")
	}
	for _, s := range l.skipped {
		x := c.x(s.t)
		c.printf(`<g class="stage-skipped"><title>%s</title><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="2,2"/></g>`+"\n",
			esc(s.title), num(x), num(sy), num(x), num(sy+stageHeight), colGrey)
	}
	c.printf("</g>\n")

	// Markers.
	my := sy + stageHeight + 6
	c.printf(`<g class="markers">` + "\n")
	for _, m := range l.markers {
		drawMarker(c, m, c.x(m.t), my+float64(m.row)*markerRow+markerRow/2)
	}
	c.printf("</g>\n")

	// Production weight and test route.
	wy := my + 2*markerRow + 8
	drawChartFrame(c, "weights", wy, weightHeight, []string{"0%", "50%", "100%"}, "green's share")
	y0, y100 := wy+weightHeight, wy
	vy := func(v float64) float64 { return y0 - v/100*(y0-y100) }
	if pts := stepPoints(c, l.prod, l.end, vy); len(pts) > 0 {
		c.printf(`<polyline class="production-weight" data-y0="%s" data-y100="%s" points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n",
			num(y0), num(y100), strings.Join(pts[0], " "), colGreen)
	}
	last := -100.0
	for _, p := range l.prod {
		x := c.x(p.t)
		if x-last < 28 {
			continue
		}
		last = x
		c.text(x+2, math.Max(vy(p.v)-3, y100+9), ` class="weight-label" font-size="9" fill="`+colGreen+`"`, strconv.FormatFloat(p.v, 'f', -1, 64)+"%")
	}
	for _, seg := range stepPoints(c, l.test, l.end, vy) {
		c.printf(`<polyline class="test-route" data-y0="%s" data-y100="%s" points="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="5,3"/>`+"\n",
			num(y0), num(y100), strings.Join(seg, " "), colTest)
	}

	// Requests and errors per second.
	if len(l.samples) > 0 {
		ry := wy + weightHeight + 14
		drawRates(c, l, ry)
	}
	c.printf("</g>\n")
}

// stepPoints returns the points of a step curve through levels, ending at
// end, split where the level is negative (nothing to draw).
func stepPoints(c *canvas, levels []level, end time.Time, vy func(float64) float64) [][]string {
	var segs [][]string
	var cur []string
	for i, lv := range levels {
		next := end
		if i+1 < len(levels) {
			next = levels[i+1].t
		}
		if lv.v < 0 {
			if len(cur) > 0 {
				segs = append(segs, cur)
			}
			cur = nil
			continue
		}
		y := num(vy(lv.v))
		cur = append(cur, num(c.x(lv.t))+","+y, num(c.x(next))+","+y)
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	return segs
}

func drawChartFrame(c *canvas, class string, y, h float64, labels []string, caption string) {
	c.printf(`<g class="%s-frame" fill="%s" font-size="9">`, class, colSoftText)
	c.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="#fafafa" stroke="#dddddd"/>`, num(c.left), num(y), num(c.plotW), num(h))
	for i, s := range labels {
		ly := y + h - float64(i)*h/float64(len(labels)-1)
		c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#eeeeee"/>`, num(c.left), num(ly), num(c.left+c.plotW), num(ly))
		c.text(c.left-4, ly+3, ` text-anchor="end"`, s)
	}
	c.text(12, y+h/2+3, ` font-style="italic" font-size="10"`, caption)
	c.printf("</g>\n")
}

func drawRates(c *canvas, l *lane, y float64) {
	peak := 0.0
	for _, rs := range l.samples {
		for _, r := range rs {
			peak = math.Max(peak, r.reqs)
		}
	}
	top := niceCeil(math.Max(peak, 1))
	drawChartFrame(c, "rates", y, rateHeight, []string{"0/s", num(top/2) + "/s", num(top) + "/s"}, "requests, errors")
	vy := func(v float64) float64 { return y + rateHeight - math.Min(v, top)/top*rateHeight }
	slots := []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB}
	for _, slot := range slots {
		rs := l.samples[slot]
		if len(rs) == 0 {
			continue
		}
		role, col := "blue", colBlue
		if slot == l.green || (!l.green.Valid() && slot == bluegreen.SlotB) {
			role, col = "green", colGreen
		}
		var reqPts, errPts []string
		var reqs, errs uint64
		for _, r := range rs {
			x := num(c.x(r.t))
			reqPts = append(reqPts, x+","+num(vy(r.reqs)))
			errPts = append(errPts, x+","+num(vy(r.errs)))
			reqs += r.requests
			errs += r.errors
		}
		title := fmt.Sprintf("%s (slot %s): %d requests, %d errors", role, slot, reqs, errs)
		scale := fmt.Sprintf(`data-y0="%s" data-ymax="%s" data-max="%s"`, num(vy(0)), num(vy(top)), num(top))
		c.printf(`<polyline class="requests" data-slot="%s" data-role="%s" %s points="%s" fill="none" stroke="%s" stroke-width="1.5"><title>%s</title></polyline>`+"\n",
			slot, role, scale, strings.Join(reqPts, " "), col, esc(title+" (requests per second)"))
		c.printf(`<polyline class="errors" data-slot="%s" data-role="%s" %s points="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="%s"><title>%s</title></polyline>`+"\n",
			slot, role, scale, strings.Join(errPts, " "), colRed, map[string]string{"blue": "1,2", "green": "4,2"}[role], esc(title+" (errors per second)"))
	}
}

func drawMarker(c *canvas, m mark, x, y float64) {
	c.printf(`<g class="marker %s" data-kind="%s"`, m.kind, m.kind)
	if m.status != "" {
		c.printf(` data-status="%s"`, esc(m.status))
	}
	c.printf(`><title>%s</title>`, esc(m.title))
	c.printf("%s</g>\n", markerShape(m.kind, m.status, x, y))
}

// markerShape draws a marker of kind centred on x, y.
func markerShape(kind, status string, x, y float64) string {
	X, Y := num(x), num(y)
	switch kind {
	case markHookCalled:
		return fmt.Sprintf(`<circle cx="%s" cy="%s" r="4" fill="#ffffff" stroke="%s" stroke-width="1.5"/>`, X, Y, colText)
	case markHookAnswered:
		col := colGrey
		switch bluegreen.HookStatus(status) {
		case bluegreen.HookSucceeded:
			col = colGreen
		case bluegreen.HookFailed:
			col = colRed
		case bluegreen.HookInProgress:
			col = colAmber
		}
		return fmt.Sprintf(`<circle cx="%s" cy="%s" r="4.5" fill="%s" stroke="%s"/>`, X, Y, col, colText)
	case markPaused:
		return fmt.Sprintf(`<rect x="%s" y="%s" width="3" height="9" fill="%s"/><rect x="%s" y="%s" width="3" height="9" fill="%s"/>`,
			num(x-4), num(y-4.5), colPurple, num(x+1), num(y-4.5), colPurple)
	case markContinued:
		return fmt.Sprintf(`<path d="M%s %s l8 4.5 l-8 4.5 z" fill="%s"/>`, num(x-4), num(y-4.5), colPurple)
	case markPromoted:
		return fmt.Sprintf(`<path d="M%s %s l5 4.5 l-5 4.5 z m5 0 l5 4.5 l-5 4.5 z" fill="%s"/>`, num(x-5), num(y-4.5), colPurple)
	case markFired:
		return fmt.Sprintf(`<path d="M%s %s l5 9 l-10 0 z" fill="%s"/>`, X, num(y-5), colRed)
	case markInconclusive:
		return fmt.Sprintf(`<path d="M%s %s l5 9 l-10 0 z" fill="#ffffff" stroke="%s"/>`, X, num(y-5), colGrey)
	case markAdopted:
		return fmt.Sprintf(`<rect x="%s" y="%s" width="9" height="9" fill="%s" transform="rotate(45 %s %s)"/>`, num(x-4.5), num(y-4.5), colPurple, X, Y)
	case markReconciled:
		return fmt.Sprintf(`<rect x="%s" y="%s" width="8" height="8" fill="none" stroke="%s" stroke-width="1.5"/>`, num(x-4), num(y-4), colPurple)
	case markRetried:
		return fmt.Sprintf(`<path d="M%s %s l6 6 m0 -6 l-6 6" stroke="%s" stroke-width="1.5"/>`, num(x-3), num(y-3), colGrey)
	case markRollback:
		return fmt.Sprintf(`<path d="M%s %s l-9 5 l9 5 z" fill="%s"/>`, num(x+4), num(y-5), colRed)
	case markDone:
		col := colGrey
		switch bluegreen.Outcome(status) {
		case bluegreen.OutcomeSucceeded:
			col = colGreen
		case bluegreen.OutcomeRolledBack, bluegreen.OutcomeFailed:
			col = colRed
		}
		return fmt.Sprintf(`<path d="M%s %s l0 -10 l8 3 l-8 3" fill="%s" stroke="%s" stroke-width="1.5"/>`, X, num(y+5), col, col)
	}
	return ""
}

type legendItem struct{ class, label, swatch string }

func legendItems() []legendItem {
	line := func(col, dash string, width float64) string {
		return fmt.Sprintf(`<line x1="0" y1="0" x2="16" y2="0" stroke="%s" stroke-width="%s" stroke-dasharray="%s"/>`, col, num(width), dash)
	}
	return []legendItem{
		{"stage", "stage (hover for details)", fmt.Sprintf(`<rect x="0" y="-5" width="16" height="10" fill="%s"/>`, stageColors[bluegreen.StageProductionTrafficShift])},
		{"production-weight", "green's production share", line(colGreen, "none", 2)},
		{"test-route", "test route (top: green, bottom: blue)", line(colTest, "5,3", 1.5)},
		{markHookCalled, "hook called", markerShape(markHookCalled, "", 8, 0)},
		{markHookAnswered, "SUCCEEDED", markerShape(markHookAnswered, string(bluegreen.HookSucceeded), 8, 0)},
		{markHookAnswered, "FAILED", markerShape(markHookAnswered, string(bluegreen.HookFailed), 8, 0)},
		{markHookAnswered, "IN_PROGRESS", markerShape(markHookAnswered, string(bluegreen.HookInProgress), 8, 0)},
		{markPaused, "paused", markerShape(markPaused, "", 8, 0)},
		{markContinued, "continued", markerShape(markContinued, "", 8, 0)},
		{markPromoted, "promoted", markerShape(markPromoted, "", 8, 0)},
		{markFired, "MONITOR_FIRED", markerShape(markFired, "", 8, 0)},
		{markInconclusive, "MONITOR_INCONCLUSIVE", markerShape(markInconclusive, "", 8, 0)},
		{markAdopted, "ADOPTED", markerShape(markAdopted, "", 8, 0)},
		{markReconciled, "RECONCILED", markerShape(markReconciled, "", 8, 0)},
		{markRetried, "retried", markerShape(markRetried, "", 8, 0)},
		{"rollback", "rollback (trigger, reason)", fmt.Sprintf(`<rect x="0" y="-5" width="16" height="10" fill="%s" fill-opacity="0.12" stroke="%s" stroke-dasharray="3,2"/>`, colRed, colRed)},
		{markDone, "done", markerShape(markDone, string(bluegreen.OutcomeSucceeded), 6, 0)},
		{"requests", "requests/s (blue, green)", line(colBlue, "none", 1.5)},
		{"errors", "errors/s", line(colRed, "4,2", 1.5)},
	}
}

func legendItemWidth(it legendItem) float64 {
	return 24 + textWidth(it.label) + 16
}

// textWidth estimates the width of s in 11-pixel sans-serif.
func textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r == '_', r == 'm', r == 'w':
			w += 7.6
		case r == ' ', r == 'i', r == 'l', r == '.', r == ',', r == '(', r == ')', r == '/', r == '\'':
			w += 3.4
		default:
			w += 6.2
		}
	}
	return w
}

// layoutLegend returns the number of rows the legend takes at width.
func layoutLegend(items []legendItem, width float64) int {
	rows, x := 1, 12.0
	for _, it := range items {
		w := legendItemWidth(it)
		if x+w > width-12 && x > 12 {
			rows++
			x = 12
		}
		x += w
	}
	return rows
}

func drawLegend(c *canvas, items []legendItem) {
	c.printf(`<g class="legend">` + "\n")
	x, y := 12.0, float64(headerHeight)+6
	for _, it := range items {
		w := legendItemWidth(it)
		if x+w > c.width-12 && x > 12 {
			x = 12
			y += legendRow
		}
		c.printf(`<g class="legend-item" data-for="%s" transform="translate(%s %s)">%s`, it.class, num(x), num(y), it.swatch)
		c.text(22, 4, "", it.label)
		c.printf("</g>\n")
		x += w
	}
	c.printf("</g>\n")
}

// tickSteps are the tick spacings the axis chooses from.
var tickSteps = []time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// timeTicks returns the tick positions, in seconds from the start, for a
// span of spanSec seconds: at most 11 of them, at a round spacing.
func timeTicks(spanSec float64) ([]float64, time.Duration) {
	step := time.Duration(0)
	for _, s := range tickSteps {
		if spanSec/s.Seconds() <= 10 {
			step = s
			break
		}
	}
	if step == 0 { // longer than 10 days: whole days
		days := niceCeil(spanSec / 10 / 86400)
		step = time.Duration(days) * 24 * time.Hour
	}
	var out []float64
	for i := 0; i <= 11; i++ {
		t := float64(i) * step.Seconds()
		if t > spanSec+1e-9 {
			break
		}
		out = append(out, t)
	}
	return out, step
}

func drawAxis(c *canvas, ticks []float64, step time.Duration, y float64) {
	c.printf(`<g class="axis" font-size="10" fill="%s">`+"\n", colSoftText)
	c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", num(c.left), num(y+4), num(c.left+c.plotW), num(y+4), colText)
	for _, t := range ticks {
		x := c.left + t/c.spanSec*c.plotW
		d := time.Duration(math.Round(t/step.Seconds())) * step
		c.printf(`<g class="tick" data-seconds="%s"><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(t), num(x), num(y+4), num(x), num(y+9), colText)
		c.text(x, y+21, ` text-anchor="middle"`, elapsed(d))
		c.printf("</g>\n")
	}
	c.text(c.left+c.plotW/2, y+37, ` class="axis-label" text-anchor="middle"`, "elapsed time since the first event")
	c.printf("</g>\n")
}

// elapsed prints a duration as the axis does: "0s", "500ms", "1m30s", "2h".
func elapsed(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strings.TrimSuffix(d.String(), "0s")
	}
	return d.Round(time.Millisecond).String()
}

// niceCeil rounds v > 0 up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// num formats a coordinate with one decimal at most.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// esc escapes s for XML text and attribute values; invalid UTF-8 and
// characters XML does not allow become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// clip shortens s to n characters, with an ellipsis.
func clip(s string, n int) string {
	if n < 2 {
		n = 2
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
