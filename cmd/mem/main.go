// Command mem is the Mem API from the command line: batch imports at the
// highest rate the limits allow, and a few everyday calls.
package main

func main() {}
