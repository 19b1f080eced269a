#include "worker.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tsan.h"

namespace mtlemu {
namespace {

// Every call from a kernel into the runtime reads it: initial-exec makes that
// a plain load instead of a call to __tls_get_addr.
thread_local worker* t_worker __attribute__((tls_model("initial-exec"))) = nullptr;

// "0-15, 17, 20-31" for a sorted list of indices.
std::string ranges(const std::vector<unsigned>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!s.empty()) s += ", ";
    s += j == i ? std::to_string(v[i]) : std::to_string(v[i]) + "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return s;
}

std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool same_site(const where& a, const where& b) {
  return a.line() == b.line() && a.column() == b.column() &&
         (a.file_name() == b.file_name() || std::strcmp(a.file_name(), b.file_name()) == 0);
}

}  // namespace

worker* worker::current() { return t_worker; }

worker::worker(const dispatch_config& cfg) : cfg_(cfg) {
  n_ = cfg.threads[0] * cfg.threads[1] * cfg.threads[2];
  lanes_.resize(n_);
  sgs_.resize((n_ + 31) / 32);
  queue_.resize(n_);
  for (unsigned i = 0; i < n_; ++i) {
    lanes_[i].owner = this;
    lanes_[i].index = i;
    lanes_[i].sg = i / 32;
    lanes_[i].sg_lane = i % 32;
  }
  for (unsigned s = 0; s < sgs_.size(); ++s) {
    sgs_[s].first = s * 32;
    sgs_[s].count = n_ - s * 32 < 32 ? n_ - s * 32 : 32;
  }
  fiber_adopt_thread(main_);
}

worker::~worker() {
  for (lane& l : lanes_) fiber_release(l.f);
}

// ---- a threadgroup's life ---------------------------------------------------

void worker::setup(const unsigned group[3]) {
  for (int d = 0; d < 3; ++d) group_[d] = group[d];
  running_ = nullptr;
  tg_waiting_ = exited_ = tg_gen_ = 0;
  failed_ = stopped_ = false;
  error_.clear();
  for (simdgroup& g : sgs_) g.waiting = g.exited = g.gen = 0;
  tsan_sync_ = (char*)std::calloc(2 * (sgs_.size() + 1), 1);

  // Threadgroup memory: uninitialised on a GPU, so 0xFF bytes (a NaN as
  // float, half or bfloat) before every threadgroup. One allocation per
  // buffer, so that AddressSanitizer sees an index past its end.
  tg_dynamic_.assign(cfg_.tg_lengths.size(), nullptr);
  for (std::size_t i = 0; i < cfg_.tg_lengths.size(); ++i) {
    if (!cfg_.tg_lengths[i]) continue;
    tg_dynamic_[i] = std::malloc(cfg_.tg_lengths[i]);
    std::memset(tg_dynamic_[i], 0xff, cfg_.tg_lengths[i]);
  }

  const unsigned* t = cfg_.threads;
  const unsigned* G = cfg_.groups;
  const unsigned sgs = (unsigned)sgs_.size(), quads = (n_ + 3) / 4;
  for (unsigned i = 0; i < n_; ++i) {
    lane& l = lanes_[i];
    l.st = state::ready;
    l.env.buffers = cfg_.buffers;
    l.env.tg = tg_dynamic_.data();
    const unsigned local[3] = {i % t[0], i / t[0] % t[1], i / (t[0] * t[1])};
    auto set = [&](pos p, unsigned x, unsigned y, unsigned z) {
      l.env.position[(int)p][0] = x;
      l.env.position[(int)p][1] = y;
      l.env.position[(int)p][2] = z;
    };
    set(pos::thread_position_in_grid, group[0] * t[0] + local[0], group[1] * t[1] + local[1],
        group[2] * t[2] + local[2]);
    set(pos::thread_position_in_threadgroup, local[0], local[1], local[2]);
    set(pos::threadgroup_position_in_grid, group[0], group[1], group[2]);
    set(pos::threads_per_threadgroup, t[0], t[1], t[2]);
    set(pos::threadgroups_per_grid, G[0], G[1], G[2]);
    set(pos::threads_per_grid, G[0] * t[0], G[1] * t[1], G[2] * t[2]);
    set(pos::thread_index_in_threadgroup, i, 0, 0);
    set(pos::simdgroup_index_in_threadgroup, i / 32, 0, 0);
    set(pos::thread_index_in_simdgroup, i % 32, 0, 0);
    set(pos::simdgroups_per_threadgroup, sgs, 0, 0);
    set(pos::threads_per_simdgroup, 32, 0, 0);
    set(pos::thread_execution_width, 32, 0, 0);
    set(pos::quadgroup_index_in_threadgroup, i / 4, 0, 0);
    set(pos::thread_index_in_quadgroup, i % 4, 0, 0);
    set(pos::quadgroups_per_threadgroup, quads, 0, 0);
    set(pos::dispatch_threads_per_threadgroup, t[0], t[1], t[2]);
    set(pos::dispatch_simdgroups_per_threadgroup, sgs, 0, 0);
    set(pos::dispatch_quadgroups_per_threadgroup, quads, 0, 0);
    set(pos::grid_origin, 0, 0, 0);
    set(pos::grid_size, G[0] * t[0], G[1] * t[1], G[2] * t[2]);
    fiber_prepare(l.f, cfg_.stack_size, &worker::lane_main, &l);
#if defined(MTLEMU_TSAN)
    fiber_set_name(l.f, format("thread %u of threadgroup (%u, %u, %u)", i, group[0], group[1], group[2]).c_str());
#endif
  }

  rng_ = cfg_.seed ^ (0x9e3779b97f4a7c15ull * (1 + group[0] + 65536ull * group[1] + 4294967296ull * group[2]));
  head_ = count_ = 0;
  release(0, n_, state::ready);
}

