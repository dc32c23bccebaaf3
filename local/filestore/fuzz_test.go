package filestore

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeRecord feeds arbitrary state files to the decoder. It must never
// panic, and whatever it accepts must survive a write and a read unchanged,
// so that a record Load returns can always be saved again. The seed corpus
// is in testdata/fuzz/FuzzDecodeRecord; run longer with
//
//	go test -run '^$' -fuzz FuzzDecodeRecord -fuzztime 1m ./local/filestore
func FuzzDecodeRecord(f *testing.F) {
	full, err := encodeRecord(fullRecord("web"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Replace(full, []byte(`"version":0`), []byte(`"version":7`), 1))
	for _, c := range corruptFiles {
		f.Add([]byte(c.content))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeRecord("web", data)
		if err != nil {
			if rec.Service != "" || rec.Version != 0 {
				t.Fatalf("decode failed (%v) but returned a record %+v", err, rec)
			}
			return
		}
		if rec.Service != "web" || rec.Version < 1 {
			t.Fatalf("decode accepted a record of service %q version %d", rec.Service, rec.Version)
		}
		once, err := encodeRecord(rec)
		if err != nil {
			t.Fatalf("decode accepted a record that cannot be encoded: %v", err)
		}
		again, err := decodeRecord("web", once)
		if err != nil {
			t.Fatalf("cannot decode what was encoded: %v\n%s", err, once)
		}
		twice, err := encodeRecord(again)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(once), string(twice)); diff != "" {
			t.Fatalf("encoding is not stable across a round trip (-first +second):\n%s", diff)
		}
	})
}
