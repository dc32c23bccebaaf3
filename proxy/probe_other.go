//go:build !unix

package proxy

import "net"

// peekConn cannot look at a connection without reading on this system; it
// reports connUnknown, so idle connections are reused as they are and
// clients are not watched while their instance works.
func peekConn(net.Conn) connState { return connUnknown }

func connFD(net.Conn) int { return -1 }

func peekFD(int) connState { return connUnknown }