void worker::teardown() {
  tsan_invisible hide;  // the lanes' last accesses do not happen-before this
  for (void* p : tg_dynamic_) std::free(p);
  tg_dynamic_.clear();
  for (static_alloc& a : tg_static_) std::free(a.ptr);
  tg_static_.clear();
  tg_static_total_ = 0;
  std::free(tsan_sync_);
  tsan_sync_ = nullptr;
#if defined(MTLEMU_TSAN)
  for (lane& l : lanes_) fiber_release(l.f);
#endif
}

bool worker::run(const unsigned group[3]) {
  t_worker = this;
  setup(group);
  // Lanes pass control among themselves; it comes back here when no lane is
  // ready (all returned, or the group is stuck) or a lane failed.
  const unsigned first = queue_[head_];
  head_ = (head_ + 1) % n_;
  --count_;
  running_ = &lanes_[first];
  ++stats_.switches;
  fiber_switch(main_, lanes_[first].f);
  in_lane_code_ = 0;
  if (failed_ && error_.empty()) {  // the watchdog stopped a lane (escape_from_signal)
    error_ = format("[dispatch] timeout: thread %u of %s was still running; an endless loop (waiting for "
                    "another thread without a barrier?)",
                    stuck_lane_, group_name().c_str());
  }
  running_ = nullptr;

  if (!failed_ && exited_ != n_) {
    failed_ = true;
    error_ = "[dispatch] " + group_name() + " cannot go on: " + describe_lanes() +
             ". Every thread of the threadgroup must reach each threadgroup_barrier, and every active "
             "lane of a SIMD-group each SIMD-group function (divergent control flow?)";
  }
  teardown();
  t_worker = nullptr;
  return !failed_;
}

void worker::lane_main(void* arg) {
  lane& l = *(lane*)arg;
  worker& w = *l.owner;
  fiber_started(l.f);
  w.in_lane_code_ = 1;
  w.cfg_.kernel->entry(l.env);
  w.lane_exit(l);
}

// ---- scheduling -------------------------------------------------------------

