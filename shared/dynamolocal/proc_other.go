//go:build unix && !linux

package dynamolocal

import "syscall"

// sysProcAttr puts java in its own process group. Without Pdeathsig (Linux
// only) a killed parent can leave java running here.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// ownsListeningPort cannot check socket ownership here; bind-error detection
// in the output is the only guard.
func ownsListeningPort(pid, port int) (bool, error) { return true, nil }
