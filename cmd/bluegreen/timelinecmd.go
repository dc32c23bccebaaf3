package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bluegreen-go/bluegreen/internal/svcname"
	"github.com/bluegreen-go/bluegreen/timeline"
)

// timelineOptions are the flags of timeline.
type timelineOptions struct {
	service    string
	stateDir   string
	deployment string
	events     string
	out        string
	width      int
}

func parseTimeline(args []string, stdout io.Writer) (timelineOptions, error) {
	var o timelineOptions
	fs := newFlagSet("timeline", "(-events FILE | -service NAME -state DIR [-deployment ID]) [-o OUT.svg] [-width PIXELS]", stdout)
	fs.StringVar(&o.events, "events", "", "a saved event log (JSON lines) to draw")
	fs.StringVar(&o.service, "service", "", "the service whose saved event log to draw (with -state)")
	fs.StringVar(&o.stateDir, "state", "", "the state directory deploy used (with -service)")
	fs.StringVar(&o.deployment, "deployment", "", "the deployment to draw (default: the service's latest)")
	fs.StringVar(&o.out, "o", "-", "the SVG file to write; - for stdout")
	fs.IntVar(&o.width, "width", timeline.DefaultWidth, fmt.Sprintf("the picture's width in pixels, %d to %d", timeline.MinWidth, timeline.MaxWidth))
	if err := fs.parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: every setting of timeline is a flag", fs.Args())
	}
	switch {
	case o.events != "" && (o.service != "" || o.stateDir != "" || o.deployment != ""):
		return o, &flagError{"events", "is given with -service, -state or -deployment", "name the log either with -events FILE or with -service and -state"}
	case o.events == "" && (o.service == "" || o.stateDir == ""):
		return o, &flagError{"events", "or -service and -state are required", "name a saved log with -events FILE, or the service with -service NAME -state DIR"}
	case o.service != "" && svcname.Check(o.service) != nil:
		return o, &flagError{"service", fmt.Sprintf("%q is not a service name: %v", o.service, svcname.Check(o.service)), svcname.Fix}
	case o.deployment != "" && fileName(o.deployment) != o.deployment:
		return o, &flagError{"deployment", fmt.Sprintf("%q is not a deployment ID", o.deployment), "give the ID deploy printed, such as -deployment 3f2a9c1b7d4e5a60"}
	case o.width < timeline.MinWidth || o.width > timeline.MaxWidth:
		return o, &flagError{"width", fmt.Sprintf("%d is out of range", o.width), fmt.Sprintf("use %d to %d pixels", timeline.MinWidth, timeline.MaxWidth)}
	case o.out == "":
		return o, &flagError{"o", "is empty", "name the SVG file, such as -o deployment.svg, or - for stdout"}
	}
	return o, nil
}

func timelineCommand(args []string, stdout, stderr io.Writer) int {
	o, err := parseTimeline(args, stdout)
	if err != nil {
		return parseFailed("timeline", err, stderr)
	}
	if err := drawTimeline(o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "bluegreen timeline: %v\n", err)
		return exitCode(err)
	}
	return exitOK
}

// drawTimeline reads the saved log o names, with its samples if any, and
// writes its SVG timeline.
func drawTimeline(o timelineOptions, stdout, stderr io.Writer) error {
	path := o.events
	if path == "" {
		var err error
		if path, err = savedLog(o); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return &flagError{"events", fmt.Sprintf("cannot be read (%v)", err), "name a file deploy saved, such as STATE/events/web/ID.jsonl"}
	}
	events, err := timeline.ReadJSONLines(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if len(events) == 0 {
		return fmt.Errorf("%s holds no events", path)
	}
	opts := timeline.Options{Width: o.width, Service: o.service}
	if opts.Service == "" {
		opts.Service = filepath.Base(filepath.Dir(path))
	}
	id := events[0].DeploymentID
	opts.Title = fmt.Sprintf("%s: deployment %s", opts.Service, id)
	samplesPath := strings.TrimSuffix(path, eventsSuffix) + samplesSuffix
	if sf, err := os.Open(samplesPath); err == nil {
		opts.Samples, err = timeline.ReadSamples(sf)
		sf.Close()
		if err != nil {
			fmt.Fprintf(stderr, "bluegreen timeline: leaving out the request rates: %v\n", err)
			opts.Samples = nil
		}
	}
	if o.out == "-" {
		return timeline.Write(stdout, events, opts)
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.out), ".timeline-*.svg")
	if err != nil {
		return &flagError{"o", fmt.Sprintf("cannot be written (%v)", err), "name a file in a writable directory"}
	}
	defer os.Remove(tmp.Name())
	if err := timeline.Write(tmp, events, opts); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), o.out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "TIMELINE %s: %d events of deployment %s, %d samples\n", o.out, len(events), id, len(opts.Samples))
	return nil
}

// savedLog returns the path of the service's saved event log: the one of
// o.deployment, or the latest one written.
func savedLog(o timelineOptions) (string, error) {
	dir := filepath.Join(o.stateDir, eventsDir, o.service)
	if o.deployment != "" {
		path := filepath.Join(dir, o.deployment+eventsSuffix)
		if _, err := os.Stat(path); err != nil {
			return "", &flagError{"deployment", fmt.Sprintf("%s has no saved event log in %s", o.deployment, dir),
				"give the ID of a deployment deploy or reconcile ran with this -state, or leave it out for the latest"}
		}
		return path, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading %s: %w", dir, err)
	}
	var latest string
	var latestInfo fs.FileInfo
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), eventsSuffix) || strings.HasSuffix(e.Name(), samplesSuffix) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if latestInfo == nil || info.ModTime().After(latestInfo.ModTime()) ||
			(info.ModTime().Equal(latestInfo.ModTime()) && e.Name() > latest) {
			latest, latestInfo = e.Name(), info
		}
	}
	if latest == "" {
		return "", &flagError{"service", fmt.Sprintf("%s has no saved event log in %s", o.service, dir),
			"deploy and reconcile save one per deployment in -state's events directory; check -service and -state"}
	}
	return filepath.Join(dir, latest), nil
}
