// Finds the sparse multiples of the CRC-32C polynomial that assembly/kernels/crc32c.ts folds by:
// Q = y^D + y^e1 + ... + y^ek + 1 with y = x^8 (whole-byte shifts), P | Q, and every distance
// D - ei at least GMIN (so 16 bytes can be computed at once from earlier ones).
// An even number of terms is required: P = (x + 1) * (a degree-31 factor).
//
//   cc -O2 -o /tmp/sparse scripts/sparse-multiples.c
//   /tmp/sparse 6 128 300   ->  D=290 e={136,113,107,32}           (Q1; distances 154 177 183 258 290)
//   /tmp/sparse 8 40 110    ->  D=104 e={57,53,49,19,14,4}         (Q2; distances 47 51 55 85 90 100 104)
//
// Method: beta = x^8 mod P; Q(beta) = 0 means beta^D + 1 + sum beta^ei = 0. Six terms: for each
// (a, b, c) look beta^D + 1 + beta^a + beta^b + beta^c up in a hash of single powers. Eight terms:
// meet in the middle, a hash of all sums of three powers against each triple.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define P 0x1EDC6F41u
#define HB 22
static uint32_t hkey[1 << HB];
static int32_t hval[1 << HB];
static uint32_t pw[1024];

static uint32_t mulx8(uint32_t r) {
  for (int i = 0; i < 8; i++) r = (r & 0x80000000u) ? (r << 1) ^ P : r << 1;
  return r;
}
static void put(uint32_t k, int v) {
  uint32_t h = (k * 2654435761u) >> (32 - HB);
  while (hval[h]) h = (h + 1) & ((1 << HB) - 1);
  hkey[h] = k, hval[h] = v;
}
static int get(uint32_t k) {
  for (uint32_t h = (k * 2654435761u) >> (32 - HB); hval[h]; h = (h + 1) & ((1 << HB) - 1))
    if (hkey[h] == k) return hval[h];
  return 0;
}
static void clear(void) {
  for (int i = 0; i < (1 << HB); i++) hval[i] = 0;
}

int main(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: sparse <6|8> <min distance> <max degree>\n"), 2;
  int w = atoi(argv[1]), gmin = atoi(argv[2]), dmax = atoi(argv[3]);
  if (dmax > 1000 || (w != 6 && w != 8)) return fprintf(stderr, "6 or 8 terms, degree <= 1000\n"), 2;
  pw[0] = 1;
  for (int k = 1; k <= dmax; k++) pw[k] = mulx8(pw[k - 1]);
  if (w == 6)
    for (int k = 1; k <= dmax; k++) put(pw[k], k);
  for (int d = gmin + 4; d <= dmax; d++) {
    int top = d - gmin;
    if (w == 8) {
      clear();
      for (int i = 1; i <= top; i++)
        for (int j = i + 1; j <= top; j++)
          for (int k = j + 1; k <= top; k++) put(pw[i] ^ pw[j] ^ pw[k], i | j << 10 | k << 20);
    }
    for (int a = 3; a <= top; a++)
      for (int b = 2; b < a; b++)
        for (int c = 1; c < b; c++) {
          int x = get(pw[d] ^ 1 ^ pw[a] ^ pw[b] ^ pw[c]);
          if (!x) continue;
          if (w == 6 && x < c) {
            printf("D=%d e={%d,%d,%d,%d}\n", d, a, b, c, x);
            return 0;
          }
          int i = x & 1023, j = (x >> 10) & 1023, k = x >> 20;
          if (w == 8 && k < c) {
            printf("D=%d e={%d,%d,%d,%d,%d,%d}\n", d, a, b, c, k, j, i);
            return 0;
          }
        }
  }
  puts("none");
  return 1;
}
