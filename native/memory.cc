// Shared memory: mappings exposed as SharedArrayBuffer, futex, CPU pinning, close.
// (Region files are created and opened with node:fs; mmap and fallocate need the addon.)
#include "common.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace rz {

using v8::Integer;
using v8::Number;
using v8::SharedArrayBuffer;
using v8::String;

static void Close(const FunctionCallbackInfo<Value>& args) {
  int64_t fd;
  if (!ArgInt(args, 0, &fd)) return;
  if (close((int)fd) < 0 && errno != EINTR) ThrowErrno(args.GetIsolate(), errno, "close");
}

// The mapping lives until unmap() replaces it or the last JS reference is collected.
static void Unmapper(void* data, size_t length, void* /*deleter_data*/) {
  munmap(data, length);
}

// mmap(fd, length, offset, writable, populate) -> SharedArrayBuffer over a MAP_SHARED mapping.
static void Mmap(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int64_t fd;
  double length, offset;
  if (!ArgInt(args, 0, &fd) || !ArgNumber(args, 1, &length) || !ArgNumber(args, 2, &offset)) return;
  if (length <= 0) return ThrowType(isolate, "mmap length must be positive");
  bool writable = args.Length() > 3 && args[3]->BooleanValue(isolate);
  bool populate = args.Length() > 4 && args[4]->BooleanValue(isolate);
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  int flags = MAP_SHARED | (populate ? MAP_POPULATE : 0);
  void* p = mmap(nullptr, (size_t)length, prot, flags, (int)fd, (off_t)offset);
  if (p == MAP_FAILED) return ThrowErrno(isolate, errno, "mmap");
  std::unique_ptr<v8::BackingStore> bs =
      SharedArrayBuffer::NewBackingStore(p, (size_t)length, Unmapper, nullptr);
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, std::move(bs)));
}

// fallocate(fd, offset, length): fallocate(2) with mode 0, which allocates the
// blocks (tmpfs pages, hugetlbfs huge pages) and extends the file. Not glibc's
// posix_fallocate: where fallocate(2) is unsupported that one falls back to
// writing a byte per block, which hugetlbfs refuses; the caller decides instead.
static void Fallocate(const FunctionCallbackInfo<Value>& args) {
  int64_t fd;
  double offset, length;
  if (!ArgInt(args, 0, &fd) || !ArgNumber(args, 1, &offset) || !ArgNumber(args, 2, &length)) return;
  if (offset < 0 || length <= 0) return ThrowType(args.GetIsolate(), "fallocate needs offset >= 0 and length > 0");
  int r;
  do r = fallocate((int)fd, 0, (off_t)offset, (off_t)length); while (r < 0 && errno == EINTR);
  if (r < 0) ThrowErrno(args.GetIsolate(), errno, "fallocate");
}

// unmap(sab): releases the file or socket mapping now, without waiting for GC.
// The range is replaced by private zero pages so a stale JS view reads zeros
// instead of faulting; the deleter frees those pages when the buffer is collected.
static void Unmap(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsSharedArrayBuffer())
    return ThrowType(isolate, "unmap expects a SharedArrayBuffer made by mmap()");
  std::shared_ptr<v8::BackingStore> bs = args[0].As<SharedArrayBuffer>()->GetBackingStore();
  if (bs->ByteLength() == 0) return;
  void* p = mmap(bs->Data(), bs->ByteLength(), PROT_READ | PROT_WRITE,
                 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) ThrowErrno(isolate, errno, "mmap(MAP_FIXED)");
}

