package bucketing

import "unicode/utf8"

// 32-bit FNV-1a parameters.
const (
	fnvOffset32 uint32 = 0x811c9dc5
	fnvPrime32  uint32 = 0x01000193
)

// Hash returns GrowthBook's hash of value with seed as a number in [0, 1).
// version 1 is GrowthBook's original (biased, 1/1000 resolution) hash, kept
// because namespaces use it; version 2 is the unbiased one experiments use.
// Any other version returns (0, false), as GrowthBook returns null.
func Hash(seed, value string, version int) (float64, bool) {
	switch version {
	case 1:
		return hashV1(seed, value), true
	case 2:
		return hashV2(seed, value), true
	}
	return 0, false
}

// HashPrefixed is Hash(prefix+seed, value, version) without building the
// seed, so it never allocates however long the strings (a concatenation
// longer than 32 bytes would). The two agree whenever seed is valid UTF-8.
func HashPrefixed(prefix, seed, value string, version int) (float64, bool) {
	switch version {
	case 1:
		return v1Result(fnvAdd(fnvAdd(fnvAdd(fnvOffset32, value), prefix), seed)), true
	case 2:
		return v2Result(fnvAdd(fnvAdd(fnvAdd(fnvOffset32, prefix), seed), value)), true
	}
	return 0, false
}

// hashV1 is (fnv1a32(value + seed) % 1000) / 1000, hashing the two strings
// in turn instead of concatenating them, which would allocate.
func hashV1(seed, value string) float64 {
	return v1Result(fnvAdd(fnvAdd(fnvOffset32, value), seed))
}

func v1Result(h uint32) float64 { return float64(h%1000) / 1000 }

// hashV2 is (fnv1a32(decimal(fnv1a32(seed + value))) % 10000) / 10000.
func hashV2(seed, value string) float64 {
	return v2Result(fnvAdd(fnvAdd(fnvOffset32, seed), value))
}

// v2Result finishes hash version 2 from fnv1a32(seed + value). The decimal
// digits are written into a stack array rather than via strconv so nothing
// escapes to the heap.
func v2Result(h uint32) float64 {
	var buf [10]byte // max uint32 is 4294967295: 10 digits
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + h%10)
		h /= 10
		if h == 0 {
			break
		}
	}
	h = fnvOffset32
	for _, c := range buf[i:] {
		h = (h ^ uint32(c)) * fnvPrime32
	}
	return float64(h%10000) / 10000
}

// fnvAdd continues an FNV-1a hash h over the UTF-16 code units of s, which is
// what JavaScript's charCodeAt yields. ASCII bytes are one code unit each, so
// they take a fast path; other runes are decoded and, above U+FFFF, split into
// a surrogate pair.
func fnvAdd(h uint32, s string) uint32 {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			h = (h ^ uint32(c)) * fnvPrime32
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r < 0x10000 {
			h = (h ^ uint32(r)) * fnvPrime32
			continue
		}
		r -= 0x10000
		h = (h ^ (0xd800 + uint32(r)>>10)) * fnvPrime32
		h = (h ^ (0xdc00 + uint32(r)&0x3ff)) * fnvPrime32
	}
	return h
}
