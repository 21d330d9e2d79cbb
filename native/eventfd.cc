// softdsa_eventfd: a minimal eventfd(2) + uv_poll addon.
//
// Engine worker threads sit in Atomics.wait between tasks (their event loop is frozen), so they
// cannot post messages cheaply; instead they write(2) to an eventfd (`signal(fd, n)`), and the
// thread that owns an `EventFd` watches it with a uv_poll on its own libuv loop and gets one
// callback per wake-up with the summed counter (signals coalesce).
//
// Context-aware and safe to load in several worker threads at once: every EventFd belongs to the
// env (thread) that created it and registers an env cleanup hook, so terminating a worker that
// holds an active poll does not leave an open handle behind (which would make uv_loop_close fail
// and abort the process). The one piece of process-wide state is the registry of live eventfds
// (below): signal() and close() take its lock, so a write can never land in a file that reused a
// closed eventfd's number.
//
// One data-path helper rides along (x86-64 only): streamCopy, a copy whose stores bypass the
// cache, which Wasm cannot express. DSA writes a descriptor's destination to memory unless its
// cache-control flag asks for the cache; engines use this for large copies that do (see
// assembly/kernels/memmove.ts).
//
// And the CRC-32C of bytes no engine reaches, where they lie (crc32c.cc).
//
// And the device's pages (Linux): adviseHuge asks for huge pages over the arena, releasePages
// gives the free ones back to the system when a device closes (V8 frees its memory only once
// it collects it).
//
// Built with NAPI_DISABLE_CPP_EXCEPTIONS: every N-API failure is checked explicitly.

#include <napi.h>

#include "crc32c.h"

#if defined(__linux__)

#include <uv.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif
#include <atomic>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

// Every eventfd this library opened and has not closed, in any thread of the process (the library
// is loaded once per process, so this is shared by all worker threads). An fd number read from
// shared memory may name an eventfd that another thread has closed since, and whose number the
// kernel gave to a file or socket: signal() writes only to a number registered here, and the
// owner unregisters and closes under the same lock, so check and write are one step.
std::mutex live_mutex;
std::unordered_set<int> live_fds;

int OpenRegistered() {
  std::lock_guard<std::mutex> lock(live_mutex);
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd >= 0) live_fds.insert(fd);
  return fd;
}

void CloseRegistered(int fd) {
  std::lock_guard<std::mutex> lock(live_mutex);
  live_fds.erase(fd);
  ::close(fd);
}

// An Error with the usual Node fields: code ('EBADF'), errno (negative, like libuv), syscall.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  std::string msg = std::string(uv_err_name(-err)) + ": " + std::strerror(err) + ", " + syscall;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

// Non-blocking read of the whole counter (resets it to 0). Returns 1 and sets *out when a value was
// read, 0 when the counter is zero (EAGAIN), -errno on failure.
int ReadCounter(int fd, uint64_t* out) {
  for (;;) {
    ssize_t r = ::read(fd, out, sizeof(*out));
    if (r == static_cast<ssize_t>(sizeof(*out))) return 1;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return r < 0 ? -errno : -EIO;
  }
}

// The poll handle lives in its own allocation, which outlives the EventFd until uv_close completes.
// Each one holds an async env cleanup hook until its close callback has run: at env teardown Node
// then keeps running the loop (and keeps this library loaded) until the close callback is done.
// Without it, terminating a worker could run the close callback after the addon was unloaded.
struct PollBox {
  uv_poll_t handle;  // first member: uv_handle_t* <-> PollBox*
  napi_async_cleanup_hook_handle hook = nullptr;
};

void OnPollBoxClosed(uv_handle_t* handle) {
  PollBox* box = reinterpret_cast<PollBox*>(handle);
  if (box->hook != nullptr) napi_remove_async_cleanup_hook(box->hook);
  delete box;
}

