package timeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// MaxLineBytes is the longest line ReadJSONLines and ReadSamples accept.
const MaxLineBytes = 4 << 20

// Sample is a reading of the router's counters for one environment, such as
// proxy.Metrics or admin.Client.Metrics returns: the requests it has answered
// and how many of them were errors (5xx), since the router started. The
// timeline draws the rate between consecutive samples of an environment; a
// counter that goes down (the router restarted) starts over from zero.
type Sample struct {
	// Time is when the counters were read.
	Time time.Time `json:"time"`
	// Member names the service of a release group's member; empty for a
	// single service's deployment.
	Member string `json:"member,omitempty"`
	// Slot is the environment's slot.
	Slot bluegreen.Slot `json:"slot"`
	// Requests counts the requests answered so far.
	Requests uint64 `json:"requests"`
	// Errors counts those answered with an error (5xx) so far.
	Errors uint64 `json:"errors"`
}

// LineError is a line of a JSON-lines log that does not decode.
type LineError struct {
	// Line is the 1-based line number.
	Line int
	// Err is the decoding error.
	Err error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("timeline: line %d: %v: each line must be one JSON object", e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ErrLineTooLong is the error of a line longer than MaxLineBytes.
var ErrLineTooLong = errors.New("line longer than timeline.MaxLineBytes")

// ReadJSONLines reads an event log saved as JSON lines: one bluegreen.Event
// per line, as encoding/json encodes it (see AppendJSONLine). Blank lines
// are skipped. A last line with no newline that does not decode is a write
// cut short by a crash and is dropped; any other line that does not decode
// is a *LineError.
func ReadJSONLines(r io.Reader) ([]bluegreen.Event, error) {
	return readLines[bluegreen.Event](r)
}

// ReadSamples reads samples saved as JSON lines, one Sample per line, with
// the rules of ReadJSONLines.
func ReadSamples(r io.Reader) ([]Sample, error) {
	return readLines[Sample](r)
}

// AppendJSONLine appends v (an Event or a Sample) to dst as one line of JSON
// ending in a newline. Write the result with one Write call, so that a crash
// leaves whole lines and at most one torn last line.
func AppendJSONLine(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("timeline: encoding a JSON line: %w", err)
	}
	dst = append(dst, b...)
	return append(dst, '\n'), nil
}

func readLines[T any](r io.Reader) ([]T, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []T
	var line []byte
	for n := 1; ; n++ {
		line = line[:0]
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			line = append(line, chunk...)
			if len(line) > MaxLineBytes+1 {
				return out, &LineError{Line: n, Err: ErrLineTooLong}
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return out, fmt.Errorf("timeline: reading line %d: %w", n, err)
		}
		complete := len(line) > 0 && line[len(line)-1] == '\n'
		if len(bytes.TrimSuffix(line, []byte{'\n'})) > MaxLineBytes {
			return out, &LineError{Line: n, Err: ErrLineTooLong}
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var v T
			if derr := json.Unmarshal(line, &v); derr != nil {
				if !complete {
					return out, nil // torn last line
				}
				return out, &LineError{Line: n, Err: derr}
			}
			out = append(out, v)
		}
		if err != nil { // io.EOF
			return out, nil
		}
	}
}
