// crc32c(view, seed): the CRC-32C (Castagnoli) of a Uint8Array where it lies, continuing `seed`,
// on the CPU's CRC instruction (x86-64 SSE4.2 crc32, arm64 crc32c*), for bytes no engine reaches
// (a Buffer from a read stream, a plain ArrayBuffer): no copy into the arena first.
//
// Why three streams: the instruction's latency is three times its issue interval, so a single
// chain of it (as @node-rs/crc32 runs it: 4-5 GB/s here) leaves the unit two thirds idle. Three
// independent chains over three blocks, joined by shifting a block's CRC over the zeros of the
// next (a table lookup), run it at its rate: 21-23 GB/s for 64 KiB and up here, against
// 8 GB/s for the Wasm core's folds (which needed the bytes copied into the arena first).
// The join is Mark Adler's (crc32c.c, zlib licence terms): GF(2) operators for 8 KiB and 256 B
// of zeros, as four byte-indexed tables each.
//
// Exported only where the CPU has the instruction (the loader falls back to the Wasm core, then
// @node-rs/crc32).

#include "crc32c.h"

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CRC_TARGET __attribute__((target("sse4.2")))
#else
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#define CRC_TARGET __attribute__((target("arch=armv8-a+crc")))
#endif

namespace {

constexpr uint32_t kPoly = 0x82f63b78u;  // reflected Castagnoli
constexpr size_t kLong = 8192;
constexpr size_t kShort = 256;

uint32_t zeros_long[4][256];
uint32_t zeros_short[4][256];

uint32_t Times(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec != 0; vec >>= 1, mat++)
    if (vec & 1) sum ^= *mat;
  return sum;
}

void Square(uint32_t* sq, const uint32_t* mat) {
  for (int n = 0; n < 32; n++) sq[n] = Times(mat, mat[n]);
}

// The operator that appends `len` zero bytes (a power of two) to a CRC register.
void ZerosOperator(uint32_t* even, size_t len) {
  uint32_t odd[32];
  odd[0] = kPoly;  // one zero bit
  for (int n = 1; n < 32; n++) odd[n] = 1u << (n - 1);
  Square(even, odd);  // two bits
  Square(odd, even);  // four
  for (;;) {
    Square(even, odd);  // a byte, then 4, 16, ... bytes
    if ((len >>= 1) == 0) return;
    Square(odd, even);
    if ((len >>= 1) == 0) break;
  }
  std::memcpy(even, odd, sizeof odd);
}

void ZerosTable(uint32_t table[4][256], size_t len) {
  uint32_t op[32];
  ZerosOperator(op, len);
  for (uint32_t n = 0; n < 256; n++)
    for (int b = 0; b < 4; b++) table[b][n] = Times(op, n << (8 * b));
}

inline uint32_t Shift(const uint32_t table[4][256], uint32_t crc) {
  return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^ table[3][crc >> 24];
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

#if defined(__x86_64__)
CRC_TARGET inline uint64_t Step64(uint64_t crc, const uint8_t* p) { return _mm_crc32_u64(crc, Load64(p)); }
CRC_TARGET inline uint64_t Step8(uint64_t crc, uint8_t b) { return _mm_crc32_u8(static_cast<uint32_t>(crc), b); }
bool CpuHasCrc() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#else
CRC_TARGET inline uint64_t Step64(uint64_t crc, const uint8_t* p) { return __crc32cd(static_cast<uint32_t>(crc), Load64(p)); }
CRC_TARGET inline uint64_t Step8(uint64_t crc, uint8_t b) { return __crc32cb(static_cast<uint32_t>(crc), b); }
bool CpuHasCrc() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#endif

// Three chains over blocks of `block` bytes each, the first continuing c0; returns it joined.
CRC_TARGET inline uint64_t ThreeBlocks(uint64_t c0, const uint8_t*& p, size_t& n, size_t block, const uint32_t table[4][256]) {
  while (n >= 3 * block) {
    uint64_t c1 = 0, c2 = 0;
    for (const uint8_t* end = p + block; p < end; p += 8) {
      c0 = Step64(c0, p);
      c1 = Step64(c1, p + block);
      c2 = Step64(c2, p + 2 * block);
    }
    c0 = Shift(table, static_cast<uint32_t>(c0)) ^ c1;
    c0 = Shift(table, static_cast<uint32_t>(c0)) ^ c2;
    p += 2 * block;
    n -= 3 * block;
  }
  return c0;
}

CRC_TARGET uint32_t Crc32c(uint32_t seed, const uint8_t* p, size_t n) {
  uint64_t c = seed ^ 0xffffffffu;
  for (; n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0; n--) c = Step8(c, *p++);
  c = ThreeBlocks(c, p, n, kLong, zeros_long);
  c = ThreeBlocks(c, p, n, kShort, zeros_short);
  for (; n >= 8; n -= 8, p += 8) c = Step64(c, p);
  for (; n > 0; n--) c = Step8(c, *p++);
  return static_cast<uint32_t>(c) ^ 0xffffffffu;
}

Napi::Value Crc32cCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber() ||
      napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
    Napi::TypeError::New(env, "crc32c(view, seed): a Uint8Array and a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double seed = info[1].As<Napi::Number>().DoubleValue();
  if (!(seed >= 0 && seed <= 4294967295.0) || seed != std::floor(seed)) {
    Napi::RangeError::New(env, "crc32c(view, seed): seed must be an integer from 0 to 2^32 - 1").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t crc = static_cast<uint32_t>(seed);
  if (length > 0 && data != nullptr) crc = Crc32c(crc, static_cast<const uint8_t*>(data), length);
  return Napi::Number::New(env, static_cast<double>(crc));
}

}  // namespace

void RegisterCrc32c(Napi::Env env, Napi::Object exports) {
  if (!CpuHasCrc()) return;
  // once per process, whichever thread loads the addon first (a static's guarded initialisation:
  // not std::call_once, whose pthread_once is a glibc 2.34 symbol where the addon is built)
  static const bool built = (ZerosTable(zeros_long, kLong), ZerosTable(zeros_short, kShort), true);
  (void)built;
  exports.Set("crc32c", Napi::Function::New<Crc32cCall>(env, "crc32c"));
}

#else

void RegisterCrc32c(Napi::Env, Napi::Object) {}

#endif
