package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// SaveState stores a reader's state (its position and whatever else it
// needs to resume) under name, replacing the previous one atomically: after
// a crash LoadState returns either the old state or the new one, whole.
func (l *Log) SaveState(name string, state []byte) error {
	path := filepath.Join(l.opts.Dir, name+".state")
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("save spool state: %w", err)
	}
	_, err = f.Write(state)
	if err == nil && l.opts.Sync {
		err = fdatasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil && l.opts.Sync {
		err = syncDir(l.opts.Dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("save spool state %s: %w", path, err)
	}
	return nil
}

// LoadState returns the state saved under name, or nil if there is none.
func (l *Log) LoadState(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(l.opts.Dir, name+".state"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// FreeSpace returns the bytes available to an unprivileged user on the
// filesystem holding dir.
func FreeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// Capacity returns the size of the filesystem holding dir.
func Capacity(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Blocks) * int64(st.Bsize), nil
}

func fdatasync(f *os.File) error {
	return unix.Fdatasync(int(f.Fd()))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
