// Package bitmix holds the 64-bit finaliser the hashing code shares.
package bitmix

// Mix64 spreads every input bit over the output (the usual 64-bit
// finaliser multipliers): FNV-1a's low bits depend only on the low bits of
// each input byte, so its hashes are mixed before bits are taken from them.
func Mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
