package mock

import (
	"iter"
	"slices"
	"sort"
	"strings"
)

// orderIndex keeps a set of items sorted in page order (pageOrder on the
// pageItem that key derives from each item), so that a list page is a seek
// and a short walk instead of a sort of everything.
//
// The items are held in blocks of at most maxBlock items, each sorted,
// every item of a block before every item of the next. An insert or a
// removal binary searches the blocks and then the block, and moves at most
// two blocks' items; a seek by rank also walks the block lengths (at most
// 4n/maxBlock additions).
//
// An item's key must not change while it is in the index: remove it, change
// it, insert it again.
type orderIndex[T comparable] struct {
	key      func(T) pageItem
	blocks   [][]T
	n        int
	maxBlock int // the most items a block holds
}

// defaultMaxBlock is the most items a block holds; a block that grows past
// it is split in two.
const defaultMaxBlock = 512

func newOrderIndex[T comparable](key func(T) pageItem) *orderIndex[T] {
	return &orderIndex[T]{key: key, maxBlock: defaultMaxBlock}
}

// pageOrder compares a and b in list order: newest first, then by id.
func pageOrder(a, b pageItem) int {
	if c := b.t.Compare(a.t); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// len is the number of items.
func (x *orderIndex[T]) len() int { return x.n }

// locate returns the block and the position in it of the first item for
// which pred holds; pred must be false for a prefix of the order and true
// for the rest. It returns (len(blocks), 0) when pred holds for no item.
func (x *orderIndex[T]) locate(pred func(pageItem) bool) (b, i int) {
	b = sort.Search(len(x.blocks), func(b int) bool {
		blk := x.blocks[b]
		return pred(x.key(blk[len(blk)-1]))
	})
	if b == len(x.blocks) {
		return b, 0
	}
	blk := x.blocks[b]
	return b, sort.Search(len(blk), func(i int) bool { return pred(x.key(blk[i])) })
}

// search returns the rank (the number of items before it) of the first item
// for which the monotone pred holds (see locate), or len() if none.
func (x *orderIndex[T]) search(pred func(pageItem) bool) int {
	b, i := x.locate(pred)
	for _, blk := range x.blocks[:b] {
		i += len(blk)
	}
	return i
}

// insert adds v, which must not be in the index.
func (x *orderIndex[T]) insert(v T) {
	k := x.key(v)
	x.n++
	if len(x.blocks) == 0 {
		x.blocks = [][]T{{v}}
		return
	}
	b, i := x.locate(func(it pageItem) bool { return pageOrder(it, k) >= 0 })
	if b == len(x.blocks) { // after every item: append to the last block
		b--
		i = len(x.blocks[b])
	}
	x.blocks[b] = slices.Insert(x.blocks[b], i, v)
	x.split(b)
}

// remove deletes v, which must be in the index with the key it was inserted
// with, and reports whether it was found.
func (x *orderIndex[T]) remove(v T) bool {
	k := x.key(v)
	b, i := x.locate(func(it pageItem) bool { return pageOrder(it, k) >= 0 })
	if b == len(x.blocks) || x.blocks[b][i] != v {
		return false
	}
	x.n--
	x.blocks[b] = slices.Delete(x.blocks[b], i, i+1)
	x.compact(b)
	return true
}

// compact restores the blocks' invariant after a removal from block b:
// when there is more than one block, each holds at least a quarter of
// maxBlock items (so there are at most 4n/maxBlock + 1 blocks). A block
// that shrank below that is merged with a neighbour, and the result split
// in two halves if it is too large.
func (x *orderIndex[T]) compact(b int) {
	blk := x.blocks[b]
	switch {
	case len(blk) == 0:
		x.blocks = slices.Delete(x.blocks, b, b+1)
		return
	case len(blk) >= x.maxBlock/4 || len(x.blocks) == 1:
		return
	}
	if b+1 == len(x.blocks) { // the last block merges with the one before
		b--
	}
	merged := append(x.blocks[b], x.blocks[b+1]...)
	x.blocks = slices.Delete(x.blocks, b+1, b+2)
	x.blocks[b] = merged
	x.split(b)
}

// split halves block b if it holds more than maxBlock items.
func (x *orderIndex[T]) split(b int) {
	blk := x.blocks[b]
	if len(blk) <= x.maxBlock {
		return
	}
	half := len(blk) / 2
	x.blocks[b] = slices.Clip(blk[:half])
	x.blocks = slices.Insert(x.blocks, b+1, slices.Clone(blk[half:]))
}

// between yields the items of rank from up to (not including) rank to, in
// order. The index must not change while the sequence runs.
func (x *orderIndex[T]) between(from, to int) iter.Seq[T] {
	return func(yield func(T) bool) {
		b, left := 0, to-from
		for b < len(x.blocks) && from >= len(x.blocks[b]) {
			from -= len(x.blocks[b])
			b++
		}
		for ; b < len(x.blocks) && left > 0; b++ {
			blk := x.blocks[b][from:]
			for _, v := range blk[:min(len(blk), left)] {
				if !yield(v) {
					return
				}
			}
			left -= len(blk)
			from = 0
		}
	}
}