class EventFd : public Napi::ObjectWrap<EventFd> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EventFd",
                       {
                           InstanceAccessor<&EventFd::GetFd>("fd"),
                           InstanceMethod<&EventFd::Start>("start"),
                           InstanceMethod<&EventFd::Stop>("stop"),
                           InstanceMethod<&EventFd::JsRef>("ref"),
                           InstanceMethod<&EventFd::JsUnref>("unref"),
                           InstanceMethod<&EventFd::Read>("read"),
                           InstanceMethod<&EventFd::Close>("close"),
                       });
  }

  explicit EventFd(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EventFd>(info), env_(info.Env()) {
    fd_ = OpenRegistered();
    if (fd_ < 0) {
      int err = errno;
      fd_ = -1;
      ErrnoError(env_, err, "eventfd").ThrowAsJavaScriptException();
      return;  // node-addon-api deletes this instance and rethrows
    }
    if (napi_add_env_cleanup_hook(env_, &EventFd::OnEnvCleanup, this) != napi_ok) {
      CloseRegistered(fd_);
      fd_ = -1;
      Napi::Error::New(env_, "napi_add_env_cleanup_hook failed").ThrowAsJavaScriptException();
      return;
    }
    hook_added_ = true;
  }

  ~EventFd() override {
    // Reached from GC (never while started: a started EventFd pins itself), from env teardown
    // (after OnEnvCleanup already released everything) or after a failed constructor.
    ReleaseNative();
    if (hook_added_) napi_remove_env_cleanup_hook(env_, &EventFd::OnEnvCleanup, this);
  }

 private:
  // ---- JS API -------------------------------------------------------------------------------

  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  // start(callback: (count: number) => void): begins (or keeps) watching; replaces the callback.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "EventFd.start(callback): callback must be a function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (fd_ < 0) {
      Napi::Error::New(env, "EventFd is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (box_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
        Napi::Error::New(env, "napi_get_uv_event_loop failed").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      PollBox* box = new PollBox;
      int rc = uv_poll_init(loop, &box->handle, fd_);
      if (rc != 0) {
        delete box;  // never initialised: no uv_close needed
        ErrnoError(env, -rc, "uv_poll_init").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      box->handle.data = this;
      box_ = box;
      if (napi_add_async_cleanup_hook(env, &EventFd::OnEnvAsyncCleanup, box, &box->hook) != napi_ok) {
        box->hook = nullptr;
        ReleaseNative();
        Napi::Error::New(env, "napi_add_async_cleanup_hook failed").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      if (!refed_) uv_unref(Handle());
    }
    callback_.Reset(info[0].As<Napi::Function>(), 1);
    if (!started_) {
      int rc = uv_poll_start(&box_->handle, UV_READABLE, &EventFd::OnPoll);
      if (rc != 0) {
        callback_.Reset();
        ErrnoError(env, -rc, "uv_poll_start").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      started_ = true;
      Pin();
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPolling();
    return info.Env().Undefined();
  }

  Napi::Value JsRef(const Napi::CallbackInfo& info) {
    refed_ = true;
    if (box_ != nullptr) uv_ref(Handle());
    return info.Env().Undefined();
  }

  Napi::Value JsUnref(const Napi::CallbackInfo& info) {
    refed_ = false;
    if (box_ != nullptr) uv_unref(Handle());
    return info.Env().Undefined();
  }

  // read(): non-blocking; the count accumulated since the last read (resetting it), or 0.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      Napi::Error::New(env, "EventFd is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint64_t value = 0;
    int rc = ReadCounter(fd_, &value);
    if (rc < 0) {
      ErrnoError(env, -rc, "read").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, rc == 1 ? static_cast<double>(value) : 0.0);
  }

  // close(): stops the poll, closes the handle and the fd. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopPolling();
    ReleaseNative();
    return info.Env().Undefined();
  }

  // ---- internals ----------------------------------------------------------------------------

  // Keep the JS object (and so this instance) alive while the poll can call back into it.
  void Pin() {
    if (!pinned_) {
      Napi::ObjectWrap<EventFd>::Ref();
      pinned_ = true;
    }
  }
  void Unpin() {
    if (pinned_) {
      pinned_ = false;
      Napi::ObjectWrap<EventFd>::Unref();
    }
  }

  // Requires a live env (JS calls, poll callbacks).
  void StopPolling() {
    if (started_) {
      uv_poll_stop(&box_->handle);
      started_ = false;
    }
    callback_.Reset();
    Unpin();
  }

  // Closes the uv handle (freed in its close callback) and then the fd. Touches no JS state, so it
  // is safe from the env cleanup hook and from the GC finalizer.
  void ReleaseNative() {
    if (box_ != nullptr) {
      if (started_) uv_poll_stop(&box_->handle);  // stop before the fd goes away
      started_ = false;
      box_->handle.data = nullptr;  // marks the box as closing
      uv_close(Handle(), &OnPollBoxClosed);
      box_ = nullptr;
    }
    if (fd_ >= 0) {
      CloseRegistered(fd_);
      fd_ = -1;
    }
  }

  uv_handle_t* Handle() { return reinterpret_cast<uv_handle_t*>(&box_->handle); }

  // Env teardown, for a poll handle not yet closed: close it (and the fd). If it is already closing
  // (data == nullptr), its pending close callback removes the hook. Runs before OnEnvCleanup
  // (hooks run in reverse order of registration).
  static void OnEnvAsyncCleanup(napi_async_cleanup_hook_handle /*hook*/, void* arg) {
    PollBox* box = static_cast<PollBox*>(arg);
    EventFd* self = static_cast<EventFd*>(box->handle.data);
    if (self != nullptr) self->ReleaseNative();
  }

  static void OnEnvCleanup(void* arg) {
    EventFd* self = static_cast<EventFd*>(arg);
    self->hook_added_ = false;  // hooks run once; nothing to remove afterwards
    self->ReleaseNative();
    // The persistent reference and the callback reference are left to the env's own teardown.
  }

  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    EventFd* self = static_cast<EventFd*>(handle->data);
    if (self == nullptr || !self->started_) return;
    Napi::Env env = self->env_;
    Napi::HandleScope scope(env);

    if (status < 0) {
      // Should not happen for an eventfd; stop rather than spin, and report it as uncaught.
      self->StopPolling();
      napi_fatal_exception(env, ErrnoError(env, -status, "uv_poll").Value());
      return;
    }

    uint64_t value = 0;
    int rc = ReadCounter(self->fd_, &value);
    if (rc == 0) return;  // spurious wake-up, or someone read() the counter first
    if (rc < 0) {
      self->StopPolling();
      napi_fatal_exception(env, ErrnoError(env, -rc, "read").Value());
      return;
    }
    if (self->callback_.IsEmpty()) return;

    // Take local handles first: the callback may stop(), close() or start() again with another
    // function. After the call this instance is not touched any more.
    Napi::Function fn = self->callback_.Value();
    Napi::Object recv = self->Value();
    napi_value argv[1] = {Napi::Number::New(env, static_cast<double>(value))};
    napi_value result = nullptr;
    // napi_make_callback (not napi_call_function): runs process.nextTick and microtasks afterwards,
    // as for any callback entered from libuv.
    napi_status st = napi_make_callback(env, nullptr, recv, fn, 1, argv, &result);
    if (st != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err = nullptr;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);  // -> process 'uncaughtException' / worker 'error'
      }
    }
  }

  napi_env env_;
  int fd_ = -1;
  PollBox* box_ = nullptr;  // the poll handle, once started; may outlive this object until closed
  bool started_ = false;
  bool refed_ = true;
  bool pinned_ = false;
  bool hook_added_ = false;
  Napi::FunctionReference callback_;
};