// mprotect(sab, byteOffset, length, writable): changes the protection of a
// page-aligned part of a mapping made by mmap() (e.g. read-only packet memory
// for a consumer, so a stray write faults in that consumer instead of
// corrupting what others see).
static void Mprotect(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsSharedArrayBuffer())
    return ThrowType(isolate, "mprotect expects a SharedArrayBuffer made by mmap()");
  double off, len;
  if (!ArgNumber(args, 1, &off) || !ArgNumber(args, 2, &len)) return;
  bool writable = args.Length() > 3 && args[3]->BooleanValue(isolate);
  std::shared_ptr<v8::BackingStore> bs = args[0].As<SharedArrayBuffer>()->GetBackingStore();
  if (off < 0 || len <= 0 || off + len > (double)bs->ByteLength())
    return ThrowType(isolate, "mprotect range outside the buffer");
  uint8_t* p = static_cast<uint8_t*>(bs->Data()) + (size_t)off;
  if (mprotect(p, (size_t)len, PROT_READ | (writable ? PROT_WRITE : 0)) < 0)
    ThrowErrno(isolate, errno, "mprotect");
}

// futexWait(bytes, byteOffset, expected, timeoutMs) -> 0 woken, 1 timed out,
// 2 value differed, 3 interrupted. A shared (not PRIVATE) futex, so it pairs
// with futexWake() from another process mapping the same file.
static void FutexWait(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  uint32_t* word;
  double expected, timeout;
  if (!ArgWord(args, 0, 1, &word) || !ArgNumber(args, 2, &expected) || !ArgNumber(args, 3, &timeout)) return;
  struct timespec ts, *tsp = nullptr;
  if (timeout >= 0) {
    ts.tv_sec = (time_t)(timeout / 1000);
    ts.tv_nsec = (long)((timeout - (double)ts.tv_sec * 1000) * 1e6);
    tsp = &ts;
  }
  long r = syscall(SYS_futex, word, FUTEX_WAIT, (uint32_t)expected, tsp, nullptr, 0);
  int result = 0;
  if (r < 0) {
    if (errno == ETIMEDOUT) result = 1;
    else if (errno == EAGAIN) result = 2;
    else if (errno == EINTR) result = 3;
    else return ThrowErrno(isolate, errno, "futex(FUTEX_WAIT)");
  }
  args.GetReturnValue().Set(Integer::New(isolate, result));
}

// futexWake(bytes, byteOffset, count) -> number of waiters woken.
static void FutexWake(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  uint32_t* word;
  int64_t count;
  if (!ArgWord(args, 0, 1, &word) || !ArgInt(args, 2, &count)) return;
  long r = syscall(SYS_futex, word, FUTEX_WAKE, (int)count, nullptr, nullptr, 0);
  if (r < 0) return ThrowErrno(isolate, errno, "futex(FUTEX_WAKE)");
  args.GetReturnValue().Set(Integer::New(isolate, (int)r));
}

// pinThread(cpu): binds the calling thread (main or worker) to one CPU.
static void PinThread(const FunctionCallbackInfo<Value>& args) {
  int64_t cpu;
  if (!ArgInt(args, 0, &cpu)) return;
  if (cpu < 0 || cpu >= CPU_SETSIZE) return ThrowType(args.GetIsolate(), "cpu out of range");
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET((int)cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0)
    ThrowErrno(args.GetIsolate(), errno, "sched_setaffinity");
}

static void Gettid(const FunctionCallbackInfo<Value>& args) {
  args.GetReturnValue().Set(Integer::New(args.GetIsolate(), (int)syscall(SYS_gettid)));
}

void InitMemory(Local<Context> ctx, Local<Object> exports) {
  SetMethod(ctx, exports, "close", Close);
  SetMethod(ctx, exports, "mmap", Mmap);
  SetMethod(ctx, exports, "fallocate", Fallocate);
  SetMethod(ctx, exports, "unmap", Unmap);
  SetMethod(ctx, exports, "mprotect", Mprotect);
  SetMethod(ctx, exports, "futexWait", FutexWait);
  SetMethod(ctx, exports, "futexWake", FutexWake);
  SetMethod(ctx, exports, "pinThread", PinThread);
  SetMethod(ctx, exports, "gettid", Gettid);
}

}  // namespace rz
