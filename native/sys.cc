// Sockets, bpf(), poll() and interface lookup: the calls devices/ needs.
// Structures (sockaddr_xdp, bpf_attr, tpacket_req3, ...) are laid out in
// TypeScript and passed as bytes; this file only forwards them.
#include "common.h"

#include <linux/bpf.h>
#include <net/if.h>
#include <poll.h>
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

// socket(domain, type, protocol) -> fd (SOCK_CLOEXEC added).
static void Socket(const FunctionCallbackInfo<Value>& args) {
  int64_t domain, type, proto;
  if (!ArgInt(args, 0, &domain) || !ArgInt(args, 1, &type) || !ArgInt(args, 2, &proto)) return;
  int fd = socket((int)domain, (int)type | SOCK_CLOEXEC, (int)proto);
  if (fd < 0) return ThrowErrno(args.GetIsolate(), errno, "socket");
  args.GetReturnValue().Set(Integer::New(args.GetIsolate(), fd));
}

// setsockopt(fd, level, name, bytes)
static void Setsockopt(const FunctionCallbackInfo<Value>& args) {
  int64_t fd, level, name;
  uint8_t* data;
  size_t len;
  if (!ArgInt(args, 0, &fd) || !ArgInt(args, 1, &level) || !ArgInt(args, 2, &name) ||
      !ArgBytes(args, 3, &data, &len)) return;
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
// bpf_attr carries user pointers (instructions, license, log buffer) that JS
// cannot express: `patches` is [[byteOffsetInAttr, bytes], ...] and each
// bytes' address is written as a u64 at that offset just before the call.
static void Bpf(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  Local<Context> ctx = isolate->GetCurrentContext();
  int64_t cmd;
  uint8_t* attr;
  size_t alen;
  if (!ArgInt(args, 0, &cmd) || !ArgBytes(args, 1, &attr, &alen)) return;
  if (args.Length() > 2 && args[2]->IsArray()) {
    Local<v8::Array> patches = args[2].As<v8::Array>();
    for (uint32_t i = 0; i < patches->Length(); i++) {
      Local<Value> pv = patches->Get(ctx, i).ToLocalChecked();
      if (!pv->IsArray()) return ThrowType(isolate, "bpf patch must be [offset, bytes]");
      Local<v8::Array> p = pv.As<v8::Array>();
      Local<Value> offv = p->Get(ctx, 0).ToLocalChecked();
      Local<Value> bytes = p->Get(ctx, 1).ToLocalChecked();
      if (!offv->IsNumber() || !bytes->IsArrayBufferView()) return ThrowType(isolate, "bpf patch must be [offset, bytes]");
      double off = offv.As<Number>()->Value();
      if (off < 0 || off + 8 > (double)alen || (int64_t)off % 8 != 0) return ThrowType(isolate, "bpf patch offset out of range");
      Local<v8::ArrayBufferView> view = bytes.As<v8::ArrayBufferView>();
      std::shared_ptr<v8::BackingStore> bs = view->Buffer()->GetBackingStore();
      uint64_t ptr = (uint64_t)(uintptr_t)(static_cast<uint8_t*>(bs->Data()) + view->ByteOffset());
      memcpy(attr + (size_t)off, &ptr, 8);
    }
  }
  long r = syscall(SYS_bpf, (int)cmd, attr, (unsigned)alen);
  if (r < 0) return ThrowErrno(isolate, errno, "bpf");
  args.GetReturnValue().Set(Number::New(isolate, (double)r));
}

// ifNameToIndex(name) -> index, 0 when no such interface.
static void IfNameToIndex(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) return ThrowType(isolate, "name must be a string");
  String::Utf8Value name(isolate, args[0]);
  args.GetReturnValue().Set(Integer::NewFromUnsigned(isolate, if_nametoindex(*name)));
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
  SetMethod(ctx, exports, "ifNameToIndex", IfNameToIndex);
}

}  // namespace rz