// signal(fd, n = 1): synchronous write(2) of n to the eventfd; callable from a thread whose event
// loop is frozen. EAGAIN (counter would overflow) is ignored; other errors throw, and so does an fd
// that is not a live eventfd of this library (EBADF: nothing is written).
Napi::Value Signal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "signal(fd, n): fd must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double fd_d = info[0].As<Napi::Number>().DoubleValue();
  if (!(fd_d == std::floor(fd_d)) || fd_d < -1 || fd_d > 2147483647.0) {
    Napi::TypeError::New(env, "signal(fd, n): fd must be an integer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint64_t n = 1;
  if (info.Length() >= 2 && !info[1].IsUndefined()) {
    if (!info[1].IsNumber()) {
      Napi::TypeError::New(env, "signal(fd, n): n must be a number").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    double n_d = info[1].As<Napi::Number>().DoubleValue();
    // eventfd accepts up to 2^64-2; keep to exactly representable integers.
    if (!(n_d == std::floor(n_d)) || n_d < 0 || n_d > 9007199254740991.0) {
      Napi::RangeError::New(env, "signal(fd, n): n must be an integer in [0, 2^53-1]")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    n = static_cast<uint64_t>(n_d);
  }
  int fd = static_cast<int>(fd_d);
  int err = 0;
  {
    // Under the registry's lock: the fd cannot be closed (and its number reused) during the write.
    std::lock_guard<std::mutex> lock(live_mutex);
    if (live_fds.count(fd) == 0) {
      err = EBADF;
    } else {
      for (;;) {
        ssize_t w = ::write(fd, &n, sizeof(n));
        if (w == static_cast<ssize_t>(sizeof(n))) break;
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;  // counter saturated: reader is awake anyway
        err = w < 0 ? errno : EIO;
        break;
      }
    }
  }
  if (err != 0) ErrnoError(env, err, "write").ThrowAsJavaScriptException();
  return env.Undefined();
}

// setThreadNice(increment): adds increment (an integer 0..19) to the calling thread's nice value
// (Linux: PRIO_PROCESS with a thread id names that one thread) and returns the new value, read
// back with getpriority. Raising nice needs no privilege; the kernel caps it at 19.
Napi::Value SetThreadNice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setThreadNice(increment): increment must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double inc_d = info[0].As<Napi::Number>().DoubleValue();
  if (!(inc_d == std::floor(inc_d)) || inc_d < 0 || inc_d > 19) {
    Napi::RangeError::New(env, "setThreadNice(increment): increment must be an integer from 0 to 19")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  id_t tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  int cur = ::getpriority(PRIO_PROCESS, tid);  // -1 is a valid nice value: check errno
  if (cur == -1 && errno != 0) {
    ErrnoError(env, errno, "getpriority").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int want = cur + static_cast<int>(inc_d);
  if (want > 19) want = 19;
  if (want != cur && ::setpriority(PRIO_PROCESS, tid, want) != 0) {
    ErrnoError(env, errno, "setpriority").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  errno = 0;
  int now = ::getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno != 0) {
    ErrnoError(env, errno, "getpriority").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, now);
}

// The kernel's struct sched_attr (include/uapi/linux/sched/types.h), its first version's 48 bytes:
// glibc has no wrapper for sched_getattr/sched_setattr, and older headers lack the struct.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;  // SCHED_NORMAL/SCHED_BATCH since Linux 6.12: the task's slice request (ns)
  uint64_t sched_deadline;
  uint64_t sched_period;
};

// The calling thread's attributes into *a; false with a JS exception pending when the call fails.
bool GetSchedAttr(Napi::Env env, SchedAttr* a) {
  if (::syscall(SYS_sched_getattr, 0, a, sizeof(*a), 0) == 0) return true;
  ErrnoError(env, errno, "sched_getattr").ThrowAsJavaScriptException();
  return false;
}

// setThreadSlice(ns): asks the kernel for an EEVDF slice of ns nanoseconds (100 us to 100 ms)
// for the calling thread, keeping its policy and nice value, and returns the slice in effect
// as read back (0: the kernel takes no slice request: before Linux 6.12, or a policy other
// than SCHED_NORMAL/SCHED_BATCH, left as it is). Needs no privilege.
Napi::Value SetThreadSlice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double ns_d = info.Length() < 1 || !info[0].IsNumber() ? -1 : info[0].As<Napi::Number>().DoubleValue();
  if (!(ns_d == std::floor(ns_d)) || ns_d < 100000 || ns_d > 100000000) {
    Napi::RangeError::New(env, "setThreadSlice(ns): ns must be an integer from 100000 to 100000000")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  SchedAttr a{};
  if (!GetSchedAttr(env, &a)) return env.Undefined();
  if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH) return Napi::Number::New(env, 0);
  a.size = sizeof(a);
  a.sched_flags = 0;
  a.sched_runtime = static_cast<uint64_t>(ns_d);
  if (::syscall(SYS_sched_setattr, 0, &a, 0) != 0) {
    ErrnoError(env, errno, "sched_setattr").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  SchedAttr now{};
  if (!GetSchedAttr(env, &now)) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(now.sched_runtime));
}

#if defined(__x86_64__)
// Copies n bytes from src to dst (not overlapping) with non-temporal stores: the destination goes
// to memory, not through the cache, so a copy larger than the cache neither reads each
// destination line first (as a store that allocates does) nor evicts what the cache holds.
// Loads are plain; the fence orders the stores before anything the caller writes next (the
// completion record).
void StreamCopyBytes(uint8_t* dst, const uint8_t* src, size_t n) {
  size_t head = (16 - (reinterpret_cast<uintptr_t>(dst) & 15)) & 15;
  if (head > n) head = n;
  std::memcpy(dst, src, head);
  size_t i = head;
  for (; i + 64 <= n; i += 64) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 16));
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 32));
    __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 48), d);
  }
  std::memcpy(dst + i, src + i, n - i);
  _mm_sfence();
}

