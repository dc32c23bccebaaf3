package filestore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/google/go-cmp/cmp"
)

var corruptFiles = []struct {
	name    string
	content string
	problem string // expected in the error
}{
	{"empty", "", "empty"},
	{"truncated", `{"format":"bluegreen-filestore/1","record":{"service":"web","vers`, "not valid JSON"},
	{"null", "null", "format"},
	{"not an object", `[1,2,3]`, "not valid JSON"},
	{"other format", `{"format":"bluegreen-filestore/9","record":{"service":"web","version":1}}`, "bluegreen-filestore/9"},
	{"no record", `{"format":"bluegreen-filestore/1"}`, "no \"record\""},
	{"no record v2", `{"format":"bluegreen-filestore/2"}`, "no \"record\""},
	{"other service", `{"format":"bluegreen-filestore/1","record":{"service":"api","version":3}}`, `"api"`},
	{"version zero", `{"format":"bluegreen-filestore/1","record":{"service":"web","version":0}}`, "version is 0"},
	{"trailing data", `{"format":"bluegreen-filestore/1","record":{"service":"web","version":1}}}`, "not valid JSON"},
	{"v1 deployment not an object", `{"format":"bluegreen-filestore/1","record":{"service":"web","version":1,"deployment":[1]}}`, "not an object"},
	{"record not a record", `{"format":"bluegreen-filestore/2","record":{"service":7}}`, "not a record"},
	{"binary", "\x00\x01\x02\xff", "not valid JSON"},
}

// TestCorruptFile checks that a state file that cannot be decoded is
// reported with its path and the way out, is never overwritten by Save, and
// can be moved aside on request.
func TestCorruptFile(t *testing.T) {
	for _, tt := range corruptFiles {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
			s, err := Open(t.TempDir(), &Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			path := filepath.Join(s.Dir(), "web.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}

			_, err = s.Load(ctx, "web")
			checkCorrupt(t, "Load", err, path, tt.problem)
			for _, version := range []int64{0, 1} {
				_, err = s.Save(ctx, driver.Record{Service: "web", Version: version})
				checkCorrupt(t, "Save", err, path, tt.problem)
			}
			if got, _ := os.ReadFile(path); string(got) != tt.content {
				t.Fatalf("Save overwrote the corrupt file: now %q", got)
			}

			moved, err := s.Quarantine(ctx, "web")
			if err != nil {
				t.Fatalf("Quarantine: %v", err)
			}
			if want := path + ".corrupt-20250301T123000.000Z"; moved != want {
				t.Errorf("Quarantine moved the file to %s, want %s", moved, want)
			}
			if got, err := os.ReadFile(moved); err != nil || string(got) != tt.content {
				t.Errorf("quarantined file holds %q, %v; want the original content", got, err)
			}
			// A second corrupt file in the same instant keeps the first one.
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			moved2, err := s.Quarantine(ctx, "web")
			if err != nil || moved2 == moved {
				t.Fatalf("second Quarantine = %q, %v; want a new name", moved2, err)
			}
			if _, err := os.Stat(moved); err != nil {
				t.Errorf("the first quarantined file is gone: %v", err)
			}

			rec, err := s.Load(ctx, "web")
			if err != nil || rec.Version != 0 {
				t.Fatalf("Load after Quarantine = %+v, %v; want an empty record", rec, err)
			}
			if v, err := s.Save(ctx, driver.Record{Service: "web"}); err != nil || v != 1 {
				t.Fatalf("Save after Quarantine = %d, %v; want version 1", v, err)
			}
		})
	}
}

func checkCorrupt(t *testing.T, op string, err error, path, problem string) {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("%s = %v, want a *CorruptError", op, err)
	}
	if ce.Path != path {
		t.Errorf("%s: CorruptError.Path = %s, want %s", op, ce.Path, path)
	}
	if code := bluegreen.ErrorCode(err); code != bluegreen.CodeFailedPrecondition {
		t.Errorf("%s: code %v, want %v", op, code, bluegreen.CodeFailedPrecondition)
	}
	for _, want := range []string{path, problem, "move it aside", "Quarantine"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s error %q does not mention %q", op, err, want)
		}
	}
}

func TestQuarantineRefusesValidFile(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if moved, err := s.Quarantine(ctx, "web"); err != nil || moved != "" {
		t.Errorf("Quarantine without a state file = %q, %v; want nothing done", moved, err)
	}
	if _, err := s.Save(ctx, fullRecord("web")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(s.Dir(), "web.json"))
	if _, err := s.Quarantine(ctx, "web"); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Errorf("Quarantine of a valid file = %v, want ErrFailedPrecondition", err)
	}
	after, _ := os.ReadFile(filepath.Join(s.Dir(), "web.json"))
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("Quarantine changed a valid file (-before +after):\n%s", diff)
	}
}

// TestUnreadableFile uses a directory in place of the state file: unlike a
// file without read permission, that is unreadable even to root.
func TestUnreadableFile(t *testing.T) {
	s := newStore(t)
	path := filepath.Join(s.Dir(), "web.json")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	for op, err := range map[string]error{
		"Load": func() error { _, err := s.Load(t.Context(), "web"); return err }(),
		"Save": func() error { _, err := s.Save(t.Context(), driver.Record{Service: "web"}); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move it aside") {
			t.Errorf("%s = %v, want an error naming %s and the fix", op, err, path)
		}
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("the unreadable entry was replaced: %v", err)
	}
}
