package proxy

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// closing reports whether the connection ends after this answer: the
// client asked, the server is shutting down, or the request's body was
// left unread.
func (c *frontConn) closing() bool {
	rq := &c.rq
	return rq.closeConn || c.s.shutting.Load() || (rq.length > 0 && !rq.headGone)
}

// writeHead writes an answer's status line and fields from the instance's
// head b to the client: HTTP/1.1 whatever the instance spoke, without the
// hop-by-hop fields (and those its Connection field names).
func (c *frontConn) writeHead(b []byte, rh *respHead) {
	w := c.bw
	ls := lines{b: b}
	status, _, _ := ls.next()
	w.WriteString("HTTP/1.1")
	w.Write(status[8:])
	w.WriteString("\r\n")
	var dropNames [][]byte
	if rh.connNames {
		dropNames = connectionNames(b)
	}
	lengthSent := false
	for {
		line, _, ok := ls.next()
		if !ok {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if dropResponseField(fieldKind(line[:colon]), rh, &lengthSent) || (dropNames != nil && namedBy(dropNames, line[:colon])) {
			continue
		}
		w.Write(line)
		w.WriteString("\r\n")
	}
}

// interim implements side.
func (c *frontConn) interim(b []byte) error {
	rh, err := scanResponse(b, false)
	if err != nil {
		return err
	}
	c.writeHead(b, &rh)
	c.bw.WriteString("\r\n")
	if c.bw.Flush() != nil {
		return errClient
	}
	return nil
}

// respond implements side.
func (c *frontConn) respond(b []byte, setCookie string) (respHead, error) {
	rh, err := scanResponse(b, c.rq.isHead)
	if err != nil {
		return rh, err
	}
	c.writeHead(b, &rh)
	w := c.bw
	if !rh.hasDate {
		w.Write(c.s.p.dateLine(time.Now()))
	}
	if setCookie != "" {
		w.WriteString("Set-Cookie: ")
		w.WriteString(setCookie)
		w.WriteString("\r\n")
	}
	if rh.length < 0 {
		// A chunked body, or one that ends with the instance's connection:
		// chunks tell the client where it ends, so its connection lives on.
		c.rq.chunking = true
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if c.closing() {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	return rh, nil
}

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
	if !c.rq.isHead {
		w.WriteString(msg)
		w.WriteByte('\n')
	}
	return c.finish()
}

// data implements bodyOut.
func (c *frontConn) data(p []byte) error {
	if !c.rq.chunking {
		_, err := c.bw.Write(p)
		return err
	}
	if len(p) == 0 {
		return nil
	}
	var buf [16]byte
	c.bw.Write(strconv.AppendInt(buf[:0], int64(len(p)), 16))
	c.bw.WriteString("\r\n")
	c.bw.Write(p)
	_, err := c.bw.WriteString("\r\n")
	return err
}

// flush implements bodyOut.
func (c *frontConn) flush() error { return c.bw.Flush() }

// trailer implements bodyOut: trailer fields pass on as they are.
func (c *frontConn) trailer(line []byte) error {
	if !c.rq.chunking {
		return nil
	}
	if !c.rq.zeroSent {
		c.rq.zeroSent = true
		c.bw.WriteString("0\r\n")
	}
	c.bw.Write(line)
	_, err := c.bw.WriteString("\r\n")
	return err
}

// end implements bodyOut.
func (c *frontConn) end() error {
	if !c.rq.chunking {
		return nil
	}
	if !c.rq.zeroSent {
		c.bw.WriteString("0\r\n")
	}
	_, err := c.bw.WriteString("\r\n")
	return err
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
