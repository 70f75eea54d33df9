// libpcap, loaded at run time with dlopen so that building needs no pcap.h
// and the package installs on machines without libpcap (only filters need it).
//
// Exposes libpcap's own filter compiler (pcap_compile on a pcap_open_dead
// handle, exactly what `tcpdump -d` uses) and its reference interpreter
// (bpf_filter), which the TypeScript back-ends are tested against.
//
// Classic BPF instructions cross this boundary as 8 bytes each in host order,
// the layout of struct bpf_insn / struct sock_filter:
//   u16 code, u8 jt, u8 jf, u32 k.
#include "common.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

namespace rz {

using v8::Exception;
using v8::Integer;
using v8::Number;
using v8::String;

// The few libpcap declarations we need (pcap/pcap.h, pcap/bpf.h; stable ABI
// since libpcap 0.x).
struct PcapInsn { uint16_t code; uint8_t jt; uint8_t jf; uint32_t k; };
struct PcapProgram { unsigned int bf_len; PcapInsn* bf_insns; };
struct pcap;  // opaque pcap_t

struct Libpcap {
  pcap* (*open_dead)(int linktype, int snaplen);
  int (*compile)(pcap*, PcapProgram*, const char*, int optimize, uint32_t netmask);
  char* (*geterr)(pcap*);
  void (*freecode)(PcapProgram*);
  void (*close)(pcap*);
  unsigned (*filter)(const PcapInsn*, const unsigned char*, unsigned wirelen, unsigned buflen);
  int (*validate)(const PcapInsn*, int len);
  const char* (*version)(void);
};

// pcap_compile kept global parser state before libpcap 1.8: one caller at a time.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Libpcap lib;
static bool loaded = false;
static char load_error[512];

static const char* const kSonames[] = {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"};

static Local<String> Str(Isolate* isolate, const char* s) {
  return String::NewFromUtf8(isolate, s).ToLocalChecked();
}

// Throws an Error with a stable ERR_RINGZERO_* code and the given message.
static void ThrowCode(Isolate* isolate, const char* code, const char* message) {
  Local<Context> ctx = isolate->GetCurrentContext();
  Local<Object> e = Exception::Error(Str(isolate, message)).As<Object>();
  e->Set(ctx, Str(isolate, "code"), Str(isolate, code)).Check();
  isolate->ThrowException(e);
}

// Must be called with `lock` held. Returns false (load_error set) when absent.
static bool LoadLocked() {
  if (loaded) return true;
  void* h = nullptr;
  // RINGZERO_LIBPCAP names the library file explicitly (libpcap in an unusual place).
  const char* forced = getenv("RINGZERO_LIBPCAP");
  if (forced && *forced) {
    h = dlopen(forced, RTLD_NOW | RTLD_LOCAL);
  } else {
    for (const char* name : kSonames) {
      h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (h) break;
    }
  }
  if (!h) {
    snprintf(load_error, sizeof load_error,
             "libpcap not found (tried %s: %s): install it with `apt-get install libpcap0.8`",
             forced && *forced ? forced : "libpcap.so.0.8, libpcap.so.1, libpcap.so", dlerror());
    return false;
  }
  struct { void** slot; const char* name; } syms[] = {
      {(void**)&lib.open_dead, "pcap_open_dead"}, {(void**)&lib.compile, "pcap_compile"},
      {(void**)&lib.geterr, "pcap_geterr"},       {(void**)&lib.freecode, "pcap_freecode"},
      {(void**)&lib.close, "pcap_close"},         {(void**)&lib.filter, "bpf_filter"},
      {(void**)&lib.validate, "bpf_validate"},    {(void**)&lib.version, "pcap_lib_version"},
  };
  for (auto& s : syms) {
    *s.slot = dlsym(h, s.name);
    if (!*s.slot) {
      snprintf(load_error, sizeof load_error,
               "libpcap lacks %s (too old?): install a current one with `apt-get install libpcap0.8`", s.name);
      dlclose(h);
      return false;
    }
  }
  loaded = true;
  return true;
}

static bool Load(Isolate* isolate) {
  pthread_mutex_lock(&lock);
  bool ok = LoadLocked();
  pthread_mutex_unlock(&lock);
  if (!ok) ThrowCode(isolate, "ERR_RINGZERO_LIBPCAP_MISSING", load_error);
  return ok;
}

// pcapVersion() -> pcap_lib_version() text
static void PcapVersion(const FunctionCallbackInfo<Value>& args) {
  if (!Load(args.GetIsolate())) return;
  args.GetReturnValue().Set(Str(args.GetIsolate(), lib.version()));
}

// pcapCompile(expr, linktype, snaplen, optimize, netmask) -> Uint8Array (8 bytes/insn).
// Throws code ERR_RINGZERO_FILTER_SYNTAX with libpcap's own message.
static void PcapCompile(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int64_t linktype, snaplen, netmask;
  if (args.Length() < 1 || !args[0]->IsString()) return ThrowType(isolate, "expression must be a string");
  if (!ArgInt(args, 1, &linktype) || !ArgInt(args, 2, &snaplen)) return;
  if (args.Length() < 4 || !args[3]->IsBoolean()) return ThrowType(isolate, "optimize must be a boolean");
  if (!ArgInt(args, 4, &netmask)) return;
  bool optimize = args[3]->BooleanValue(isolate);
  String::Utf8Value expr(isolate, args[0]);
  if (!Load(isolate)) return;

  char err[512] = "";
  PcapProgram prog = {0, nullptr};
  pthread_mutex_lock(&lock);
  pcap* p = lib.open_dead((int)linktype, (int)snaplen);
  int rc = -1;
  if (!p) {
    snprintf(err, sizeof err, "pcap_open_dead(%d, %d) failed", (int)linktype, (int)snaplen);
  } else {
    rc = lib.compile(p, &prog, *expr, optimize ? 1 : 0, (uint32_t)netmask);
    if (rc != 0) snprintf(err, sizeof err, "%s", lib.geterr(p));
  }
  Local<v8::ArrayBuffer> ab;
  if (rc == 0) {
    size_t bytes = (size_t)prog.bf_len * sizeof(PcapInsn);
    ab = v8::ArrayBuffer::New(isolate, bytes);
    memcpy(ab->GetBackingStore()->Data(), prog.bf_insns, bytes);
    lib.freecode(&prog);
  }
  if (p) lib.close(p);
  pthread_mutex_unlock(&lock);
  if (rc != 0) return ThrowCode(isolate, "ERR_RINGZERO_FILTER_SYNTAX", err);
  args.GetReturnValue().Set(v8::Uint8Array::New(ab, 0, ab->ByteLength()));
}

// The opcodes bpf_filter has a case for (the same set the kernel accepts);
// anything else makes it abort().
static bool Implemented(uint16_t c) {
  switch (c) {
    case 0x06: case 0x16:                                   // ret k, ret a
    case 0x20: case 0x28: case 0x30: case 0x40: case 0x48: case 0x50:  // ld abs, ld ind
    case 0x80: case 0x81: case 0xb1:                        // ld len, ldx len, ldx msh
    case 0x00: case 0x01: case 0x60: case 0x61: case 0x02: case 0x03:  // imm, mem, st, stx
    case 0x05: case 0x15: case 0x25: case 0x35: case 0x45:  // ja, jeq/jgt/jge/jset k
    case 0x1d: case 0x2d: case 0x3d: case 0x4d:             // ... x
    case 0x84: case 0x07: case 0x87:                        // neg, tax, txa
      return true;
  }
  // alu add sub mul div or and lsh rsh mod xor, k (0x04) or x (0x0c)
  uint16_t op = c & 0xf0;
  return ((c & 0x0f) == 0x04 || (c & 0x0f) == 0x0c) && (op <= 0x70 || op == 0x90 || op == 0xa0) && c < 0x100;
}

// Copies the program to aligned memory and runs libpcap's bpf_validate on it.
// bpf_filter abort()s on opcodes it does not know and indexes its scratch
// memory unchecked, so nothing reaches it unvalidated. Caller frees.
static PcapInsn* ValidProgram(Isolate* isolate, const FunctionCallbackInfo<Value>& args, int i, int* n) {
  uint8_t* data;
  size_t len;
  if (!ArgBytes(args, i, &data, &len)) return nullptr;
  if (len == 0 || len % sizeof(PcapInsn) != 0 || len / sizeof(PcapInsn) > 4096) {
    ThrowType(isolate, "program must be 1..4096 instructions of 8 bytes");
    return nullptr;
  }
  *n = (int)(len / sizeof(PcapInsn));
  PcapInsn* insns = static_cast<PcapInsn*>(malloc(len));
  memcpy(insns, data, len);
  for (int k = 0; k < *n; k++) {
    if (!Implemented(insns[k].code)) {
      free(insns);
      ThrowCode(isolate, "ERR_RINGZERO_BPF_CHECK", "program has an opcode libpcap's interpreter does not implement");
      return nullptr;
    }
  }
  if (!lib.validate(insns, *n)) {
    free(insns);
    ThrowCode(isolate, "ERR_RINGZERO_BPF_CHECK", "libpcap's bpf_validate rejected the program");
    return nullptr;
  }
  return insns;
}

// pcapBpfFilter(insns, packet, wirelen) -> bpf_filter(insns, packet, wirelen, packet.byteLength)
static void PcapBpfFilter(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  uint8_t* pkt;
  size_t caplen;
  int64_t wirelen;
  int n;
  if (!Load(isolate)) return;
  if (!ArgBytes(args, 1, &pkt, &caplen) || !ArgInt(args, 2, &wirelen)) return;
  PcapInsn* insns = ValidProgram(isolate, args, 0, &n);
  if (!insns) return;
  unsigned r = lib.filter(insns, pkt, (unsigned)wirelen, (unsigned)caplen);
  free(insns);
  args.GetReturnValue().Set(Integer::NewFromUnsigned(isolate, r));
}

// pcapBpfFilterMany(insns, data, offsets, caplens, wirelens, count, rounds) -> accepted
// Benchmark helper: runs libpcap's interpreter over `count` packets laid out
// in `data` (Uint32Array offsets/lengths), `rounds` times, in one call so the
// measurement is of the interpreter and not of the JS->C transition.
static void PcapBpfFilterMany(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  uint8_t *data, *offs, *caps, *wires;
  size_t dlen, olen, clen, wlen;
  int64_t count, rounds;
  int n;
  if (!Load(isolate)) return;
  if (!ArgBytes(args, 1, &data, &dlen) || !ArgBytes(args, 2, &offs, &olen) || !ArgBytes(args, 3, &caps, &clen) ||
      !ArgBytes(args, 4, &wires, &wlen) || !ArgInt(args, 5, &count) || !ArgInt(args, 6, &rounds)) return;
  if (count < 0 || rounds < 0 || (size_t)count * 4 > olen || (size_t)count * 4 > clen || (size_t)count * 4 > wlen)
    return ThrowType(isolate, "count exceeds the offset/length arrays");
  const uint32_t* o = reinterpret_cast<const uint32_t*>(offs);
  const uint32_t* c = reinterpret_cast<const uint32_t*>(caps);
  const uint32_t* w = reinterpret_cast<const uint32_t*>(wires);
  for (int64_t i = 0; i < count; i++)
    if ((size_t)o[i] + c[i] > dlen) return ThrowType(isolate, "a packet lies outside the data buffer");
  PcapInsn* insns = ValidProgram(isolate, args, 0, &n);
  if (!insns) return;
  double accepted = 0;
  for (int64_t r = 0; r < rounds; r++)
    for (int64_t i = 0; i < count; i++)
      if (lib.filter(insns, data + o[i], w[i], c[i]) != 0) accepted++;
  free(insns);
  args.GetReturnValue().Set(Number::New(isolate, accepted));
}

void InitLibpcap(Local<Context> ctx, Local<Object> exports) {
  SetMethod(ctx, exports, "pcapVersion", PcapVersion);
  SetMethod(ctx, exports, "pcapCompile", PcapCompile);
  SetMethod(ctx, exports, "pcapBpfFilter", PcapBpfFilter);
  SetMethod(ctx, exports, "pcapBpfFilterMany", PcapBpfFilterMany);
}

}  // namespace rz
