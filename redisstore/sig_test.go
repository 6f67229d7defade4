package redisstore_test

import "syscall"

var sigStop, sigCont = syscall.SIGSTOP, syscall.SIGCONT
