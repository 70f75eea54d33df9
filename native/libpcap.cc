// libpcap, loaded at run time with dlopen so that building needs no pcap.h.
// (Filled in by the filters work; registers nothing yet.)
#include "common.h"

namespace rz {
void InitLibpcap(Local<Context> ctx, Local<Object> exports) {}
}  // namespace rz
