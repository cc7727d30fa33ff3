// One pool of worker threads for the whole process, sized by --threads. Ops split their work with parallel_for;
// OpenBLAS is told to use the same number of threads so that the two never oversubscribe the cores.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace anytok {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }  // the calling thread works too

  // Calls fn(begin, end) on disjoint chunks that cover [0, n), each at least `grain` long (but the last), and
  // returns when all are done. The first exception thrown by fn is rethrown here. A parallel_for called from
  // inside a running one runs serially, so nesting never deadlocks.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

  // The process-wide pool. set_threads(0) means one thread per core.
  static ThreadPool& global();
  static void set_threads(int threads);

 private:
  void worker_loop();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  bool stopping_ = false;
  std::atomic<uint64_t> generation_{0};

  // The job in flight (guarded by mutex_ except for the chunk counter, which workers claim under the lock too).
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t chunk_ = 1;
  int64_t next_ = 0;
  std::atomic<int> busy_{0};
  std::exception_ptr error_;
  std::mutex run_mutex_;  // one parallel_for at a time per pool
};

}  // namespace anytok
