//go:build linux

package serve

// ForceWalk makes roots opened from now on resolve names by walking them
// with openat(O_NOFOLLOW), as on kernels without openat2; it returns the
// function that undoes it.
func ForceWalk() (undo func()) {
	forceWalk = true
	return func() { forceWalk = false }
}
