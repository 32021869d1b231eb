package capacity

import (
	"fmt"
	"os"
	"syscall"
)

// Descriptors a committer holds open: its client's connection to the
// seed broker and to the coordinator, and the broker's side of both when
// the broker runs in this process (embedded). A test measures them.
const (
	fdsPerCommitter         = 2
	fdsPerCommitterInBroker = 2
	// fdHeadroom is left for everything else: the admin client, the
	// results files, the metrics endpoint, the runtime.
	fdHeadroom = 64
)

// CheckFDs reports whether this process may open the descriptors that
// committers committers need (the broker's side too when inProcess),
// against RLIMIT_NOFILE and what is open already. The error says how many
// are needed and what to change.
func CheckFDs(committers int, inProcess bool) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("reading RLIMIT_NOFILE: %w", err)
	}
	open := 0
	if entries, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = len(entries)
	}
	per := fdsPerCommitter
	if inProcess {
		per += fdsPerCommitterInBroker
	}
	need := committers*per + fdHeadroom
	if free := int64(lim.Cur) - int64(open); int64(need) > free {
		return fmt.Errorf("--groups %d (capacity.groups): the committers need about %d file descriptors (%d each, a connection per committer), but this process may open %d (RLIMIT_NOFILE) and has %d open; lower --groups to %d or raise the limit (ulimit -n %d)",
			committers, need, per, lim.Cur, open, max(0, (free-fdHeadroom)/int64(per)), need+open)
	}
	return nil
}
