package translog

import (
	"os"
	"path/filepath"
)

// writeFileAtomic replaces name with data: a temporary file in the same
// directory, synced, renamed over name, and the directory synced, so a
// crash leaves either the old or the new content.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// WriteFileAtomic is writeFileAtomic for other packages (the witness and
// update state files).
func WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	return writeFileAtomic(name, data, perm)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some file systems refuse to sync a directory; the rename is still
	// atomic there.
	_ = d.Sync()
	return nil
}

// appendFileSync appends data to name and syncs it.
func appendFileSync(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// LockFile takes an exclusive lock on the file name (created if needed)
// for as long as the process lives or until unlock is called; a second
// holder fails at once. Used for state directories (publisher, witness).
func LockFile(name string) (unlock func(), err error) { return lockDir(name) }
