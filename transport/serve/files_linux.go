package serve

import (
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"github.com/mirrorfence/mirrorfence/transport/wire"
)

// handle is a file the client holds open between requests.
type handle struct {
	fd   int
	name string
}

func (s *server) addHandle(fd int, name string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.handles[s.next] = &handle{fd: fd, name: name}
	return s.next
}

func (s *server) getHandle(d *wire.Dec) (*handle, error) {
	id := d.Uint()
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.handles[id]
	if h == nil {
		return nil, fmt.Errorf("%w: no open file %d", errInvalid, id)
	}
	return h, nil
}

func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, h := range s.handles {
		unix.Close(h.fd)
		delete(s.handles, id)
	}
}

// openRegular opens name with flags, without blocking (a FIFO swapped in
// does not hang the open), and makes sure what was opened is a regular
// file.
func (s *server) openRegular(name string, flags int) (int, int64, error) {
	fd, err := s.root.open(name, flags|unix.O_NONBLOCK, 0)
	if err == unix.ENXIO {
		// What a FIFO without a reader, or a socket, gives a
		// non-blocking open for writing; a regular file never does.
		return -1, 0, fmt.Errorf("%w (a FIFO or socket)", errNotRegular)
	}
	if err != nil {
		return -1, 0, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return -1, 0, unix.EISDIR
		}
		return -1, 0, fmt.Errorf("%w (%v)", errNotRegular, fileMode(st.Mode).Type())
	}
	// Regular files ignore O_NONBLOCK; clear it all the same.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	return fd, st.Size, nil
}

// preadFull reads len(b) bytes at off, fewer only at the end of the file.
func preadFull(fd int, b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Pread(fd, b[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// open opens a file for reading and sends its first part with the answer:
// handle (0 when the whole file came), size, data, eof.
func (s *server) open(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	first := min(d.Uint(), wire.Chunk)
	if err != nil {
		return nil, err
	}
	fd, size, err := s.openRegular(n, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, first)
	got, err := preadFull(fd, buf, 0)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	var id uint64
	eof := got < len(buf)
	if eof {
		unix.Close(fd)
	} else {
		id = s.addHandle(fd, n)
	}
	var e wire.Enc
	e.Uint(id)
	e.Int(size)
	e.Bytes(buf[:got])
	e.Uint(b2u(eof))
	return e.B, nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func (s *server) read(_ uint32, d *wire.Dec) ([]byte, error) {
	h, err := s.getHandle(d)
	off, n := d.Int(), min(d.Uint(), wire.Chunk)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	got, err := preadFull(h.fd, buf, off)
	if err != nil {
		return nil, err
	}
	var e wire.Enc
	e.Bytes(buf[:got])
	return e.B, nil
}

func (s *server) closeHandle(_ uint32, d *wire.Dec) ([]byte, error) {
	id := d.Uint()
	s.mu.Lock()
	h := s.handles[id]
	delete(s.handles, id)
	s.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("%w: no open file %d", errInvalid, id)
	}
	return nil, unix.Close(h.fd)
}

// create makes a new file exclusively (O_EXCL: nothing that exists, a
// symlink neither, is opened) with the bits asked (the umask is 0).
func (s *server) create(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := entryName(d)
	perm := fs.FileMode(d.Uint()).Perm()
	if err != nil {
		return nil, err
	}
	fd, err := s.root.open(n, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, uint32(perm))
	if err != nil {
		return nil, err
	}
	var e wire.Enc
	e.Uint(s.addHandle(fd, n))
	return e.B, nil
}

func (s *server) write(_ uint32, d *wire.Dec) ([]byte, error) {
	h, err := s.getHandle(d)
	off, data := d.Int(), d.Bytes()
	if err != nil {
		return nil, err
	}
	for len(data) > 0 {
		m, err := unix.Pwrite(h.fd, data, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		data, off = data[m:], off+int64(m)
	}
	return nil, nil
}

func (s *server) sync(_ uint32, d *wire.Dec) ([]byte, error) {
	h, err := s.getHandle(d)
	if err != nil {
		return nil, err
	}
	return nil, unix.Fsync(h.fd)
}

func (s *server) truncate(_ uint32, d *wire.Dec) ([]byte, error) {
	h, err := s.getHandle(d)
	size := d.Int()
	if err != nil {
		return nil, err
	}
	return nil, unix.Ftruncate(h.fd, size)
}

// openPatch opens an existing regular file for writing in place.
func (s *server) openPatch(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := entryName(d)
	if err != nil {
		return nil, err
	}
	fd, _, err := s.openRegular(n, unix.O_WRONLY)
	if err != nil {
		return nil, err
	}
	var e wire.Enc
	e.Uint(s.addHandle(fd, n))
	return e.B, nil
}

// hash returns the BLAKE3 sum of a regular file, read here.
func (s *server) hash(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	if err != nil {
		return nil, err
	}
	fd, _, err := s.openRegular(n, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), n)
	defer f.Close()
	h := blake3.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// hashBlocks returns the BLAKE3 sums of the file's blocks of size bytes.
func (s *server) hashBlocks(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	size := d.Uint()
	if err != nil {
		return nil, err
	}
	if size == 0 || size > 64<<20 {
		return nil, fmt.Errorf("%w: block size %d", errInvalid, size)
	}
	fd, _, err := s.openRegular(n, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), n)
	defer f.Close()
	var out []byte
	buf := make([]byte, size)
	for {
		m, err := io.ReadFull(f, buf)
		if m > 0 {
			sum := blake3.Sum256(buf[:m])
			out = append(out, sum[:]...)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// clone copies regular file old to the new name next to the data: a
// reflink where the filesystem can, else copy_file_range.
func (s *server) clone(_ uint32, d *wire.Dec) ([]byte, error) {
	oldname, err := name(d)
	if err != nil {
		return nil, err
	}
	newname, err := entryName(d)
	if err != nil {
		return nil, err
	}
	src, _, err := s.openRegular(oldname, unix.O_RDONLY)
	if err != nil {
		return nil, &fs.PathError{Op: "clone", Path: oldname, Err: err}
	}
	defer unix.Close(src)
	dst, err := s.root.open(newname, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err = unix.IoctlFileClone(dst, src); err != nil {
		err = copyFd(dst, src)
	}
	if cerr := unix.Close(dst); err == nil {
		err = cerr
	}
	if err != nil {
		_ = s.at(newname, func(dirfd int, base string) error { return unix.Unlinkat(dirfd, base, 0) })
		return nil, err
	}
	return nil, nil
}

// copyFd copies all of src to dst: copy_file_range, else read and write.
func copyFd(dst, src int) error {
	for {
		n, err := unix.CopyFileRange(src, nil, dst, nil, 1<<30, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil && n == 0:
			return copySlow(dst, src)
		case err != nil:
			return err
		case n == 0:
			return nil
		}
	}
}

func copySlow(dst, src int) error {
	buf := make([]byte, wire.Chunk)
	var off int64
	if o, err := unix.Seek(src, 0, io.SeekCurrent); err == nil {
		off = o
	}
	for {
		n, err := preadFull(src, buf, off)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		for b := buf[:n]; len(b) > 0; {
			m, err := unix.Write(dst, b)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			b = b[m:]
		}
		off += int64(n)
	}
}
