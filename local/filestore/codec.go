package filestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/bluegreen-go/bluegreen/driver"
)

// format names the layout of a state file, so that a future layout can be
// told apart from a damaged file. formatV1 files (whole bluegreen records,
// before the Deployer's state became opaque to stores) are still read.
const (
	format   = "bluegreen-filestore/2"
	formatV1 = "bluegreen-filestore/1"
)

// maxFileSize bounds what Load reads: a state file is a few kilobytes, and a
// file far larger than that is not one.
const maxFileSize = 16 << 20

// stateFile is the content of a state file.
type stateFile struct {
	Format string         `json:"format"`
	Record *driver.Record `json:"record"`
}

// encodeRecord returns the content of the state file for rec. It is compact
// JSON (pipe it through jq to read it): indenting would also re-indent the
// JSON documents embedded in the record.
func encodeRecord(rec driver.Record) ([]byte, error) {
	// The state is kept verbatim: without HTML escaping, json would
	// rewrite "<" in it as "\u003c".
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(stateFile{Format: format, Record: &rec}); err != nil {
		return nil, fmt.Errorf("encoding the record of %s: %w", rec.Service, err)
	}
	return b.Bytes(), nil
}

// decodeRecord parses the content of the state file of service. Every
// problem is reported as an error describing what is wrong with the content;
// the caller turns it into a *CorruptError naming the file.
func decodeRecord(service string, data []byte) (driver.Record, error) {
	if len(data) == 0 {
		return driver.Record{}, errors.New("the file is empty")
	}
	if len(data) > maxFileSize {
		return driver.Record{}, fmt.Errorf("the file is %d bytes, more than the %d a state file can be", len(data), maxFileSize)
	}
	var head struct {
		Format string          `json:"format"`
		Record json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return driver.Record{}, fmt.Errorf("not valid JSON: %w", err)
	}
	if len(head.Record) == 0 || string(head.Record) == "null" {
		if head.Format != format && head.Format != formatV1 {
			return driver.Record{}, fmt.Errorf("format is %q, not %q (a file written by a newer version, or not a state file)", head.Format, format)
		}
		return driver.Record{}, errors.New(`it has no "record"`)
	}
	var rec driver.Record
	switch head.Format {
	case format:
		if err := json.Unmarshal(head.Record, &rec); err != nil {
			return driver.Record{}, fmt.Errorf("its record is not a record: %w", err)
		}
	case formatV1:
		var err error
		if rec, err = fromV1(head.Record); err != nil {
			return driver.Record{}, err
		}
	default:
		return driver.Record{}, fmt.Errorf("format is %q, not %q (a file written by a newer version, or not a state file)", head.Format, format)
	}
	switch {
	case rec.Service != service:
		return driver.Record{}, fmt.Errorf("it holds the record of service %q, not %q (copied or renamed?)", rec.Service, service)
	case rec.Version < 1:
		return driver.Record{}, fmt.Errorf("its version is %d; a stored record has version 1 or more", rec.Version)
	case len(rec.State) > 0 && !json.Valid(rec.State):
		return driver.Record{}, errors.New("its state is not JSON")
	}
	// A record that cannot be written back would fail the next Save after
	// the Deployer has acted on it; better to find out now.
	if _, err := encodeRecord(rec); err != nil {
		return driver.Record{}, fmt.Errorf("it cannot be written back: %w", err)
	}
	return rec, nil
}

// fromV1 reads a formatV1 record: the live environment and the deployment
// were fields of the record itself. They become the Deployer's state
// document (format 1 of that document has the same field names).
func fromV1(raw json.RawMessage) (driver.Record, error) {
	var v1 struct {
		Service    string          `json:"service"`
		Version    int64           `json:"version"`
		Lease      driver.Lease    `json:"lease"`
		Live       json.RawMessage `json:"live"`
		Deployment json.RawMessage `json:"deployment"`
	}
	if err := json.Unmarshal(raw, &v1); err != nil {
		return driver.Record{}, fmt.Errorf("its record is not a record: %w", err)
	}
	rec := driver.Record{Service: v1.Service, Version: v1.Version, Lease: v1.Lease}
	if len(v1.Live) > 0 || len(v1.Deployment) > 0 {
		var phase struct {
			Phase string `json:"phase"`
		}
		if len(v1.Deployment) > 0 && json.Unmarshal(v1.Deployment, &phase) != nil {
			return driver.Record{}, errors.New("its deployment is not an object")
		}
		rec.Unfinished = phase.Phase == "RUNNING" || phase.Phase == "ROLLING_BACK"
		state := map[string]json.RawMessage{"format": json.RawMessage("1")}
		if len(v1.Live) > 0 {
			state["live"] = v1.Live
		}
		if len(v1.Deployment) > 0 {
			state["deployment"] = v1.Deployment
		}
		b, err := json.Marshal(state)
		if err != nil {
			return driver.Record{}, fmt.Errorf("converting it: %w", err)
		}
		rec.State = b
	}
	return rec, nil
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
