package proxy

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawIO reads and writes a TCP connection with system calls made directly
// under the connection's poller (syscall.RawConn), instead of through
// net.Conn. The sockets are non-blocking, so the calls never wait; made
// raw, they skip the scheduler's bookkeeping around a blocking call, which
// on a busy proxy also kept the runtime's monitor thread waking every 20 µs
// to take back processors from "blocked" calls that were not. Waits still
// go through the poller, with deadlines and Close working as on net.Conn.
//
// It also lets a request be sent and its answer awaited in one poller
// operation (sendThenWait), which spares the read that would otherwise
// find nothing yet, as haproxy waits for readiness instead of trying.
type rawIO struct {
	rc      syscall.RawConn
	p       []byte
	n       int
	errno   syscall.Errno
	readFn  func(uintptr) bool
	writeFn func(uintptr) bool

	// Inside a poller operation (see frontConn.step), reads go straight
	// to fd and report errWouldBlock instead of waiting; short records
	// whether the last one took less than it asked for, that is, whether
	// it drained the socket.
	inside bool
	fd     uintptr
	short  bool

	step   func() bool // for poll
	stepFn func(uintptr) bool

	send     func() error // for sendThenWait
	sent     bool
	sendErr  error
	sendWait func(uintptr) bool
}

// newRawIO returns raw I/O for nc, or nil when nc is not a TCP connection.
func newRawIO(nc net.Conn) *rawIO {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{rc: rc}
	r.readFn = r.read
	r.writeFn = r.write
	r.sendWait = r.sendThenPark
	r.stepFn = r.runStep
	return r
}

func (r *rawIO) read(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.p))), uintptr(len(r.p)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		r.n, r.errno = int(n), errno
		return true
	}
}

// Read implements io.Reader.
func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.errno = p, 0, 0
	var err error
	if r.inside {
		if !r.read(r.fd) {
			r.p = nil
			return 0, errWouldBlock
		}
		r.short = r.errno == 0 && r.n < len(p)
	} else {
		err = r.rc.Read(r.readFn)
	}
	r.p = nil
	switch {
	case err != nil:
		return 0, err
	case r.errno != 0:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", r.errno)}
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

func (r *rawIO) write(fd uintptr) bool {
	for r.n < len(r.p) {
		b := r.p[r.n:]
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
			syscall.MSG_NOSIGNAL, 0, 0)
		switch errno {
		case 0:
			r.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			r.errno = errno
			return true
		}
	}
	return true
}

// Write implements io.Writer.
func (r *rawIO) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.errno = p, 0, 0
	err := r.rc.Write(r.writeFn)
	n := r.n
	r.p = nil
	switch {
	case err != nil:
		return n, err
	case r.errno != 0:
		return n, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", r.errno)}
	}
	return n, nil
}

func (r *rawIO) sendThenPark(uintptr) bool {
	if r.sent {
		return true
	}
	r.sent = true
	r.sendErr = r.send()
	return r.sendErr != nil
}

// sendThenWait calls send, which writes to the connection, and then waits
// until the connection has something to read, its read deadline passes or
// it closes. The wait starts before send writes anything, so an answer
// cannot slip in between unnoticed; only send's error is returned, the
// next read finding anything else.
func (r *rawIO) sendThenWait(send func() error) error {
	r.send, r.sent, r.sendErr = send, false, nil
	r.rc.Read(r.sendWait)
	if !r.sent {
		// The connection was closed, or its deadline passed, before
		// the wait began: send anyway, and let the read report it.
		r.sent = true
		r.sendErr = send()
	}
	r.send = nil
	return r.sendErr
}

// poll runs step under the connection's poller as syscall.RawConn.Read
// does: step is called at once and again each time the connection becomes
// readable, until it returns true; between its calls, reads made through r
// go straight to the socket (see inside). Waiting in between does not
// reset the poller, so whatever arrives after a read that drained the
// socket wakes step: a caller that has just drained it may wait without
// reading again.
func (r *rawIO) poll(step func() bool) error {
	r.step = step
	err := r.rc.Read(r.stepFn)
	r.inside, r.step = false, nil
	return err
}

func (r *rawIO) runStep(fd uintptr) bool {
	r.inside, r.fd, r.short = true, fd, false
	done := r.step()
	r.inside = false
	return done
}

// drained reports whether the last read inside poll took less than it
// asked for: the socket held nothing more at that moment.
func (r *rawIO) drained() bool { return r.short }
