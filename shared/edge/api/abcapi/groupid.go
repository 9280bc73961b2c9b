package abcapi

import "hash/fnv"

// GroupID is a variant's ABetterChoice group_id: a positive int64 that is
// the same for an experiment key and variant key wherever and whenever it is
// computed (FNV-1a 64 of experiment key, a NUL byte and variant key, top bit
// cleared; 0 becomes 1). -1 is the "default" group of a layer the unit is in
// no experiment of.
func GroupID(experimentKey, variantKey string) int64 {
	h := fnv.New64a()
	h.Write([]byte(experimentKey))
	h.Write([]byte{0})
	h.Write([]byte(variantKey))
	id := int64(h.Sum64() & (1<<63 - 1))
	if id == 0 {
		return 1
	}
	return id
}
