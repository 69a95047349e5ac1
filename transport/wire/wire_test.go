package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"sync"
	"testing"
)

// frameBytes builds one frame by hand, as the protocol describes it.
func frameBytes(length uint32, id uint32, op byte, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, length)
	b = binary.BigEndian.AppendUint32(b, id)
	b = append(b, op)
	return append(b, payload...)
}

func TestSendThenReadFrame(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	frames := []Frame{
		{ID: 0, Op: OpHello, Payload: []byte{}},
		{ID: 1, Op: OpLstat, Payload: []byte("a/b")},
		{ID: math.MaxUint32, Op: RepItem, Payload: bytes.Repeat([]byte{0xff}, Chunk)},
	}
	for _, f := range frames {
		// Sent in two parts: a frame is the concatenation.
		half := len(f.Payload) / 2
		if err := w.Send(f.ID, f.Op, f.Payload[:half], f.Payload[half:]); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(&buf)
	for _, want := range frames {
		got, err := ReadFrame(r)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.Op != want.Op || !bytes.Equal(got.Payload, want.Payload) {
			t.Errorf("read frame id %d op %#x len %d, want id %d op %#x len %d",
				got.ID, got.Op, len(got.Payload), want.ID, want.Op, len(want.Payload))
		}
	}
	if _, err := ReadFrame(r); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestReadFrameBroken(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"header cut", frameBytes(5, 1, OpLstat, nil)[:6], io.ErrUnexpectedEOF},
		{"length below header", frameBytes(4, 1, OpLstat, nil), ErrFrame},
		{"length zero", frameBytes(0, 1, OpLstat, nil), ErrFrame},
		{"length over MaxFrame", frameBytes(MaxFrame+1, 1, OpLstat, nil), ErrFrame},
		{"length huge", frameBytes(math.MaxUint32, 1, OpLstat, nil), ErrFrame},
		{"payload cut", frameBytes(5+10, 1, OpLstat, []byte("abc")), io.ErrUnexpectedEOF},
		{"payload missing", frameBytes(5+10, 1, OpLstat, nil), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFrame(bufio.NewReader(bytes.NewReader(tt.in)))
			if !errors.Is(err, tt.want) {
				t.Errorf("ReadFrame = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSendTooBig(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	err := w.Send(1, OpWrite, make([]byte, MaxFrame-5), []byte{1})
	if !errors.Is(err, ErrFrame) {
		t.Errorf("Send of a frame over MaxFrame = %v, want ErrFrame", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written for a refused frame", buf.Len())
	}
	if err := w.Send(2, OpWrite, make([]byte, MaxFrame-5)); err != nil {
		t.Errorf("Send of a frame of exactly MaxFrame: %v", err)
	}
}

// errWriter fails every write.
type errWriter struct{ n int }

func (w *errWriter) Write(p []byte) (int, error) { w.n++; return 0, io.ErrClosedPipe }

func TestSendErrorSticks(t *testing.T) {
	ew := &errWriter{}
	w := NewWriter(ew)
	for i := range 3 {
		if err := w.Send(uint32(i), OpLstat, []byte("x")); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("Send %d = %v, want the write error", i, err)
		}
	}
	if ew.n != 1 {
		t.Errorf("%d writes after the first failed, want none", ew.n-1)
	}
}

// Frames sent from many goroutines at once arrive whole, none mixed with
// another.
func TestSendConcurrent(t *testing.T) {
	pr, pw := io.Pipe()
	w := NewWriter(pw)
	const senders, each = 8, 200
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				payload := bytes.Repeat([]byte{byte(s)}, 1+(i*997)%5000)
				if err := w.Send(uint32(s), RepItem, payload); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); pw.Close() }()
	r := bufio.NewReader(pr)
	count := map[uint32]int{}
	for {
		f, err := ReadFrame(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Payload) == 0 || !bytes.Equal(f.Payload, bytes.Repeat([]byte{byte(f.ID)}, len(f.Payload))) {
			t.Fatalf("frame of sender %d holds bytes of another", f.ID)
		}
		count[f.ID]++
	}
	for s := range senders {
		if count[uint32(s)] != each {
			t.Errorf("sender %d: %d frames arrived, want %d", s, count[uint32(s)], each)
		}
	}
}

func TestEncDecRoundTrip(t *testing.T) {
	var e Enc
	e.Uint(0)
	e.Uint(math.MaxUint64)
	e.Int(math.MinInt64)
	e.Int(-1)
	e.Bytes(nil)
	e.Bytes([]byte{0, 1, 2})
	e.String("caf\xe9/\n\\")
	d := &Dec{B: e.B}
	if v := d.Uint(); v != 0 {
		t.Errorf("Uint = %d", v)
	}
	if v := d.Uint(); v != math.MaxUint64 {
		t.Errorf("Uint = %d", v)
	}
	if v := d.Int(); v != math.MinInt64 {
		t.Errorf("Int = %d", v)
	}
	if v := d.Int(); v != -1 {
		t.Errorf("Int = %d", v)
	}
	if v := d.Bytes(); len(v) != 0 {
		t.Errorf("Bytes = %q", v)
	}
	if v := d.Bytes(); !bytes.Equal(v, []byte{0, 1, 2}) {
		t.Errorf("Bytes = %q", v)
	}
	if v := d.String(); v != "caf\xe9/\n\\" {
		t.Errorf("String = %q", v)
	}
	if d.More() || d.Err != nil {
		t.Errorf("after all: More %v, Err %v", d.More(), d.Err)
	}
}

func TestDecCutShort(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		read func(d *Dec)
	}{
		{"uint from nothing", nil, func(d *Dec) { d.Uint() }},
		{"varint unterminated", []byte{0x80, 0x80}, func(d *Dec) { d.Int() }},
		{"bytes longer than payload", []byte{10, 'a'}, func(d *Dec) { d.Bytes() }},
		{"length overflows", binary.AppendUvarint(nil, math.MaxUint64), func(d *Dec) { _ = d.String() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Dec{B: tt.in}
			tt.read(d)
			if !errors.Is(d.Err, ErrFrame) {
				t.Fatalf("Err = %v, want ErrFrame", d.Err)
			}
			// The failure sticks: later reads give zero values.
			if v := d.Uint(); v != 0 || d.More() || d.String() != "" {
				t.Errorf("read after failure gave %d, More %v", v, d.More())
			}
		})
	}
}

func TestInfoAndErrorRoundTrip(t *testing.T) {
	in := Info{Path: "d/caf\xe9", Mode: 0o755 | 1<<31, Size: 1 << 40, Sec: -5, Nsec: 999999999,
		UID: 1000, GID: -1, Link: "../x", Nlink: 3, Dev: 2049, Ino: math.MaxUint64, Rdev: 259}
	var e Enc
	in.Encode(&e)
	werr := &Error{Kind: KindErrno, Errno: 2, Path: "a/b", Msg: "no such file"}
	werr.Encode(&e)
	d := &Dec{B: e.B}
	if out := DecodeInfo(d); out != in {
		t.Errorf("DecodeInfo = %+v, want %+v", out, in)
	}
	if out := DecodeError(d); *out != *werr {
		t.Errorf("DecodeError = %+v, want %+v", out, werr)
	}
	if got := DecodeError(&Dec{B: []byte{1}}); got.Kind != KindOther || got.Msg == "" {
		t.Errorf("DecodeError of a cut payload = %+v, want KindOther with a message", got)
	}
}

// FuzzReadFrame feeds arbitrary bytes to the frame decoder: it never
// panics nor allocates past MaxFrame, every frame it accepts is sent back
// by Send byte for byte, and the payload decoders never panic on it.
func FuzzReadFrame(f *testing.F) {
	f.Add(frameBytes(5, 0, OpHello, nil))
	f.Add(frameBytes(8, 7, OpLstat, []byte{2, 'a', 'b'}))
	f.Add(frameBytes(4, 1, RepOK, nil))
	f.Add(frameBytes(MaxFrame+1, 1, RepOK, nil))
	f.Add(append(frameBytes(6, 1, RepItem, []byte{0x80}), frameBytes(5, 2, RepErr, nil)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		var again bytes.Buffer
		w := NewWriter(&again)
		consumed := 0
		for {
			fr, err := ReadFrame(r)
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrFrame) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				break
			}
			if len(fr.Payload) > MaxFrame-5 {
				t.Fatalf("payload of %d bytes accepted", len(fr.Payload))
			}
			consumed += 9 + len(fr.Payload)
			if err := w.Send(fr.ID, fr.Op, fr.Payload); err != nil {
				t.Fatal(err)
			}
			d := &Dec{B: fr.Payload}
			for d.More() {
				DecodeInfo(d)
			}
			DecodeError(&Dec{B: fr.Payload})
		}
		if !bytes.Equal(again.Bytes(), in[:consumed]) {
			t.Fatalf("frames re-sent differ from the input read")
		}
	})
}
