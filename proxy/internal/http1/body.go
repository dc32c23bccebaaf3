package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Filler reads more of an answer into the reader CopyBody reads from. It
// returns io.EOF when the connection ended.
type Filler interface {
	Fill() error
}

// Sink receives an answer's body.
type Sink interface {
	// Data sends a piece of the body.
	Data(p []byte) error
	// Flush sends what is buffered: the instance has nothing more yet, so
	// streamed answers (server-sent events) arrive as they are produced.
	Flush() error
	// Trailer passes on a trailer field line of a chunked body, checked
	// already.
	Trailer(line []byte) error
	// End completes the body.
	End() error
}

// Limits of chunked framing. A chunk line is at most maxChunkLine bytes
// (net/http allows 4 KiB), the trailer section at most maxTrailer (net/http
// refuses one whose end it cannot see in its 4 KiB buffer), and a chunk
// may carry at most 16 bytes of overhead plus twice its data, over 16 KiB
// in all, as net/http's chunked reader allows.
const (
	maxChunkLine = 4000
	maxTrailer   = 4000
	maxExcess    = 16 << 10
)

// CopyBody copies the body an answer of head rh frames from r to out,
// calling f when r needs more bytes (and out.Flush before). It checks the
// framing as strictly as net/http's Transport: chunk lines end in CRLF
// with no other CR, chunk sizes are hexadecimal digits, extensions and
// trailer fields hold no control characters. It returns ErrMalformed for a
// framing error, ErrWrite when out fails, and f's error otherwise; out.End
// is called once the body ended well.
func CopyBody(r *bufio.Reader, f Filler, out Sink, rh *Response) error {
	var err error
	switch {
	case rh.Chunked:
		err = copyChunked(r, f, out)
	case rh.Length > 0:
		err = copyN(r, f, out, rh.Length)
	case rh.Length < 0:
		err = copyToEOF(r, f, out)
	}
	if err != nil {
		return err
	}
	if out.End() != nil {
		return ErrWrite
	}
	return nil
}

// more flushes out, then reads more into r.
func more(f Filler, out Sink) error {
	if out.Flush() != nil {
		return ErrWrite
	}
	return f.Fill()
}

func copyN(r *bufio.Reader, f Filler, out Sink, n int64) error {
	for n > 0 {
		if r.Buffered() == 0 {
			if err := more(f, out); err != nil {
				if errors.Is(err, io.EOF) {
					return io.ErrUnexpectedEOF
				}
				return err
			}
		}
		k := min(int64(r.Buffered()), n)
		b, _ := r.Peek(int(k))
		if out.Data(b) != nil {
			return ErrWrite
		}
		r.Discard(int(k))
		n -= k
	}
	return nil
}

func copyToEOF(r *bufio.Reader, f Filler, out Sink) error {
	for {
		if r.Buffered() == 0 {
			if err := more(f, out); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
		b, _ := r.Peek(r.Buffered())
		if out.Data(b) != nil {
			return ErrWrite
		}
		r.Discard(len(b))
	}
}

func copyChunked(r *bufio.Reader, f Filler, out Sink) error {
	var excess int64
	for {
		line, err := readLine(r, f, out)
		if err != nil {
			return err
		}
		excess += int64(len(line)) + 2
		size, ok := ChunkSize(line)
		if !ok {
			return ErrMalformed
		}
		excess = max(excess-16-2*size, 0)
		if excess > maxExcess {
			return ErrMalformed
		}
		if size == 0 {
			break
		}
		if err := copyN(r, f, out, size); err != nil {
			return err
		}
		if line, err = readLine(r, f, out); err != nil {
			return err
		}
		if len(line) != 0 {
			return ErrMalformed
		}
	}
	total := 0
	for {
		line, err := readLine(r, f, out)
		if err != nil {
			return err
		}
		if total += len(line) + 2; total > maxTrailer {
			return ErrMalformed
		}
		if len(line) == 0 {
			return nil
		}
		if _, _, ok := CutField(line); !ok {
			return ErrMalformed
		}
		if out.Trailer(line) != nil {
			return ErrWrite
		}
	}
}

// readLine reads a line of a chunked body, which must end in CRLF and hold
// no other CR, and returns it without its CRLF; it is valid until the next
// read.
func readLine(r *bufio.Reader, f Filler, out Sink) ([]byte, error) {
	for {
		if n := r.Buffered(); n > 0 {
			b, _ := r.Peek(n)
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				line := b[:i]
				r.Discard(i + 1)
				if i == 0 || bytes.IndexByte(line, '\r') != i-1 || i-1 > maxChunkLine {
					return nil, ErrMalformed
				}
				return line[:i-1], nil
			}
			if n > maxChunkLine+1 {
				return nil, ErrMalformed
			}
		}
		if err := more(f, out); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// ChunkSize parses a chunk-size line (without its CRLF) as net/http does,
// trailing spaces trimmed and the size's hexadecimal digits up to a
// semicolon, and also checks that its extensions hold no control
// characters.
func ChunkSize(line []byte) (int64, bool) {
	line = TrimRightOWS(line)
	size, ext, _ := bytes.Cut(line, []byte(";"))
	if len(size) == 0 || len(size) > 15 || !ValidValue(ext) {
		return 0, false
	}
	var n int64
	for _, b := range size {
		var d byte
		switch {
		case '0' <= b && b <= '9':
			d = b - '0'
		case 'a' <= b && b <= 'f':
			d = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			d = b - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}
