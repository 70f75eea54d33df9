// Sockets, bpf(), poll() and interface lookup: the calls devices/ needs.
// Structures (sockaddr_xdp, bpf_attr, tpacket_req3, ...) are laid out in
// TypeScript and passed as bytes; this file only forwards them.
#include "common.h"

#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rz {

using v8::Integer;
using v8::Number;
using v8::String;

// Errnos that are flow control on a non-blocking data path, not failures:
// they are returned as -errno instead of thrown.
static bool IsTransient(int e) {
  return e == EAGAIN || e == EWOULDBLOCK || e == EBUSY || e == ENOBUFS || e == EINTR || e == ENETDOWN;
}

// Some structures carry user pointers JS cannot express (bpf_attr's
// instructions and log buffer, xdp_umem_reg's addr). `patches` is
// [[byteOffset, bytes], ...]: the address of each bytes' data is written as a
// u64 at that offset of `data` just before the call. [byteOffset, bytes, into]
// writes it into the view `into` instead: a pointer inside a structure that
// `data` itself points to (bpf_prog_info's map_ids). Returns false after throwing.
static bool ApplyPatches(const FunctionCallbackInfo<Value>& args, int i, uint8_t* data, size_t len) {
  Isolate* isolate = args.GetIsolate();
  Local<Context> ctx = isolate->GetCurrentContext();
  if (i >= args.Length() || !args[i]->IsArray()) return true;
  Local<v8::Array> patches = args[i].As<v8::Array>();
  for (uint32_t k = 0; k < patches->Length(); k++) {
    Local<Value> pv = patches->Get(ctx, k).ToLocalChecked();
    if (!pv->IsArray()) { ThrowType(isolate, "patch must be [offset, bytes]"); return false; }
    Local<v8::Array> p = pv.As<v8::Array>();
    Local<Value> offv = p->Get(ctx, 0).ToLocalChecked();
    Local<Value> bytes = p->Get(ctx, 1).ToLocalChecked();
    uint8_t* target;
    if (!offv->IsNumber()) { ThrowType(isolate, "patch must be [offset, bytes]"); return false; }
    if (bytes->IsArrayBufferView()) {
      Local<v8::ArrayBufferView> view = bytes.As<v8::ArrayBufferView>();
      std::shared_ptr<v8::BackingStore> bs = view->Buffer()->GetBackingStore();
      target = static_cast<uint8_t*>(bs->Data()) + view->ByteOffset();
    } else if (bytes->IsSharedArrayBuffer()) {
      target = static_cast<uint8_t*>(bytes.As<v8::SharedArrayBuffer>()->GetBackingStore()->Data());
    } else {
      ThrowType(isolate, "patch must be [offset, bytes]");
      return false;
    }
    uint8_t* into = data;
    size_t intoLen = len;
    if (p->Length() >= 3) {
      Local<Value> iv = p->Get(ctx, 2).ToLocalChecked();
      if (!iv->IsArrayBufferView()) { ThrowType(isolate, "patch target must be an ArrayBufferView"); return false; }
      Local<v8::ArrayBufferView> view = iv.As<v8::ArrayBufferView>();
      into = static_cast<uint8_t*>(view->Buffer()->GetBackingStore()->Data()) + view->ByteOffset();
      intoLen = view->ByteLength();
    }
    double off = offv.As<Number>()->Value();
    if (off < 0 || off + 8 > (double)intoLen || (int64_t)off % 8 != 0) { ThrowType(isolate, "patch offset out of range"); return false; }
    uint64_t ptr = (uint64_t)(uintptr_t)target;
    memcpy(into + (size_t)off, &ptr, 8);
  }
  return true;
}

// socket(domain, type, protocol) -> fd (SOCK_CLOEXEC added).
static void Socket(const FunctionCallbackInfo<Value>& args) {
  int64_t domain, type, proto;
  if (!ArgInt(args, 0, &domain) || !ArgInt(args, 1, &type) || !ArgInt(args, 2, &proto)) return;
  int fd = socket((int)domain, (int)type | SOCK_CLOEXEC, (int)proto);
  if (fd < 0) return ThrowErrno(args.GetIsolate(), errno, "socket");
  args.GetReturnValue().Set(Integer::New(args.GetIsolate(), fd));
}

// setsockopt(fd, level, name, bytes, patches?) — patches as for bpf() (XDP_UMEM_REG's addr).
static void Setsockopt(const FunctionCallbackInfo<Value>& args) {
  int64_t fd, level, name;
  uint8_t* data;
  size_t len;
  if (!ArgInt(args, 0, &fd) || !ArgInt(args, 1, &level) || !ArgInt(args, 2, &name) ||
      !ArgBytes(args, 3, &data, &len) || !ApplyPatches(args, 4, data, len)) return;
  if (setsockopt((int)fd, (int)level, (int)name, data, (socklen_t)len) < 0)
    ThrowErrno(args.GetIsolate(), errno, "setsockopt");
}

