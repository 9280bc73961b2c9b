package store

// SetRecountPageItems makes recount scan pages small, so a test table of a
// few hundred items spans many pages and checkpoints. It returns a restore.
func SetRecountPageItems(n int32) (restore func()) {
	old := recountPageItems
	recountPageItems = n
	return func() { recountPageItems = old }
}
