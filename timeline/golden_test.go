package timeline_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/timeline"
)

var update = flag.Bool("update", false, "rewrite the golden SVG files in testdata")

// TestGolden keeps the pictures of the three hand-made logs in testdata, to
// look at (open them in a browser) and to see any change in review; the
// other tests check what they show.
func TestGolden(t *testing.T) {
	evs := rollbackByMonitor()
	var samples []timeline.Sample
	// 200 requests a second, split as production is; green fails 30%.
	share := func(d time.Duration) float64 {
		switch {
		case d >= 5600*time.Millisecond:
			return 0
		case d >= 5100*time.Millisecond:
			return 0.5
		case d >= 3100*time.Millisecond:
			return 0.25
		}
		return 0
	}
	var a, b, be float64
	for s := range 25 {
		d := time.Duration(s) * 250 * time.Millisecond
		samples = append(samples, timeline.Sample{Time: evs[0].Time.Add(d), Slot: bluegreen.SlotA, Requests: uint64(a)},
			timeline.Sample{Time: evs[0].Time.Add(d), Slot: bluegreen.SlotB, Requests: uint64(b), Errors: uint64(be)})
		a += 50 * (1 - share(d))
		b += 50 * share(d)
		be += 15 * share(d)
	}
	for _, tc := range []struct {
		name   string
		events []bluegreen.Event
		opts   timeline.Options
	}{
		{"success-linear", successLinear(), timeline.Options{Service: "web"}},
		{"rollback-monitor", evs, timeline.Options{Service: "web", Samples: samples}},
		{"group-rollback", groupRollback(), timeline.Options{Title: "release group g-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := timeline.Write(&buf, tc.events, tc.opts); err != nil {
				t.Fatal(err)
			}
			parseSVG(t, buf.Bytes())
			path := filepath.Join("testdata", tc.name+".svg")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(want, buf.Bytes()) {
				t.Errorf("%s differs from the picture drawn; if the change is meant, run go test -run TestGolden -update and look at it", path)
			}
		})
	}
}
