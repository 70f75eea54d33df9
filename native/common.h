// ringzero native addon: the kernel's door. Thin wrappers over system calls;
// no policy and no packet loops live here (see ../../shared/DESIGN.md, "Layers").
//
// Written in C-style C++ because a SharedArrayBuffer over foreign memory can
// only be made through V8's BackingStore API; Node-API on Node 20 cannot.
#pragma once
#include <node.h>
#include <v8.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

namespace rz {

using v8::Context;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::Value;

// Throws an Error whose message is "<syscall>: <strerror>" with .code set to
// the errno name (e.g. "EBUSY"), .errno to the number and .syscall to the call.
void ThrowErrno(Isolate* isolate, int err, const char* syscall);
// Throws a TypeError with a fixed message (argument validation).
void ThrowType(Isolate* isolate, const char* message);

// Argument helpers. They return false after throwing when the argument is bad.
bool ArgInt(const FunctionCallbackInfo<Value>& args, int i, int64_t* out);
bool ArgNumber(const FunctionCallbackInfo<Value>& args, int i, double* out);
// Any ArrayBufferView or (Shared)ArrayBuffer: its data pointer and length.
bool ArgBytes(const FunctionCallbackInfo<Value>& args, int i, uint8_t** data, size_t* len);
// A 4-byte aligned u32 word at byte offset `off` inside the bytes of argument i.
bool ArgWord(const FunctionCallbackInfo<Value>& args, int i, int off_arg, uint32_t** word);

void SetMethod(Local<Context> ctx, Local<Object> exports, const char* name,
               v8::FunctionCallback fn);

// Registration of each source file's functions.
void InitMemory(Local<Context> ctx, Local<Object> exports);
void InitSys(Local<Context> ctx, Local<Object> exports);
void InitLibpcap(Local<Context> ctx, Local<Object> exports);

}  // namespace rz
