//go:build unix

package proxy

import (
	"errors"
	"net"
	"syscall"
)

// peekConn reports, without reading anything and without waiting, whether
// the peer of nc has closed it, sent data, or neither.
func peekConn(nc net.Conn) connState {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return connUnknown
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return connUnknown
	}
	st := connUnknown
	var buf [1]byte
	// Control, unlike Read, ignores deadlines: the peek never waits anyway.
	err = rc.Control(func(fd uintptr) {
		for {
			n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case n > 0:
				st = connData
			case err == nil:
				st = connClosed // orderly shutdown: EOF
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK):
				st = connOpen
			default:
				st = connClosed // reset, or another error: it is of no use
			}
			return
		}
	})
	if err != nil {
		return connClosed // closed on our side
	}
	return st
}
