package bucketing

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"unicode/utf16"
)

// refFnv is an independent, deliberately naive FNV-1a over UTF-16 code
// units, written from the JavaScript definition (hval ^= charCodeAt(i);
// hval *= 16777619 mod 2^32).
func refFnv(s string) uint32 {
	h := uint32(2166136261)
	for _, u := range utf16.Encode([]rune(s)) {
		h ^= uint32(u)
		h *= 16777619
	}
	return h
}

// refHash is GrowthBook's hash built from refFnv with string concatenation
// and strconv, as the JavaScript reads.
func refHash(seed, value string, version int) (float64, bool) {
	switch version {
	case 1:
		return float64(refFnv(value+seed)%1000) / 1000, true
	case 2:
		return float64(refFnv(strconv.FormatUint(uint64(refFnv(seed+value)), 10))%10000) / 10000, true
	}
	return 0, false
}

// utf8Fnv is the common mistake: FNV-1a over UTF-8 bytes.
func utf8Fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func TestHashGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/hash-golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []struct {
			Seed     string  `json:"seed"`
			Value    string  `json:"value"`
			Version  int     `json:"version"`
			Expected float64 `json:"expected"`
			Fnv      uint32  `json:"fnv"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range golden.Cases {
		t.Run(fmt.Sprintf("%s|%s|v%d", c.Seed, c.Value, c.Version), func(t *testing.T) {
			if got := fnvAdd(fnvAdd(fnvOffset32, c.Seed), c.Value); got != c.Fnv {
				t.Errorf("fnv(%q) = %d, want %d", c.Seed+c.Value, got, c.Fnv)
			}
			if got := refFnv(c.Seed + c.Value); got != c.Fnv {
				t.Errorf("reference fnv(%q) = %d, want %d", c.Seed+c.Value, got, c.Fnv)
			}
			// The golden values must be able to catch UTF-8 byte hashing.
			if utf8Fnv(c.Seed+c.Value) == c.Fnv {
				t.Errorf("golden case %q does not distinguish UTF-16 from UTF-8 hashing", c.Value)
			}
			got, ok := Hash(c.Seed, c.Value, c.Version)
			if !ok || got != c.Expected {
				t.Errorf("Hash(%q, %q, %d) = %v, %v; want %v", c.Seed, c.Value, c.Version, got, ok, c.Expected)
			}
		})
	}
}

func TestHashMatchesReference(t *testing.T) {
	values := []string{
		"", "a", "user-1", "ü", "日本", "😀", "a😀b", "𝄞𝄞", "\u00ff\u0100", "\uffff", "\U00010000", "\U0010ffff",
		"mixed ascii ü 日本 😀 end", "\xff", "a\xc3", "\xed\xa0\x80", // invalid UTF-8 hashes as U+FFFD per bad byte
	}
	for _, seed := range []string{"", "exp", "ü", "😀"} {
		for _, v := range values {
			for _, version := range []int{1, 2} {
				want, _ := refHash(seed, v, version)
				if got, ok := Hash(seed, v, version); !ok || got != want {
					t.Errorf("Hash(%q, %q, %d) = %v, %v; want %v", seed, v, version, got, ok, want)
				}
			}
		}
	}
}

func TestHashUnknownVersion(t *testing.T) {
	for _, version := range []int{-1, 0, 3, 99} {
		if n, ok := Hash("seed", "value", version); ok || n != 0 {
			t.Errorf("Hash(version %d) = %v, %v; want 0, false", version, n, ok)
		}
	}
}

func TestHashRange(t *testing.T) {
	for i := 0; i < 10000; i++ {
		id := "user-" + strconv.Itoa(i)
		for _, version := range []int{1, 2} {
			if n, _ := Hash("exp", id, version); n < 0 || n >= 1 {
				t.Fatalf("Hash(exp, %s, %d) = %v, outside [0, 1)", id, version, n)
			}
		}
	}
}

func TestInNamespaceMatchesHash(t *testing.T) {
	// InNamespace hashes without concatenating; it must equal the spec formula.
	ns := Namespace{ID: "layer-ü", Start: 0.25, End: 0.75}
	for i := 0; i < 2000; i++ {
		id := "user-" + strconv.Itoa(i)
		n, _ := Hash("__"+ns.ID, id, 1)
		if want := n >= ns.Start && n < ns.End; InNamespace(id, ns) != want {
			t.Fatalf("InNamespace(%q) = %v, want %v (n=%v)", id, !want, want, n)
		}
	}
}

func TestHashPrefixedMatchesHash(t *testing.T) {
	long := "a-key-longer-than-thirty-two-bytes-so-a-concatenation-would-allocate"
	values := []string{"", "user-1", "ü日本😀-user", "\xff", "a\xc3"}
	for _, prefix := range []string{"", "__holdout_", "ü", "😀", "\xc3"} {
		for _, seed := range []string{"", "exp", long, "日本😀"} {
			for _, v := range values {
				for _, version := range []int{0, 1, 2, 3} {
					want, wantOK := Hash(prefix+seed, v, version)
					if got, ok := HashPrefixed(prefix, seed, v, version); got != want || ok != wantOK {
						t.Errorf("HashPrefixed(%q, %q, %q, %d) = %v, %v; Hash(prefix+seed) = %v, %v", prefix, seed, v, version, got, ok, want, wantOK)
					}
				}
			}
		}
	}
}
