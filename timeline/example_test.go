package timeline_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/timeline"
)

// Example saves a deployment's events as JSON lines while it runs, reads
// the log back, and draws it. Here the deployment runs on in-memory fakes;
// with real backends only the Config changes.
func Example() {
	var saved bytes.Buffer // a file beside the service's state, in a real program
	d, err := bluegreen.New(bluegreen.Config{
		Compute: bluegreentest.NewCompute(bluegreentest.ComputeOptions{}),
		Router:  bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
		Store:   bluegreen.NewMemoryStore(),
		Shift:   bluegreen.Linear(50, 10*time.Millisecond), HealthInterval: 10 * time.Millisecond,
		Callbacks: bluegreen.Callbacks{OnEvent: func(ev bluegreen.Event) {
			line, err := timeline.AppendJSONLine(nil, ev)
			if err == nil {
				saved.Write(line) // one write per event: a crash leaves whole lines
			}
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := d.Deploy(context.Background(), "web", bluegreen.Revision{Name: "web:2"}); err != nil {
		fmt.Println(err)
		return
	}

	events, err := timeline.ReadJSONLines(&saved)
	if err != nil {
		fmt.Println(err)
		return
	}
	path := filepath.Join(os.TempDir(), "web-timeline.svg")
	f, err := os.Create(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(path)
	defer f.Close()
	if err := timeline.Write(f, events, timeline.Options{Service: "web"}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("drew", events[0].Kind, "to", events[len(events)-1].Kind, events[len(events)-1].Outcome)
	// Output: drew STAGE_STARTED to DONE SUCCEEDED
}

// ExampleWrite draws a release group's log, whose events carry Member, with
// the router's counters sampled while it ran.
func ExampleWrite() {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	events := []bluegreen.Event{
		{Seq: 1, Time: t0, Member: "api", Kind: bluegreen.EventStageStarted, Stage: bluegreen.StageScaleUp},
		{Seq: 2, Time: t0, Member: "worker", Kind: bluegreen.EventStageStarted, Stage: bluegreen.StageScaleUp},
		{Seq: 3, Time: t0.Add(2 * time.Second), Member: "worker", Kind: bluegreen.EventDone, Outcome: bluegreen.OutcomeSucceeded},
		{Seq: 4, Time: t0.Add(3 * time.Second), Member: "api", Kind: bluegreen.EventDone, Outcome: bluegreen.OutcomeSucceeded},
	}
	samples := []timeline.Sample{
		{Time: t0, Member: "api", Slot: bluegreen.SlotA, Requests: 1000, Errors: 2},
		{Time: t0.Add(time.Second), Member: "api", Slot: bluegreen.SlotA, Requests: 1200, Errors: 2},
	}
	var svg bytes.Buffer
	if err := timeline.Write(&svg, events, timeline.Options{Title: "release", Samples: samples}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bytes.Count(svg.Bytes(), []byte(`<g class="lane"`)), "lanes")
	// Output: 2 lanes
}
