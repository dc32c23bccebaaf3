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
	fd := connFD(nc)
	if fd < 0 {
		return connUnknown
	}
	return peekFD(fd)
}

// connFD returns the socket of nc, or -1. The descriptor is valid while nc
// is open; the proxy peeks at it only on connections it owns.
func connFD(nc net.Conn) int {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if rc.Control(func(s uintptr) { fd = int(s) }) != nil {
		return -1
	}
	return fd
}

// peekFD reports, without reading anything and without waiting, whether
// the peer of the socket fd has closed it, sent data, or neither.
func peekFD(fd int) connState {
	var buf [1]byte
	for {
		n, _, err := syscall.Recvfrom(fd, buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n > 0:
			return connData
		case err == nil:
			return connClosed // orderly shutdown: EOF
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK):
			return connOpen
		default:
			return connClosed // reset, or another error: it is of no use
		}
	}
}