// Makes the waiting lanes first..first+count-1 (those in state `waiting_in`,
// or all of them for `ready`) ready, in the dispatch's schedule order.
void worker::release(unsigned first, unsigned count, state waiting_in) {
  unsigned order[1024];
  unsigned k = 0;
  for (unsigned i = first; i < first + count; ++i)
    if (waiting_in == state::ready || lanes_[i].st == waiting_in) order[k++] = i;
  if (cfg_.order == schedule::reverse && k > 1) {
    for (unsigned a = 0, b = k - 1; a < b; ++a, --b) std::swap(order[a], order[b]);
  } else if (cfg_.order == schedule::shuffled) {
    for (unsigned a = k; a > 1; --a) std::swap(order[a - 1], order[splitmix(rng_) % a]);
  }
  for (unsigned j = 0; j < k; ++j) {
    lanes_[order[j]].st = state::ready;
    queue_[(head_ + count_) % n_] = order[j];
    ++count_;
  }
}

void worker::block(lane& l) {
  if (cfg_.abort->load()) {
    stopped_ = true;
    fail("[dispatch] stopped (timeout or an error in another threadgroup)");
  }
  in_lane_code_ = 0;
  fiber* next = &main_;
  lane* next_lane = nullptr;
  if (count_) {
    next_lane = &lanes_[queue_[head_]];
    head_ = (head_ + 1) % n_;
    --count_;
    next = &next_lane->f;
  }
  if (next == &l.f) {  // l itself is the next ready lane
    in_lane_code_ = 1;
    return;
  }
  running_ = next_lane;
  ++stats_.switches;
  fiber_switch(l.f, *next);
  running_ = &l;
  in_lane_code_ = 1;
}

void worker::lane_exit(lane& l) {
  in_lane_code_ = 0;
  // What the lane wrote happens-before the dispatcher reads the buffers
  // (acquired in dispatch.cpp); nothing else synchronises with this.
  tsan_release(cfg_.done_sync, 1);
  l.st = state::exited;
  ++exited_;
  simdgroup& g = sgs_[l.sg];
  ++g.exited;
  if (tg_waiting_) {
    std::vector<unsigned> waiting;
    for (const lane& o : lanes_)
      if (o.st == state::wait_tg) waiting.push_back(o.index);
    fail(format("[threadgroup_barrier] %s: thread %u returned while threads %s wait at the "
                "threadgroup_barrier at %s; every thread of a threadgroup must reach each barrier "
                "(an early return before a barrier?)",
                group_name().c_str(), l.index, ranges(waiting).c_str(), site(lanes_[waiting[0]]).c_str()));
  }
  if (g.waiting && g.waiting + g.exited == g.count) {
    // The lanes still in the SIMD-group all wait: complete their operation
    // (or report that it needed this lane).
    lane* w = nullptr;
    for (unsigned i = g.first; i < g.first + g.count; ++i)
      if (lanes_[i].st == state::wait_simd) w = &lanes_[i];
    complete_simd(g, *w);
  }
  l.f.finished = true;
  block(l);
  std::abort();  // an exited lane is never resumed
}

// ---- barriers ---------------------------------------------------------------

void worker::threadgroup_barrier(unsigned flags, const where& loc) {
  lane& l = *running_;
  l.st = state::wait_tg;
  l.loc = loc;
  l.what = "threadgroup_barrier";
  l.flags = flags;
  l.gen = tg_gen_;
  ++tg_waiting_;
  if (exited_) {
    std::vector<unsigned> gone;
    for (const lane& o : lanes_)
      if (o.st == state::exited) gone.push_back(o.index);
    fail(format("[threadgroup_barrier] %s: thread %u reached the threadgroup_barrier at %s, but threads %s "
                "have returned and can never reach it; every thread of a threadgroup must reach each barrier "
                "(an early return before a barrier?)",
                group_name().c_str(), l.index, site(l).c_str(), ranges(gone).c_str()));
  }
  tsan_release(tsan_sync(-1, l.gen), flags);
  if (tg_waiting_ == n_) complete_tg(l);
  block(l);
  tsan_acquire(tsan_sync(-1, l.gen), flags);
}