// getsockopt(fd, level, name, bytes) -> bytes written
static void Getsockopt(const FunctionCallbackInfo<Value>& args) {
  int64_t fd, level, name;
  uint8_t* data;
  size_t len;
  if (!ArgInt(args, 0, &fd) || !ArgInt(args, 1, &level) || !ArgInt(args, 2, &name) ||
      !ArgBytes(args, 3, &data, &len)) return;
  socklen_t sl = (socklen_t)len;
  if (getsockopt((int)fd, (int)level, (int)name, data, &sl) < 0)
    return ThrowErrno(args.GetIsolate(), errno, "getsockopt");
  args.GetReturnValue().Set(Integer::New(args.GetIsolate(), (int)sl));
}

// bind(fd, sockaddrBytes)
static void Bind(const FunctionCallbackInfo<Value>& args) {
  int64_t fd;
  uint8_t* data;
  size_t len;
  if (!ArgInt(args, 0, &fd) || !ArgBytes(args, 1, &data, &len)) return;
  if (bind((int)fd, reinterpret_cast<struct sockaddr*>(data), (socklen_t)len) < 0)
    ThrowErrno(args.GetIsolate(), errno, "bind");
}

// sendto(fd, bytes|null, flags, sockaddr|null) -> bytes sent, or -errno when transient.
// With null bytes it is the zero-length "kick" AF_XDP and PACKET_TX_RING use.
static void Sendto(const FunctionCallbackInfo<Value>& args) {
  int64_t fd, flags;
  uint8_t *data = nullptr, *addr = nullptr;
  size_t len = 0, alen = 0;
  if (!ArgInt(args, 0, &fd)) return;
  if (args.Length() > 1 && !args[1]->IsNullOrUndefined() && !ArgBytes(args, 1, &data, &len)) return;
  if (!ArgInt(args, 2, &flags)) return;
  if (args.Length() > 3 && !args[3]->IsNullOrUndefined() && !ArgBytes(args, 3, &addr, &alen)) return;
  ssize_t r = sendto((int)fd, data, len, (int)flags, reinterpret_cast<struct sockaddr*>(addr), (socklen_t)alen);
  if (r < 0) {
    if (IsTransient(errno)) return args.GetReturnValue().Set(Integer::New(args.GetIsolate(), -errno));
    return ThrowErrno(args.GetIsolate(), errno, "sendto");
  }
  args.GetReturnValue().Set(Number::New(args.GetIsolate(), (double)r));
}

// recv(fd, bytes, flags) -> bytes received, or -errno when transient.
static void Recv(const FunctionCallbackInfo<Value>& args) {
  int64_t fd, flags;
  uint8_t* data;
  size_t len;
  if (!ArgInt(args, 0, &fd) || !ArgBytes(args, 1, &data, &len) || !ArgInt(args, 2, &flags)) return;
  ssize_t r = recv((int)fd, data, len, (int)flags);
  if (r < 0) {
    if (IsTransient(errno)) return args.GetReturnValue().Set(Integer::New(args.GetIsolate(), -errno));
    return ThrowErrno(args.GetIsolate(), errno, "recv");
  }
  args.GetReturnValue().Set(Number::New(args.GetIsolate(), (double)r));
}

// poll(fd, events, timeoutMs) -> revents (0 on timeout or EINTR)
static void Poll(const FunctionCallbackInfo<Value>& args) {
  int64_t fd, events, timeout;
  if (!ArgInt(args, 0, &fd) || !ArgInt(args, 1, &events) || !ArgInt(args, 2, &timeout)) return;
  struct pollfd p = {(int)fd, (short)events, 0};
  int r = poll(&p, 1, (int)timeout);
  if (r < 0 && errno != EINTR) return ThrowErrno(args.GetIsolate(), errno, "poll");
  args.GetReturnValue().Set(Integer::New(args.GetIsolate(), r > 0 ? p.revents : 0));
}

// bpf(cmd, attrBytes, patches) -> the syscall's result (an fd for most commands).
// bpf_attr's user pointers (instructions, license, log buffer) go in `patches`.
static void Bpf(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int64_t cmd;
  uint8_t* attr;
  size_t alen;
  if (!ArgInt(args, 0, &cmd) || !ArgBytes(args, 1, &attr, &alen) || !ApplyPatches(args, 2, attr, alen)) return;
  long r = syscall(SYS_bpf, (int)cmd, attr, (unsigned)alen);
  if (r < 0) return ThrowErrno(isolate, errno, "bpf");
  args.GetReturnValue().Set(Number::New(isolate, (double)r));
}

// pollFds(fds: Int32Array, events, timeoutMs) -> number of ready fds (0 on
// timeout or EINTR); the revents are not returned: callers just retry their rings.
static void PollFds(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  uint8_t* data;
  size_t len;
  int64_t events, timeout;
  if (!ArgBytes(args, 0, &data, &len) || !ArgInt(args, 1, &events) || !ArgInt(args, 2, &timeout)) return;
  size_t n = len / 4;
  if (n == 0 || n > 64) return ThrowType(isolate, "pollFds expects 1..64 fds in an Int32Array");
  struct pollfd p[64];
  for (size_t k = 0; k < n; k++) {
    int32_t fd;
    memcpy(&fd, data + 4 * k, 4);
    p[k] = {fd, (short)events, 0};
  }
  int r = poll(p, n, (int)timeout);
  if (r < 0 && errno != EINTR) return ThrowErrno(isolate, errno, "poll");
  args.GetReturnValue().Set(Integer::New(isolate, r > 0 ? r : 0));
}

