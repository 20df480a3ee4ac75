package translog

import "os"

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
