//go:build unix

package proxy

import (
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
		n, errno := peekRecv(fd, buf[:])
		switch {
		case errno == 0 && n > 0:
			return connData
		case errno == 0:
			return connClosed // orderly shutdown: EOF
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN || errno == syscall.EWOULDBLOCK:
			return connOpen
		default:
			return connClosed // reset, or another error: it is of no use
		}
	}
}
