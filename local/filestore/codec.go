package filestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/bluegreen-go/bluegreen"
)

// formatV1 names the layout of a state file, so that a future layout can be
// told apart from a damaged file.
const formatV1 = "bluegreen-filestore/1"

// maxFileSize bounds what Load reads: a state file is a few kilobytes, and a
// file far larger than that is not one.
const maxFileSize = 16 << 20

// stateFile is the content of a state file.
type stateFile struct {
	Format string            `json:"format"`
	Record *bluegreen.Record `json:"record"`
}

// encodeRecord returns the content of the state file for rec. It is compact
// JSON (pipe it through jq to read it): indenting would also re-indent the
// JSON documents embedded in the record, such as revision specs.
func encodeRecord(rec bluegreen.Record) ([]byte, error) {
	b, err := json.Marshal(stateFile{Format: formatV1, Record: &rec})
	if err != nil {
		return nil, fmt.Errorf("encoding the record of %s: %w", rec.Service, err)
	}
	return append(b, '\n'), nil
}

// decodeRecord parses the content of the state file of service. Every
// problem is reported as an error describing what is wrong with the content;
// the caller turns it into a *CorruptError naming the file.
func decodeRecord(service string, data []byte) (bluegreen.Record, error) {
	if len(data) == 0 {
		return bluegreen.Record{}, errors.New("the file is empty")
	}
	if len(data) > maxFileSize {
		return bluegreen.Record{}, fmt.Errorf("the file is %d bytes, more than the %d a state file can be", len(data), maxFileSize)
	}
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return bluegreen.Record{}, fmt.Errorf("not valid JSON: %w", err)
	}
	switch {
	case f.Format != formatV1:
		return bluegreen.Record{}, fmt.Errorf("format is %q, not %q (a file written by a newer version, or not a state file)", f.Format, formatV1)
	case f.Record == nil:
		return bluegreen.Record{}, errors.New(`it has no "record"`)
	case f.Record.Service != service:
		return bluegreen.Record{}, fmt.Errorf("it holds the record of service %q, not %q (copied or renamed?)", f.Record.Service, service)
	case f.Record.Version < 1:
		return bluegreen.Record{}, fmt.Errorf("its version is %d; a stored record has version 1 or more", f.Record.Version)
	}
	// A record that cannot be written back would fail the next Save after
	// the Deployer has acted on it; better to find out now.
	if _, err := encodeRecord(*f.Record); err != nil {
		return bluegreen.Record{}, fmt.Errorf("it cannot be written back: %w", err)
	}
	return *f.Record, nil
}

// CorruptError reports a state file that exists but cannot be decoded. The
// file is left untouched: Save refuses to replace it, because the state it
// held (which environment is live, who holds the lease) would be lost. Look
// at the file, then move it aside with Store.Quarantine (or by hand) and
// check what is actually running before deploying the service again.
//
// The stores return it wrapped in a *bluegreen.Error with code
// bluegreen.CodeFailedPrecondition; find it with errors.As.
type CorruptError struct {
	// Path is the state file.
	Path string
	// Err says what is wrong with its content.
	Err error
}

// Error names the file, the problem and the way out.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("filestore: state file %s is corrupt: %v; it has been left as it is: "+
		"inspect it, then move it aside (Store.Quarantine renames it to %s.corrupt-<time>) "+
		"and check what is running before deploying this service again",
		e.Path, e.Err, filepath.Base(e.Path))
}

// Unwrap returns what is wrong with the content.
func (e *CorruptError) Unwrap() error { return e.Err }
