// Runs one dispatch in a process of its own: for sanitizer builds (whose
// runtimes must be in the executable, not dlopen'ed into Python) and for
// isolate=True (a crash or a stuck kernel cannot take the test session down).
//
//   runner REQUEST_FILE
//
// The request file (written by _isolated.py) has one item per line:
//   library PATH | kernel NAME | groups X Y Z | threads X Y Z | schedule N |
//   seed N | workers N | timeout SECONDS | stack BYTES |
//   buffer INDEX SIZE PATH | tg INDEX LENGTH
// Each buffer is read from PATH into an allocation of exactly SIZE bytes (so
// AddressSanitizer sees an access past its end) and written back afterwards.
// Exit status 0: done; 3: the dispatch reported an error (on stderr, after
// "mtlemu-error: "); 2: bad request; anything else: a crash or a sanitizer.
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "c_api.h"

using dispatch_fn = int (*)(mtlemu_request*, char*, std::uint64_t);

static int bad(const std::string& why) {
  std::fprintf(stderr, "runner: %s\n", why.c_str());
  return 2;
}

int main(int argc, char** argv) {
  if (argc != 2) return bad("usage: runner REQUEST_FILE");
  std::ifstream in(argv[1]);
  if (!in) return bad(std::string("cannot read ") + argv[1]);

  std::string library, kernel;
  mtlemu_request r{};
  struct buffer {
    int index;
    std::uint64_t size;
    std::string path;
    char* data;
  };
  std::vector<buffer> buffers;
  std::vector<std::uint64_t> tg;
  for (std::string line; std::getline(in, line);) {
    std::istringstream s(line);
    std::string key;
    s >> key;
    if (key == "library") std::getline(s >> std::ws, library);
    else if (key == "kernel") s >> kernel;
    else if (key == "groups") s >> r.groups[0] >> r.groups[1] >> r.groups[2];
    else if (key == "threads") s >> r.threads[0] >> r.threads[1] >> r.threads[2];
    else if (key == "schedule") s >> r.schedule;
    else if (key == "seed") s >> r.seed;
    else if (key == "workers") s >> r.workers;
    else if (key == "timeout") s >> r.timeout;
    else if (key == "stack") s >> r.stack_size;
    else if (key == "buffer") {
      buffer b{};
      s >> b.index >> b.size;
      std::getline(s >> std::ws, b.path);
      buffers.push_back(b);
    } else if (key == "tg") {
      int index;
      std::uint64_t length;
      s >> index >> length;
      if (index < 0 || index > 64) return bad("bad threadgroup index");
      if ((int)tg.size() <= index) tg.resize(index + 1, 0);
      tg[index] = length;
    } else if (!key.empty()) {
      return bad("unknown request line: " + line);
    }
  }

  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) return bad(std::string("dlopen: ") + dlerror());
  auto dispatch = (dispatch_fn)dlsym(lib, "mtlemu_dispatch");
  if (!dispatch) return bad("the library has no mtlemu_dispatch");

  std::vector<mtlemu_buffer> descs;
  for (buffer& b : buffers) {
    b.data = (char*)std::malloc(b.size ? b.size : 1);
    std::ifstream f(b.path, std::ios::binary);
    f.read(b.data, (std::streamsize)b.size);
    if (!f) return bad("cannot read buffer file " + b.path);
    descs.push_back({b.index, 0, b.data, b.size});
  }
  r.kernel = kernel.c_str();
  r.buffers = descs.data();
  r.n_buffers = (std::int32_t)descs.size();
  r.tg_lengths = tg.data();
  r.n_tg = (std::int32_t)tg.size();

  char error[8192] = {0};
  const int rc = dispatch(&r, error, sizeof error);
  for (buffer& b : buffers) {
    std::ofstream f(b.path, std::ios::binary | std::ios::trunc);
    f.write(b.data, (std::streamsize)b.size);
    std::free(b.data);
  }
  std::printf("stats %llu %llu %llu\n", (unsigned long long)r.switches, (unsigned long long)r.tg_barriers,
              (unsigned long long)r.simd_ops);
  if (rc) {
    std::fprintf(stderr, "mtlemu-error: %s\n", error);
    return 3;
  }
  return 0;
}