// streamCopy(view, dst, src, n): copies view[src, src + n) to view[dst, dst + n) (byte offsets in
// the view; a Uint8Array over the device's memory) with stores that bypass the cache; ranges that
// overlap are copied with memmove. Out of the view's bounds: a RangeError, nothing copied.
Napi::Value StreamCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "streamCopy(view, dst, src, n): a Uint8Array and three numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array || data == nullptr) {
    Napi::TypeError::New(env, "streamCopy(view, ...): view must be a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double dst = info[1].As<Napi::Number>().DoubleValue();
  double src = info[2].As<Napi::Number>().DoubleValue();
  double n = info[3].As<Napi::Number>().DoubleValue();
  double len = static_cast<double>(length);
  if (!(dst >= 0 && src >= 0 && n >= 0 && dst + n <= len && src + n <= len) || dst != std::floor(dst) || src != std::floor(src) || n != std::floor(n)) {
    Napi::RangeError::New(env, "streamCopy: the ranges must be whole byte offsets within the view").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint8_t* base = static_cast<uint8_t*>(data);
  size_t d = static_cast<size_t>(dst), s = static_cast<size_t>(src), count = static_cast<size_t>(n);
  if (d < s + count && s < d + count) std::memmove(base + d, base + s, count);
  else StreamCopyBytes(base + d, base + s, count);
  return env.Undefined();
}
#endif


// ---- pages of the device's memory ----

const uintptr_t page_size = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));

