// Package pkg holds one documented and one undocumented example of every
// kind of exported name that doccheck checks.
package pkg

// Documented is documented.
type Documented struct {
	// A is documented above.
	A int
	B int // B is documented on its line.
	// C and D share one comment.
	C, D int
	E, F int
	//go:generate echo a directive is not documentation
	G int
	Documented2
	*Bare
	unexported int
}

// Documented2 is documented; it is embedded in Documented.
type Documented2 struct{}

type Bare struct {
	H int
}

// Grouped types take their group's doc comment when they have none.
type (
	InGroup int
)

type (
	// Own is documented in its group.
	Own    int
	NotOwn int
)

type hidden struct {
	I int
}

// M is documented.
func (Documented) M() {}

func (*Documented) N() {}

func (Bare) O() {}

func (hidden) P() {}

func (hidden) q() {}

// Iface is documented.
type Iface interface {
	// R is documented.
	R()
	S() // S is documented on its line.
	T()
	Documented3
	unexported()
}

// Documented3 is documented; it is embedded in Iface.
type Documented3 interface{}

// Generic is documented.
type Generic[T any] struct{}

func (Generic[T]) Q() {}

// F is documented.
func F() {}

func G() {}

func unexportedFunc() {}

// Group's comment covers its members.
const (
	C1 = iota
	C2
)

const (
	C3 = 1 // C3 is documented on its line.
	C4 = 2
	c5 = 3
)

var V1, V2 int

//doccheck:example a directive alone is not a doc comment
var V3 int
