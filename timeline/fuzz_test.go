package timeline_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/timeline"
	"github.com/google/go-cmp/cmp"
)

// jsonLines encodes events as a JSON-lines log.
func jsonLines(t testing.TB, evs []bluegreen.Event) []byte {
	t.Helper()
	var b []byte
	for _, ev := range evs {
		var err error
		if b, err = timeline.AppendJSONLine(b, ev); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestReadJSONLines(t *testing.T) {
	logs := jsonLines(t, rollbackByMonitor())
	full := rollbackByMonitor()
	lines := bytes.SplitAfter(logs, []byte("\n"))
	for _, tc := range []struct {
		name    string
		in      []byte
		want    []bluegreen.Event
		errLine int
	}{
		{"whole log", logs, full, 0},
		{"blank lines and CRLF", bytes.ReplaceAll(logs, []byte("\n"), []byte("\r\n\n  \n")), full, 0},
		{"torn last line", append(bytes.Clone(logs), lines[3][:10]...), full, 0},
		{"no newline at the end", bytes.TrimSuffix(logs, []byte("\n")), full, 0},
		{"a bad line", append(append(bytes.Clone(logs[:len(lines[0])]), "{\"seq\":\"two\"}\n"...), lines[1]...), full[:1], 2},
		{"an unknown stage", []byte(`{"seq":1,"kind":"STAGE_STARTED","stage":"DEPLOYING"}` + "\n"), nil, 1},
		{"empty", nil, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := timeline.ReadJSONLines(bytes.NewReader(tc.in))
			var le *timeline.LineError
			switch {
			case tc.errLine == 0 && err != nil:
				t.Fatalf("error %v", err)
			case tc.errLine != 0 && (!errors.As(err, &le) || le.Line != tc.errLine):
				t.Fatalf("error %v, want a LineError on line %d", err, tc.errLine)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzReadJSONLines checks ReadJSONLines against encoding/json decoding the
// log line by line, and that whatever it reads renders to well-formed XML.
func FuzzReadJSONLines(f *testing.F) {
	// Small seeds: the fuzzer minimizes what it finds, which is slow for
	// whole logs.
	f.Add(jsonLines(f, successLinear()[:2]))
	f.Add(jsonLines(f, rollbackByMonitor()[len(rollbackByMonitor())-4:]))
	f.Add(jsonLines(f, groupRollback()[:3]))
	f.Add([]byte("{\"kind\":\"DONE\",\"member\":\"a\\u0000<&\\\"'>\",\"reason\":\"\\ud800\"}\n{\"seq\":1"))
	f.Add([]byte("\n\n{}\n null \n{\"time\":\"0001-01-01T00:00:00Z\"}\n{\"time\":\"9999-12-31T23:59:59Z\",\"kind\":\"STAGE_STARTED\",\"stage\":\"BAKE_TIME\"}"))
	f.Add([]byte(`{"routes":{"production":{"a":-5,"b":99999},"test":"Q"},"kind":"TRAFFIC_SHIFTED"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := timeline.ReadJSONLines(bytes.NewReader(data))
		// The oracle.
		var want []bluegreen.Event
		wantLine := 0
		pieces := strings.SplitAfter(string(data), "\n")
		for i, p := range pieces {
			if strings.TrimSpace(p) == "" {
				continue
			}
			var ev bluegreen.Event
			if jerr := json.Unmarshal([]byte(p), &ev); jerr != nil {
				if i == len(pieces)-1 && !strings.HasSuffix(p, "\n") {
					break // torn last line: dropped
				}
				wantLine = i + 1
				break
			}
			want = append(want, ev)
		}
		var le *timeline.LineError
		switch {
		case wantLine == 0 && err != nil:
			t.Fatalf("error %v, encoding/json reads every line", err)
		case wantLine != 0 && (!errors.As(err, &le) || le.Line != wantLine):
			t.Fatalf("error %v, want a LineError on line %d", err, wantLine)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events differ from encoding/json's (-json +got):\n%s", diff)
		}
		var buf bytes.Buffer
		if err := timeline.Write(&buf, got, timeline.Options{}); err != nil {
			t.Fatal(err)
		}
		parseSVG(t, buf.Bytes())
	})
}

// FuzzWrite renders logs whose text comes from the fuzzer (member names,
// hook names, reasons, alarms, statuses), and checks that the picture is
// well-formed XML whose lanes carry the member names as XML can hold them.
func FuzzWrite(f *testing.F) {
	f.Add("api", "smoke", `<script>&"'`, "SUCCEEDED", uint8(6), int64(1500), uint16(250))
	f.Add("\xff\xfe", "\x00\x01", "\xed\xa0\x80", "FAILED", uint8(200), int64(-1), uint16(1000))
	f.Add("", "", "", "", uint8(0), int64(1<<62), uint16(0))
	f.Fuzz(func(t *testing.T, member, hook, reason, status string, stage uint8, ms int64, weight uint16) {
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		at := base.Add(time.Duration(ms) * time.Millisecond)
		routes := bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, bluegreen.Weight(weight)), Test: bluegreen.Slot(hook)}
		info := &bluegreen.RollbackInfo{Trigger: bluegreen.Trigger(status), By: hook, Reason: reason, Stage: bluegreen.Stage(stage)}
		evs := []bluegreen.Event{
			{Time: base, Member: member, Kind: bluegreen.EventStageStarted, Stage: bluegreen.Stage(stage), Reason: reason},
			{Time: at, Member: member, Kind: bluegreen.EventTrafficShifted, Routes: &routes},
			{Time: at, Member: member, Kind: bluegreen.EventHookAnswered, Hook: hook, HookStatus: bluegreen.HookStatus(status), Reason: reason},
			{Time: at, Member: member, Kind: bluegreen.EventMonitorFired, Monitor: hook, Alarms: []bluegreen.Alarm{{Name: reason, Reason: member}}},
			{Time: at, Member: member, Kind: bluegreen.EventRollbackStarted, Rollback: info, Reason: reason},
			{Time: base, Member: member + "2", Kind: bluegreen.EventKind(reason), Stage: bluegreen.Stage(stage), Step: int(weight)},
			{Time: at.Add(time.Second), Member: member, Kind: bluegreen.EventDone, Outcome: bluegreen.Outcome(status), Reason: reason},
		}
		samples := []timeline.Sample{{Time: base, Member: member, Slot: bluegreen.SlotA, Requests: uint64(weight)},
			{Time: at, Member: member, Slot: bluegreen.SlotA, Requests: uint64(ms), Errors: uint64(stage)}}
		var buf bytes.Buffer
		if err := timeline.Write(&buf, evs, timeline.Options{Title: reason, Samples: samples}); err != nil {
			t.Fatal(err)
		}
		root := parseSVG(t, buf.Bytes())
		var got []string
		for _, l := range root.all("lane") {
			got = append(got, l.attr["data-member"])
		}
		want := []string{xmlSafe(member), xmlSafe(member + "2")}
		if member == member+"2" || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("lanes %q, want %q", got, want)
		}
	})
}

// xmlSafe is s with what XML cannot hold (invalid UTF-8, control
// characters other than tab and newlines) replaced by U+FFFD.
func xmlSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			r = utf8.RuneError
		case r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF):
		default:
			r = utf8.RuneError
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}
