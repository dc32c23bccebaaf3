//go:build !linux

package proxy

import (
	"errors"
	"net"
)

// rawIO is raw socket I/O, which only Linux has here; newRawIO returns
// nil, and net.Conn serves.
type rawIO struct{ net.Conn }

func newRawIO(net.Conn) *rawIO { return nil }

func (r *rawIO) sendThenWait(send func() error) error { return send() }

func (r *rawIO) poll(func() bool) error { return errors.ErrUnsupported }

func (r *rawIO) drained() bool { return false }
