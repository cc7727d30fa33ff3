#include "nn/thread_pool.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace anytok {
namespace {
thread_local bool inside_parallel_for = false;

int cores() { return std::max(1u, std::thread::hardware_concurrency()); }

// Waits up to ~100 µs for `ready` by polling before the caller falls back to blocking. Waking a blocked thread
// takes tens of microseconds (more in a VM), as long as a small op itself: step-by-step work such as an LSTM's
// recurrence issues thousands of short jobs back to back.
template <typename Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
  for (int i = 0;; ++i) {
    if (ready()) return true;
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
    if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

std::unique_ptr<ThreadPool>& global_pool() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  threads = std::max(1, threads);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_chunks() {
  inside_parallel_for = true;
  for (;;) {
    int64_t begin, end;
    const std::function<void(int64_t, int64_t)>* job;
    {
      std::lock_guard lock(mutex_);
      if (!job_ || next_ >= job_n_ || error_) break;
      job = job_;
      begin = next_;
      end = next_ = std::min(job_n_, next_ + chunk_);
    }
    try {
      (*job)(begin, end);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
  inside_parallel_for = false;
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    spin_until([&] { return generation_.load() != seen; });
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      ++busy_;
    }
    run_chunks();
    {
      std::lock_guard lock(mutex_);
      --busy_;
    }
    done_.notify_all();
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (workers_.empty() || inside_parallel_for || n <= grain) {
    fn(0, n);
    return;
  }
  std::lock_guard run_lock(run_mutex_);
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    // A few chunks per thread balances uneven work without much locking.
    chunk_ = std::max(grain, (n + 4 * size() - 1) / (4 * size()));
    next_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  run_chunks();
  std::exception_ptr error;
  {
    std::unique_lock lock(mutex_);
    lock.unlock();
    spin_until([&] { return busy_.load() == 0; });
    lock.lock();
    done_.wait(lock, [&] { return busy_ == 0; });
    job_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

ThreadPool& ThreadPool::global() {
  auto& pool = global_pool();
  if (!pool) set_threads(0);
  return *pool;
}

void ThreadPool::set_threads(int threads) {
  if (threads <= 0) threads = cores();
  global_pool() = std::make_unique<ThreadPool>(threads);
  openblas_set_num_threads(threads);
}

}  // namespace anytok
