package throttle

// spares keeps emptied values for reuse, so that a path taken on every
// call need not allocate them. The zero value is empty; its owner's lock
// guards it.
type spares[T any] []*T

// take returns a kept value, or nil when none is kept.
func (s *spares[T]) take() *T {
	n := len(*s)
	if n == 0 {
		return nil
	}
	x := (*s)[n-1]
	*s = (*s)[:n-1]
	return x
}

// keep keeps x for reuse, unless limit values are kept already.
func (s *spares[T]) keep(x *T, limit int) {
	if len(*s) < limit {
		*s = append(*s, x)
	}
}
