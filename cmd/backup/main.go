// Command backup keeps mirror copies of directory trees on other hosts over
// SSH, fenced so that no run can be turned against the good copy.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile()
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}