void worker::complete_tg(lane& last) {
  for (const lane& o : lanes_) {
    if (!same_site(o.loc, last.loc)) {
      std::vector<unsigned> here, there;
      for (const lane& p : lanes_) (same_site(p.loc, last.loc) ? here : there).push_back(p.index);
      fail(format("[threadgroup_barrier] %s: threads %s wait at the threadgroup_barrier at %s but threads %s "
                  "at the one at %s; all threads of a threadgroup must reach the same barrier "
                  "(a barrier in divergent control flow?)",
                  group_name().c_str(), ranges(here).c_str(), site(last).c_str(), ranges(there).c_str(),
                  site(o).c_str()));
    }
  }
  ++stats_.tg_barriers;
  ++tg_gen_;
  tg_waiting_ = 0;
  release(0, n_, state::wait_tg);
}

unsigned worker::simd_op(simd_kind kind, unsigned flags, const void* in, void* out, combine_fn fn, const char* what,
                     const where& loc) {
  lane& l = *running_;
  simdgroup& g = sgs_[l.sg];
  l.st = state::wait_simd;
  l.loc = loc;
  l.what = what;
  l.kind = kind;
  l.fn = fn;
  l.flags = flags;
  l.in = in;
  l.out = out;
  l.gen = g.gen;
  ++g.waiting;
  tsan_release(tsan_sync((int)l.sg, l.gen), kind == simd_kind::barrier ? flags : 0);
  if (g.waiting + g.exited == g.count) complete_simd(g, l);
  block(l);
  tsan_acquire(tsan_sync((int)l.sg, l.gen), kind == simd_kind::barrier ? flags : 0);
  return l.sg_lane;
}

void worker::complete_simd(simdgroup& g, lane& last) {
  // Fast path first: who takes part, and is anything wrong?
  unsigned active = 0;
  bool elsewhere = false, gone = false;
  for (unsigned i = g.first; i < g.first + g.count; ++i) {
    const lane& o = lanes_[i];
    if (o.st == state::exited) gone = true;
    else if (o.st == state::wait_simd && o.fn == last.fn && same_site(o.loc, last.loc)) active |= 1u << o.sg_lane;
    else elsewhere = true;
  }
  if (elsewhere || (gone && last.kind != simd_kind::collective) || (last.kind == simd_kind::matrix && g.count < 32))
    simd_error(g, last);
  if (last.fn) {
    gather ga;
    ga.active = active;
    ga.lanes = g.count;
    ga.what = last.what;
    ga.loc = &last.loc;
    for (unsigned k = 0; k < 32; ++k) {
      const bool on = (active >> k) & 1u;
      ga.in[k] = on ? lanes_[g.first + k].in : nullptr;
      ga.out[k] = on ? lanes_[g.first + k].out : nullptr;
    }
    tsan_invisible hide;
    last.fn(ga);
  }
  ++stats_.simd_ops;
  ++g.gen;
  g.waiting = 0;
  release(g.first, g.count, state::wait_simd);
}

