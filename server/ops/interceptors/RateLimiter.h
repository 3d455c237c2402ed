#pragma once

#include "ops/Interceptor.h"

#include <QElapsedTimer>
#include <QHash>
#include <functional>

namespace wingman::ops {

// A token bucket per client: every op takes a token, tokens come back at opsPerSecond up to
// burst, and an op that finds the bucket empty is rejected with 429 "Rate limit exceeded".
// A client's bucket is freed when it disconnects.
class RateLimiter : public Interceptor
{
public:
    // Milliseconds on any steady scale; empty means a monotonic clock.
    using Clock = std::function<qint64()>;

    static constexpr int kRejectCode = 429;

    // Preconditions: opsPerSecond > 0, burst > 0.
    RateLimiter(qint64 opsPerSecond, qint64 burst, Clock clock = {});

    OpVerdict onBeforeOp(protocol::ClientOp &op, const ConnectionContext &context) override;
    void onDisconnect(const ConnectionContext &context) override;

    qsizetype trackedClients() const { return m_buckets.size(); }

private:
    struct Bucket {
        double tokens = 0;
        qint64 refilledAt = 0;
    };

    qint64 now() const;

    double m_opsPerMs;
    double m_burst;
    Clock m_clock;
    QElapsedTimer m_monotonic;
    QHash<quint64, Bucket> m_buckets;
};

} // namespace wingman::ops
