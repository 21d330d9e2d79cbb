// The addon's CRC-32C (crc32c.cc), registered by its module init (eventfd.cc).
#pragma once

#include <napi.h>

// Sets exports.crc32c where this CPU has a CRC-32C instruction (x86-64 SSE4.2, arm64 CRC); else nothing.
void RegisterCrc32c(Napi::Env env, Napi::Object exports);