void worker::simd_error(const simdgroup& g, const lane& last) {
  std::vector<unsigned> here, elsewhere, gone;
  for (unsigned i = g.first; i < g.first + g.count; ++i) {
    const lane& o = lanes_[i];
    if (o.st == state::exited) gone.push_back(o.sg_lane);
    else if (o.st == state::wait_simd && o.fn == last.fn && same_site(o.loc, last.loc)) here.push_back(o.sg_lane);
    else elsewhere.push_back(o.sg_lane);
  }
  const std::string sg = "SIMD-group " + std::to_string(last.sg) + " of " + group_name();
  if (!elsewhere.empty()) {
    const lane& o = lanes_[g.first + elsewhere[0]];
    const char* other = o.st == state::wait_tg ? "threadgroup_barrier" : o.what ? o.what : "?";
    fail(format("[%s] %s: lanes %s wait at %s (%s) but lanes %s at %s (%s); the emulator runs a SIMD-group "
                "operation when all active lanes of the SIMD-group reach the same call (a SIMD-group "
                "function or barrier in divergent control flow?)",
                last.what, sg.c_str(), ranges(here).c_str(), last.what, site(last).c_str(),
                ranges(elsewhere).c_str(), other, site(o).c_str()));
  }
  if (!gone.empty())
    fail(format("[%s] %s: lanes %s wait at %s but lanes %s have returned; every lane of the SIMD-group must "
                "reach it (an early return?)",
                last.what, sg.c_str(), ranges(here).c_str(), site(last).c_str(), ranges(gone).c_str()));
  fail(format("[%s] %s: %s needs all 32 lanes of a SIMD-group, but this SIMD-group has %u threads "
              "(threads_per_threadgroup = (%u, %u, %u))",
              last.what, site(last).c_str(), sg.c_str(), g.count, cfg_.threads[0], cfg_.threads[1],
              cfg_.threads[2]));
}

// ---- services for the shim --------------------------------------------------

unsigned worker::simd_lane() const { return running_ ? running_->sg_lane : 0; }

void* worker::threadgroup_static(unsigned site_id, std::size_t size, std::size_t align, const char* name,
                                 const char* file, unsigned line) {
  // As if allocated (and filled) before the threadgroup started.
  tsan_invisible hide;
  for (const static_alloc& a : tg_static_)
    if (a.site == site_id) return a.ptr;
  if (tg_static_total_ + size > cfg_.static_tg_limit)
    fail(format("[threadgroup] %s:%u: `threadgroup ... %s` takes %zu bytes; with %zu bytes of other "
                "threadgroup variables and %zu set by threadgroup_memory this exceeds Metal's 32768 bytes "
                "(32 KiB) per threadgroup",
                file, line, name, size, tg_static_total_, (std::size_t)32768 - cfg_.static_tg_limit));
  void* p = std::aligned_alloc(align < 16 ? 16 : align, (size + 15) / 16 * 16);
  std::memset(p, 0xff, size);
  tg_static_.push_back({site_id, size, p});
  tg_static_total_ += size;
  return p;
}

void worker::fail(std::string message) {
  if (!failed_) {
    failed_ = true;
    error_ = std::move(message);
  }
  in_lane_code_ = 0;
  if (running_) {
    lane& l = *running_;
    l.f.finished = true;  // abandoned
    fiber_switch(l.f, main_);
  }
  std::abort();  // fail() is only called from a lane
}

void worker::escape_from_signal() {
  if (!in_lane_code_ || !running_) return;
  in_lane_code_ = 0;
  failed_ = true;
  lane& l = *running_;
  stuck_lane_ = l.index;
  fiber_escape(l.f, main_);
}

// ---- messages ---------------------------------------------------------------

std::string worker::group_name() const {
  return format("threadgroup (%u, %u, %u)", group_[0], group_[1], group_[2]);
}

std::string worker::site(const lane& l) const {
  return format("%s:%u", l.loc.file_name(), (unsigned)l.loc.line());
}

std::string worker::describe_lanes() const {
  // Group the threads by what they are doing.
  std::vector<std::pair<std::string, std::vector<unsigned>>> kinds;
  for (const lane& l : lanes_) {
    std::string k;
    switch (l.st) {
      case state::exited: k = "have returned"; break;
      case state::ready: k = "are ready"; break;
      default: k = std::string("wait at ") + l.what + " (" + site(l) + ")"; break;
    }
    bool found = false;
    for (auto& [name, ids] : kinds)
      if (name == k) {
        ids.push_back(l.index);
        found = true;
      }
    if (!found) kinds.push_back({k, {l.index}});
  }
  std::string s;
  for (const auto& [name, ids] : kinds) s += (s.empty() ? "threads " : "; threads ") + ranges(ids) + " " + name;
  return s;
}

std::string format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[4096];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

}  // namespace mtlemu
