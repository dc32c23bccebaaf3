//go:build unix && !linux

package proxy

import (
	"errors"
	"syscall"
)

// peekRecv peeks at what fd holds, without waiting: recv(2) with MSG_PEEK
// and MSG_DONTWAIT.
func peekRecv(fd int, b []byte) (int, syscall.Errno) {
	n, _, err := syscall.Recvfrom(fd, b, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	var errno syscall.Errno
	if err != nil && !errors.As(err, &errno) {
		errno = syscall.EIO
	}
	return n, errno
}
