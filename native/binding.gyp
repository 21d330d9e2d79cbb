# The optional eventfd addon (Linux only). Lives in native/ with its sources and its outputs:
# native/build/Release (the development build: `node scripts/build.mjs addon`, run in this
# folder) and native/prebuilds/<platform>-<arch>/ (the shipped prebuilds: `npm run prebuilds`).
# Not at the package root on purpose: npm treats a root binding.gyp as an implied
# `node-gyp rebuild` install script. Where no addon fits, softdsa uses its Atomics path.
{
  'targets': [
    {
      'target_name': 'softdsa_eventfd',
      'sources': ['eventfd.cc', 'crc32c.cc'],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # node-addon-api without C++ exceptions: every N-API failure is checked explicitly.
      # SWALLOW_UNTHROWABLE_EXCEPTIONS: when a worker is terminated mid-call (even during module
      # init) N-API calls fail and a throw is impossible; without it node-addon-api aborts the
      # whole process (FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw).
      'defines': ['NAPI_VERSION=8', 'NAPI_DISABLE_CPP_EXCEPTIONS', 'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS'],
      'cflags!': ['-fexceptions'],
      'cflags_cc!': ['-fexceptions', '-std=gnu++17', '-std=gnu++20'],
      # Sized, not sped: its calls are system calls (and the CRC's loop, crc32c.cc, runs as fast at
      # -Os as at -O2: 21-23 GB/s). Hidden symbols and unused sections dropped
      # halved the prebuilds (x64 29 -> 13 kB compressed), inside the package's 400 kB budget.
      'cflags_cc': ['-std=c++17', '-fno-exceptions', '-Wall', '-Wextra', '-Os', '-fvisibility=hidden', '-ffunction-sections', '-fdata-sections'],
      'ldflags': ['-Wl,--gc-sections'],
      'conditions': [
        # --wrap: see the end of eventfd.cc (the addon needs libstdc++ 3.4.21, as Node 20 does, not 3.4.29).
        ['OS=="linux"', { 'ldflags': ['-Wl,--wrap=_ZSt28__throw_bad_array_new_lengthv'] }],
      ],
      'xcode_settings': {
        'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
        'GCC_ENABLE_CPP_EXCEPTIONS': 'NO',
      },
      'msvs_settings': {
        'VCCLCompilerTool': { 'ExceptionHandling': 0, 'AdditionalOptions': ['/std:c++17'] },
      },
    },
  ],
}
