package memclient

import "iter"

// pages iterates over the items of a cursor-paged list: fetch returns one
// page's items and the next cursor ("" at the end). It stops after yielding
// an error, when the caller breaks, or when a cursor repeats (a server bug
// that would otherwise loop forever).
func pages[T any](fetch func(page string) ([]T, string, error), start string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := map[string]bool{}
		page := start
		for {
			items, next, err := fetch(page)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" || seen[next] {
				return
			}
			seen[next] = true
			page = next
		}
	}
}
