package table

import (
	"errors"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in               string
		user, host, path string
		err              string
	}{
		{in: "uhane:/local/data/elixir", host: "uhane", path: "/local/data/elixir"},
		{in: "ptolemy2@uhane:/local/data/elixir/", user: "ptolemy2", host: "uhane", path: "/local/data/elixir"},
		{in: "/local//data/./x/../elixir", path: "/local/data/elixir"},
		{in: "/a:b@c", path: "/a:b@c"},
		{in: "h:/a@b:c", host: "h", path: "/a@b:c"},
		{in: "localhost:/x", path: "/x"},
		{in: "LocalHost:/x", path: "/x"},
		{in: "u@localhost:/x", user: "u", path: "/x"},
		{in: "naio:/x", path: "/x"},
		{in: "NAIO.ifa.hawaii.edu:/x", path: "/x"},
		{in: "naio.ifa:/x", host: "naio.ifa", path: "/x"},
		{in: "127.0.0.2:/x", host: "127.0.0.2", path: "/x"},
		{in: "[::1]:/x", host: "::1", path: "/x"},
		{in: "r@[fd00::7]:/x/", user: "r", host: "fd00::7", path: "/x"},
		{in: "h_1.a-b:/x", host: "h_1.a-b", path: "/x"},
		{in: "", err: `endpoint "": empty endpoint`},
		{in: "data/x", err: `endpoint "data/x": path must be absolute (want host:/path, user@host:/path or /path)`},
		{in: "uhane:data", err: `endpoint "uhane:data": path must be absolute (want host:/path, user@host:/path or /path)`},
		{in: "/", err: `endpoint "/": path is the root directory /; name the partition's directory`},
		{in: "h:/..", err: `endpoint "h:/..": path is the root directory /; name the partition's directory`},
		{in: "-oX=y:/x", err: `endpoint "-oX=y:/x": bad host name "-oX=y" (want letters, digits, '.', '_' or '-', not starting with '-' or '.')`},
		{in: "-u@h:/x", err: `endpoint "-u@h:/x": bad user name "-u" (want letters, digits, '.', '_' or '-', not starting with '-')`},
		{in: "[::1:/x", err: `endpoint "[::1:/x": bad IPv6 host (want [address]:/path)`},
		{in: "[::1]/x", err: `endpoint "[::1]/x": bad IPv6 host (want [address]:/path)`},
		{in: "/a b", err: `endpoint "/a b": blank inside a value`},
		{in: "/a\tb", err: `endpoint "/a\tb": blank inside a value`},
		{in: "/a\x00", err: `endpoint "/a\x00": NUL byte`},
		{in: "/a\x7f", err: `endpoint "/a\x7f": control character U+007F`},
		{in: "/a\xff", err: `endpoint "/a\xff": invalid UTF-8`},
	}
	for _, tt := range tests {
		e, err := ParseEndpoint(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseEndpoint(%q) error = %v, want %s", tt.in, err, tt.err)
			}
			if e != (Endpoint{}) {
				t.Errorf("ParseEndpoint(%q) = %#v with an error, want the zero Endpoint", tt.in, e)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseEndpoint(%q): %v", tt.in, err)
			continue
		}
		if e.User != tt.user || e.Host != tt.host || e.Path != tt.path {
			t.Errorf("ParseEndpoint(%q) = user %q host %q path %q, want %q %q %q", tt.in, e.User, e.Host, e.Path, tt.user, tt.host, tt.path)
		}
		if e.String() != tt.in {
			t.Errorf("ParseEndpoint(%q).String() = %q", tt.in, e.String())
		}
		if e.IsLocal() != (tt.host == "") {
			t.Errorf("ParseEndpoint(%q).IsLocal() = %v", tt.in, e.IsLocal())
		}
	}
}

func TestEndpointHostnameError(t *testing.T) {
	defer func(h func() (string, error)) { hostname = h }(hostname)
	hostname = func() (string, error) { return "", errors.New("no name") }
	e, err := ParseEndpoint("naio:/x")
	if err != nil || e.Host != "naio" {
		t.Errorf("ParseEndpoint without a hostname = %#v, %v; want host naio", e, err)
	}
	if e, _ := ParseEndpoint("localhost:/x"); !e.IsLocal() {
		t.Errorf("localhost is not local without a hostname")
	}
}

func TestEndpointString(t *testing.T) {
	tests := []struct {
		e    Endpoint
		want string
	}{
		{Endpoint{Path: "/x"}, "/x"},
		{Endpoint{Host: "h", Path: "/x"}, "h:/x"},
		{Endpoint{User: "u", Host: "h", Path: "/x"}, "u@h:/x"},
		{Endpoint{User: "u", Host: "::1", Path: "/x"}, "u@[::1]:/x"},
		{Endpoint{User: "u", Path: "/x"}, "/x"},
	}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestEndpointSameWithin(t *testing.T) {
	tests := []struct {
		a, b         Endpoint
		same, within bool
	}{
		{Endpoint{Host: "h", Path: "/a"}, Endpoint{Host: "H", Path: "/a"}, true, true},
		{Endpoint{User: "x", Host: "h", Path: "/a"}, Endpoint{User: "y", Host: "h", Path: "/a"}, true, true},
		{Endpoint{Host: "h", Path: "/a/b"}, Endpoint{Host: "h", Path: "/a"}, false, true},
		{Endpoint{Host: "h", Path: "/a"}, Endpoint{Host: "h", Path: "/a/b"}, false, false},
		{Endpoint{Host: "h", Path: "/ab"}, Endpoint{Host: "h", Path: "/a"}, false, false},
		{Endpoint{Host: "h", Path: "/a"}, Endpoint{Host: "g", Path: "/a"}, false, false},
		{Endpoint{Path: "/a"}, Endpoint{Host: "h", Path: "/a"}, false, false},
		{Endpoint{Path: "/a"}, Endpoint{Path: "/"}, false, true},
	}
	for _, tt := range tests {
		if got := tt.a.Same(tt.b); got != tt.same {
			t.Errorf("%v.Same(%v) = %v", tt.a, tt.b, got)
		}
		if got := tt.a.Within(tt.b); got != tt.within {
			t.Errorf("%v.Within(%v) = %v", tt.a, tt.b, got)
		}
	}
}
