package proxy

import (
	"syscall"
	"unsafe"
)

// peekRecv peeks at what fd holds, without waiting: recv(2) with MSG_PEEK
// and MSG_DONTWAIT. The call cannot block, so it is made as a raw system
// call, sparing the scheduler's bookkeeping around a blocking one.
func peekRecv(fd int, b []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return int(n), errno
}
