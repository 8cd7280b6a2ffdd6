package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// MountSmallDisk mounts a filesystem of size bytes on a new directory for
// the test's lifetime: a tmpfs, or where tmpfs cannot be mounted a
// file-backed ext4 loop device. Both need root (CI runs as root); when
// neither can be mounted the test is skipped, saying why.
func MountSmallDisk(tb testing.TB, size int64) string {
	tb.Helper()
	dir := tb.TempDir()
	mnt := filepath.Join(dir, "disk")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		tb.Fatal(err)
	}
	tmpfsErr := unix.Mount("tmpfs", mnt, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size))
	if tmpfsErr == nil {
		tb.Cleanup(func() { unmount(tb, mnt) })
		return mnt
	}
	img := filepath.Join(dir, "disk.img")
	loopErr := func() error {
		f, err := os.Create(img)
		if err != nil {
			return err
		}
		if err := f.Truncate(size); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
			return fmt.Errorf("mkfs.ext4: %v: %s", err, out)
		}
		if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
			return fmt.Errorf("mount -o loop: %v: %s", err, out)
		}
		return nil
	}()
	if loopErr != nil {
		tb.Skipf("cannot mount a small filesystem for the full-disk test (needs root: CI runs as root): tmpfs: %v; loop device: %v", tmpfsErr, loopErr)
	}
	tb.Cleanup(func() { unmount(tb, mnt) })
	return mnt
}

func unmount(tb testing.TB, mnt string) {
	for range 50 {
		if err := unix.Unmount(mnt, 0); err == nil || err == unix.EINVAL {
			return
		}
		time.Sleep(100 * time.Millisecond) // the collector's files may still be closing
	}
	if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
		tb.Logf("unmount %s: %v", mnt, err)
	}
}

// FreeBytes returns the bytes available on the filesystem holding dir.
func FreeBytes(tb testing.TB, dir string) int64 {
	tb.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		tb.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// DirBytes returns the bytes the files under dir take.
func DirBytes(tb testing.TB, dir string) int64 {
	tb.Helper()
	var n int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