// The byte range [at, at + n) of a Uint8Array view, as an address, if it lies in the view and
// both ends are page-aligned; 0 otherwise.
uintptr_t PagesAddress(const Napi::CallbackInfo& info, double at, double n) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (!info[0].IsTypedArray() || napi_get_typedarray_info(info.Env(), info[0], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array || data == nullptr) return 0;
  if (!(at >= 0 && n > 0 && at + n <= static_cast<double>(length)) || at != std::floor(at) || n != std::floor(n)) return 0;
  uintptr_t addr = reinterpret_cast<uintptr_t>(data) + static_cast<uintptr_t>(at);
  return (addr & (page_size - 1)) == 0 && (static_cast<uintptr_t>(n) & (page_size - 1)) == 0 ? addr : 0;
}

// A pages call's arguments: a Uint8Array, then two numbers (at, n), else a TypeError saying
// `usage` (false). *addr is view[at]'s address, or 0 where PagesAddress refuses the range.
bool PagesArgs(const Napi::CallbackInfo& info, const char* usage, uintptr_t* addr, double* n) {
  if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return false;
  }
  *n = info[2].As<Napi::Number>().DoubleValue();
  *addr = PagesAddress(info, info[1].As<Napi::Number>().DoubleValue(), *n);
  return true;
}

