package proxy

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy/internal/http1"
)

// closing reports whether the connection ends after this answer: the
// client asked, the server is shutting down, or the request's body was
// left unread.
func (c *frontConn) closing() bool {
	rq := &c.rq
	return rq.CloseConn || c.s.shutting.Load() || (rq.Length > 0 && !rq.headGone)
}

// interim implements side.
func (c *frontConn) interim(b []byte) error {
	rh, err := http1.ScanResponse(b, false)
	if err != nil {
		return err
	}
	c.out.Head(b, &rh)
	c.bw.WriteString("\r\n")
	if c.bw.Flush() != nil {
		return errClient
	}
	return nil
}

// respond implements side.
func (c *frontConn) respond(b []byte, setCookie string) (http1.Response, error) {
	rh, err := http1.ScanResponse(b, c.rq.IsHead)
	if err != nil {
		return rh, err
	}
	c.out.Head(b, &rh)
	w := c.bw
	if !rh.HasDate {
		w.Write(c.s.p.dateLine(time.Now()))
	}
	if setCookie != "" {
		w.WriteString("Set-Cookie: ")
		w.WriteString(setCookie)
		w.WriteString("\r\n")
	}
	if c.closing() {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	return rh, nil
}

// sink implements side.
func (c *frontConn) sink() http1.Sink { return &c.out }

// fail implements side: an empty answer with status, as
// httputil.ReverseProxy's error handler gives.
func (c *frontConn) fail(status int, setCookie string) {
	c.statusLine(status)
	w := c.bw
	w.WriteString("Content-Length: 0\r\n")
	if setCookie != "" {
		w.WriteString("Set-Cookie: ")
		w.WriteString(setCookie)
		w.WriteString("\r\n")
	}
	if c.closing() {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
}

// statusLine writes the status line and the Date field of an answer of
// the proxy's own.
func (c *frontConn) statusLine(status int) {
	w := c.bw
	w.WriteString("HTTP/1.1 ")
	var buf [8]byte
	w.Write(strconv.AppendInt(buf[:0], int64(status), 10))
	w.WriteByte(' ')
	w.WriteString(http.StatusText(status))
	w.WriteString("\r\n")
	w.Write(c.s.p.dateLine(time.Now()))
}

// errorPage answers as http.Error does, then finishes the exchange; it
// reports whether the connection may carry another request.
func (c *frontConn) errorPage(status int, msg string) bool {
	c.statusLine(status)
	w := c.bw
	w.WriteString("Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ")
	var buf [20]byte
	w.Write(strconv.AppendInt(buf[:0], int64(len(msg)+1), 10))
	w.WriteString("\r\n")
	if c.closing() {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	if !c.rq.IsHead {
		w.WriteString(msg)
		w.WriteByte('\n')
	}
	return c.finish()
}

// dateLine returns the Date field for now, "Date: ...\r\n", formatted once
// a second.
func (p *Proxy) dateLine(now time.Time) []byte {
	sec := now.Unix()
	if d := p.date.Load(); d != nil && d.sec == sec {
		return d.line
	}
	line := now.UTC().AppendFormat([]byte("Date: "), http.TimeFormat)
	line = append(line, "\r\n"...)
	p.date.Store(&dateLine{sec: sec, line: line})
	return line
}

// dateLine is a formatted Date field and the second it is for.
type dateLine struct {
	sec  int64
	line []byte
}
