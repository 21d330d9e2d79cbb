// How fast can 128-bit loads (all Wasm SIMD has) stream two buffers, against 256-bit loads and
// glibc memcmp (what Buffer.compare calls)? No compare work at all: OR every vector together.
// This bounds what a Wasm compare can reach against Buffer.compare on the same machine.
//
//   cc -O2 -mavx2 -o /tmp/load-ceiling bench/native/load-ceiling.c && /tmp/load-ceiling
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((noinline)) static int loads128(const char *a, const char *b, size_t n) {
  __m128i x = _mm_setzero_si128(), y = x, z = x, w = x;
  for (size_t i = 0; i < n; i += 64) {
    x = _mm_or_si128(x, _mm_load_si128((const __m128i *)(a + i)));
    y = _mm_or_si128(y, _mm_load_si128((const __m128i *)(a + i + 16)));
    z = _mm_or_si128(z, _mm_load_si128((const __m128i *)(a + i + 32)));
    w = _mm_or_si128(w, _mm_load_si128((const __m128i *)(a + i + 48)));
    x = _mm_or_si128(x, _mm_load_si128((const __m128i *)(b + i)));
    y = _mm_or_si128(y, _mm_load_si128((const __m128i *)(b + i + 16)));
    z = _mm_or_si128(z, _mm_load_si128((const __m128i *)(b + i + 32)));
    w = _mm_or_si128(w, _mm_load_si128((const __m128i *)(b + i + 48)));
  }
  x = _mm_or_si128(_mm_or_si128(x, y), _mm_or_si128(z, w));
  return _mm_testz_si128(x, x);
}

__attribute__((noinline)) static int loads256(const char *a, const char *b, size_t n) {
  __m256i x = _mm256_setzero_si256(), y = x;
  for (size_t i = 0; i < n; i += 64) {
    x = _mm256_or_si256(x, _mm256_load_si256((const __m256i *)(a + i)));
    y = _mm256_or_si256(y, _mm256_load_si256((const __m256i *)(a + i + 32)));
    x = _mm256_or_si256(x, _mm256_load_si256((const __m256i *)(b + i)));
    y = _mm256_or_si256(y, _mm256_load_si256((const __m256i *)(b + i + 32)));
  }
  x = _mm256_or_si256(x, y);
  return _mm256_testz_si256(x, x);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
  static const size_t sizes[] = {4096, 65536, 524288, 1048576, 16u << 20};
  for (int si = 0; si < 5; si++) {
    size_t n = sizes[si];
    char *a = aligned_alloc(64, n), *b = aligned_alloc(64, n);
    memset(a, 0, n), memset(b, 0, n);
    int it = (int)(4e9 / n);
    volatile long sink = 0;
    for (int rep = 0; rep < 3; rep++) {
      double t0 = now();
      for (int i = 0; i < it; i++) sink += memcmp(a, b, n);
      double t1 = now();
      for (int i = 0; i < it; i++) sink += loads128(a, b, n);
      double t2 = now();
      for (int i = 0; i < it; i++) sink += loads256(a, b, n);
      double t3 = now();
      double m = n * it / (t1 - t0) / 1e9, l1 = n * it / (t2 - t1) / 1e9, l2 = n * it / (t3 - t2) / 1e9;
      printf("%6zu KiB: memcmp %5.1f GB/s, 128-bit loads %5.1f (%.2f of memcmp), 256-bit loads %5.1f\n", n >> 10, m, l1, l1 / m, l2);
    }
    free(a), free(b);
  }
  return 0;
}