// getrlimit(resource) -> [soft, hard]; -1 stands for RLIM_INFINITY.
static void Getrlimit(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int64_t res;
  if (!ArgInt(args, 0, &res)) return;
  struct rlimit rl;
  if (getrlimit((int)res, &rl) < 0) return ThrowErrno(isolate, errno, "getrlimit");
  Local<Context> ctx = isolate->GetCurrentContext();
  Local<v8::Array> a = v8::Array::New(isolate, 2);
  a->Set(ctx, 0, Number::New(isolate, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur)).Check();
  a->Set(ctx, 1, Number::New(isolate, rl.rlim_max == RLIM_INFINITY ? -1 : (double)rl.rlim_max)).Check();
  args.GetReturnValue().Set(a);
}

// setrlimit(resource, soft, hard); -1 stands for RLIM_INFINITY.
static void Setrlimit(const FunctionCallbackInfo<Value>& args) {
  int64_t res;
  double soft, hard;
  if (!ArgInt(args, 0, &res) || !ArgNumber(args, 1, &soft) || !ArgNumber(args, 2, &hard)) return;
  struct rlimit rl;
  rl.rlim_cur = soft < 0 ? RLIM_INFINITY : (rlim_t)soft;
  rl.rlim_max = hard < 0 ? RLIM_INFINITY : (rlim_t)hard;
  if (setrlimit((int)res, &rl) < 0) ThrowErrno(args.GetIsolate(), errno, "setrlimit");
}

// ifNameToIndex(name) -> index; throws the errno when there is none: ENODEV
// for no such interface, EMFILE/ENFILE from socket() when no descriptor is
// left. glibc's if_nametoindex does the same calls but returns 0 for all of
// them, with an errno left by its fallbacks (ENOENT), so it is done here.
static void IfNameToIndex(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) return ThrowType(isolate, "name must be a string");
  String::Utf8Value name(isolate, args[0]);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (name.length() <= 0 || (size_t)name.length() >= sizeof ifr.ifr_name) return ThrowErrno(isolate, ENODEV, "if_nametoindex");
  memcpy(ifr.ifr_name, *name, (size_t)name.length());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(isolate, errno, "socket");
  int r = ioctl(fd, SIOCGIFINDEX, &ifr);
  int err = errno;
  close(fd);
  if (r < 0) return ThrowErrno(isolate, err, "ioctl(SIOCGIFINDEX)");
  args.GetReturnValue().Set(Integer::NewFromUnsigned(isolate, (unsigned)ifr.ifr_ifindex));
}

// ifIndexToName(index) -> the interface's name now, '' when no interface of
// this network namespace has that index (ENODEV). An interface is followed by
// its index: a rename keeps it, a deletion or a move to another namespace
// frees it. Other failures (EMFILE/ENFILE from socket()) are thrown: they say
// nothing about the interface. Done here for the same reason as above.
static void IfIndexToName(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int64_t index;
  if (!ArgInt(args, 0, &index)) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (index <= 0 || index > 0x7fffffff) return args.GetReturnValue().Set(String::NewFromUtf8(isolate, "").ToLocalChecked());
  ifr.ifr_ifindex = (int)index;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(isolate, errno, "socket");
  int r = ioctl(fd, SIOCGIFNAME, &ifr);
  int err = errno;
  close(fd);
  if (r < 0 && err != ENODEV) return ThrowErrno(isolate, err, "ioctl(SIOCGIFNAME)");
  args.GetReturnValue().Set(String::NewFromUtf8(isolate, r < 0 ? "" : ifr.ifr_name).ToLocalChecked());
}

void InitSys(Local<Context> ctx, Local<Object> exports) {
  SetMethod(ctx, exports, "socket", Socket);
  SetMethod(ctx, exports, "setsockopt", Setsockopt);
  SetMethod(ctx, exports, "getsockopt", Getsockopt);
  SetMethod(ctx, exports, "bind", Bind);
  SetMethod(ctx, exports, "sendto", Sendto);
  SetMethod(ctx, exports, "recv", Recv);
  SetMethod(ctx, exports, "poll", Poll);
  SetMethod(ctx, exports, "bpf", Bpf);
  SetMethod(ctx, exports, "pollFds", PollFds);
  SetMethod(ctx, exports, "getrlimit", Getrlimit);
  SetMethod(ctx, exports, "setrlimit", Setrlimit);
  SetMethod(ctx, exports, "ifNameToIndex", IfNameToIndex);
  SetMethod(ctx, exports, "ifIndexToName", IfIndexToName);
}

}  // namespace rz