// releasePages(view, at, n): gives the pages of view[at, at + n) back to the system (madvise
// MADV_DONTNEED: the memory is private and anonymous, so they read as zeros after, and the
// range keeps its advice, huge pages included). at and n must be multiples of pageSize. Returns
// true, or false when the range was refused (nothing changed).
Napi::Value ReleasePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uintptr_t addr;
  double n;
  if (!PagesArgs(info, "releasePages(view, at, n): a Uint8Array and two numbers", &addr, &n)) return env.Undefined();
  bool done = addr != 0 && ::madvise(reinterpret_cast<void*>(addr), static_cast<size_t>(n), MADV_DONTNEED) == 0;
  return Napi::Boolean::New(env, done);
}

// adviseHuge(view, at, n): asks for transparent huge pages over view[at, at + n) (madvise
// MADV_HUGEPAGE; the kernel uses them where a 2 MiB-aligned range lies inside). Pages not touched
// yet are then faulted 2 MiB at a time. Returns true, or false when the kernel refused (no THP).
Napi::Value AdviseHuge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uintptr_t addr;
  double n;
  if (!PagesArgs(info, "adviseHuge(view, at, n): a Uint8Array and two numbers", &addr, &n)) return env.Undefined();
#if defined(MADV_HUGEPAGE)
  if (addr != 0 && ::madvise(reinterpret_cast<void*>(addr), static_cast<size_t>(n), MADV_HUGEPAGE) == 0) return Napi::Boolean::New(env, true);
#endif
  return Napi::Boolean::New(env, false);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = EventFd::Define(env);
  if (env.IsExceptionPending()) return exports;
  exports.Set("EventFd", ctor);
  exports.Set("signal", Napi::Function::New<Signal>(env, "signal"));
  exports.Set("setThreadNice", Napi::Function::New<SetThreadNice>(env, "setThreadNice"));
  exports.Set("setThreadSlice", Napi::Function::New<SetThreadSlice>(env, "setThreadSlice"));
#if defined(__x86_64__)
  exports.Set("streamCopy", Napi::Function::New<StreamCopy>(env, "streamCopy"));
#endif
  exports.Set("releasePages", Napi::Function::New<ReleasePages>(env, "releasePages"));
  exports.Set("adviseHuge", Napi::Function::New<AdviseHuge>(env, "adviseHuge"));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(page_size)));
  RegisterCrc32c(env, exports);
  exports.Set("supported", Napi::Boolean::New(env, true));
  return exports;
}

}  // namespace

#else  // !__linux__

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("supported", Napi::Boolean::New(env, false));
  return exports;
}
}  // namespace

#endif

// GCC 11 and later call std::__throw_bad_array_new_length for a `new T[n]` of a length known only
// at run time (node-addon-api's CallbackInfo has one): a libstdc++ symbol of GLIBCXX_3.4.29, which
// the libstdc++ of RHEL 8, Debian 10 or Ubuntu 20.04 lacks, so the addon would not load there
// (their Node 20 needs only 3.4.21). binding.gyp links with --wrap for it: the call lands here.
// Built without exceptions, what it would throw ends the process, as an uncaught one would.
#if defined(__linux__)
extern "C" [[noreturn]] __attribute__((visibility("hidden"))) void __wrap__ZSt28__throw_bad_array_new_lengthv() {
  std::abort();
}
#endif

NODE_API_MODULE(softdsa_eventfd, Init)
