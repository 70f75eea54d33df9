// Module entry and the shared argument/error helpers.
#include "common.h"

#include <stdio.h>

namespace rz {

using v8::ArrayBuffer;
using v8::ArrayBufferView;
using v8::Exception;
using v8::Integer;
using v8::SharedArrayBuffer;
using v8::String;

static Local<String> Str(Isolate* isolate, const char* s) {
  return String::NewFromUtf8(isolate, s).ToLocalChecked();
}

void ThrowErrno(Isolate* isolate, int err, const char* syscall) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  Local<Context> ctx = isolate->GetCurrentContext();
  Local<Object> e = Exception::Error(Str(isolate, msg)).As<Object>();
  const char* name = strerrorname_np(err);
  e->Set(ctx, Str(isolate, "code"), Str(isolate, name ? name : "EUNKNOWN")).Check();
  e->Set(ctx, Str(isolate, "errno"), Integer::New(isolate, err)).Check();
  e->Set(ctx, Str(isolate, "syscall"), Str(isolate, syscall)).Check();
  isolate->ThrowException(e);
}

void ThrowType(Isolate* isolate, const char* message) {
  isolate->ThrowException(Exception::TypeError(Str(isolate, message)));
}

bool ArgNumber(const FunctionCallbackInfo<Value>& args, int i, double* out) {
  if (i >= args.Length() || !args[i]->IsNumber()) {
    ThrowType(args.GetIsolate(), "expected a number argument");
    return false;
  }
  *out = args[i].As<v8::Number>()->Value();
  return true;
}

bool ArgInt(const FunctionCallbackInfo<Value>& args, int i, int64_t* out) {
  double d;
  if (!ArgNumber(args, i, &d)) return false;
  if (d != (double)(int64_t)d) {
    ThrowType(args.GetIsolate(), "expected an integer argument");
    return false;
  }
  *out = (int64_t)d;
  return true;
}

bool ArgBytes(const FunctionCallbackInfo<Value>& args, int i, uint8_t** data, size_t* len) {
  if (i < args.Length()) {
    Local<Value> v = args[i];
    if (v->IsArrayBufferView()) {
      Local<ArrayBufferView> view = v.As<ArrayBufferView>();
      // Buffer() externalises an on-heap typed array, so the pointer stays put
      // for the duration of the call.
      std::shared_ptr<v8::BackingStore> bs = view->Buffer()->GetBackingStore();
      *data = static_cast<uint8_t*>(bs->Data()) + view->ByteOffset();
      *len = view->ByteLength();
      return true;
    }
    if (v->IsSharedArrayBuffer()) {
      std::shared_ptr<v8::BackingStore> bs = v.As<SharedArrayBuffer>()->GetBackingStore();
      *data = static_cast<uint8_t*>(bs->Data());
      *len = bs->ByteLength();
      return true;
    }
    if (v->IsArrayBuffer()) {
      std::shared_ptr<v8::BackingStore> bs = v.As<ArrayBuffer>()->GetBackingStore();
      *data = static_cast<uint8_t*>(bs->Data());
      *len = bs->ByteLength();
      return true;
    }
  }
  ThrowType(args.GetIsolate(), "expected an ArrayBuffer, SharedArrayBuffer or typed array");
  return false;
}

bool ArgWord(const FunctionCallbackInfo<Value>& args, int i, int off_arg, uint32_t** word) {
  uint8_t* data;
  size_t len;
  int64_t off;
  if (!ArgBytes(args, i, &data, &len) || !ArgInt(args, off_arg, &off)) return false;
  if (off < 0 || (off & 3) != 0 || (size_t)off + 4 > len || ((uintptr_t)(data + off) & 3)) {
    ThrowType(args.GetIsolate(), "word offset out of range or not 4-byte aligned");
    return false;
  }
  *word = reinterpret_cast<uint32_t*>(data + off);
  return true;
}

void SetMethod(Local<Context> ctx, Local<Object> exports, const char* name,
               v8::FunctionCallback fn) {
  Isolate* isolate = ctx->GetIsolate();
  Local<v8::Function> f = v8::FunctionTemplate::New(isolate, fn)->GetFunction(ctx).ToLocalChecked();
  exports->Set(ctx, Str(isolate, name), f).Check();
}

}  // namespace rz

// Context-aware, so worker threads can load the addon too.
NODE_MODULE_INIT(/* exports, module, context */) {
  rz::InitMemory(context, exports);
  rz::InitSys(context, exports);
  rz::InitLibpcap(context, exports);
}
