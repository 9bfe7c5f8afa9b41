#include "kernels/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/kernels.h"

namespace ember::kernels {

namespace {

// Workers wait for a new generation of work: first spinning briefly (a
// streaming chunk makes hundreds of calls a few microseconds apart, too close
// for a sleep and wake-up each), then sleeping on a condition variable.
class Pool {
public:
    ~Pool() { resize(1); }

    int threads() const { return static_cast<int>(workers_.size()) + 1; }

    void resize(int threads) {
        std::lock_guard<std::mutex> busy(busy_);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            ++generation_;
        }
        wake_.notify_all();
        for (std::thread& worker : workers_) worker.join();
        workers_.clear();
        stopping_ = false;
        // A worker counts generations from now, not from when it first runs:
        // started late, it would otherwise miss the one that stops it.
        const uint64_t now = generation_.load();
        for (int i = 1; i < threads; ++i) workers_.emplace_back([this, now] { work(now); });
    }

    void run(int parts, void (*body)(void*, int), void* context) {
        std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
        if (!busy.owns_lock() || workers_.empty() || parts <= 1) {
            for (int part = 0; part < parts; ++part) body(context, part);
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            body_ = body;
            context_ = context;
            parts_ = parts;
            next_part_.store(1, std::memory_order_relaxed);
            done_.store(0, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        body(context, 0);
        int finished = 1;
        // The caller takes parts too, so that it never waits idle.
        for (int part; (part = next_part_.fetch_add(1, std::memory_order_acq_rel)) < parts; ++finished)
            body(context, part);
        while (done_.load(std::memory_order_acquire) + finished < parts) std::this_thread::yield();
    }

private:
    void work(uint64_t seen) {
        for (;;) {
            const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
            while (generation_.load(std::memory_order_acquire) == seen &&
                   std::chrono::steady_clock::now() < spin_until) {
            }
            if (generation_.load(std::memory_order_acquire) == seen) {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            }
            seen = generation_.load(std::memory_order_acquire);
            if (stopping_) return;
            int finished = 0;
            for (int part; (part = next_part_.fetch_add(1, std::memory_order_acq_rel)) < parts_.load(); ++finished)
                body_.load()(context_.load(), part);
            done_.fetch_add(finished, std::memory_order_acq_rel);
        }
    }

    std::vector<std::thread> workers_;
    std::mutex busy_;   // held by the caller whose parts the pool runs
    std::mutex mutex_;  // guards the job fields while a generation starts
    std::condition_variable wake_;
    std::atomic<uint64_t> generation_{0};
    // Atomics so that a worker still finishing the last generation reads the
    // job fields without a data race.
    std::atomic<bool> stopping_{false};
    std::atomic<void (*)(void*, int)> body_{nullptr};
    std::atomic<void*> context_{nullptr};
    std::atomic<int> parts_{0};
    std::atomic<int> next_part_{0};
    std::atomic<int> done_{0};
};

Pool& pool() {
    static Pool instance;
    return instance;
}

}  // namespace

void set_num_threads(int threads) { pool().resize(std::max(1, threads)); }

int num_threads() { return pool().threads(); }

void run_parts(int parts, void (*body)(void* context, int part), void* context) { pool().run(parts, body, context); }

}  // namespace ember::kernels
