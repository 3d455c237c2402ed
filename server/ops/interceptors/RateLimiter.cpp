#include "ops/interceptors/RateLimiter.h"

#include <algorithm>

namespace wingman::ops {

RateLimiter::RateLimiter(qint64 opsPerSecond, qint64 burst, Clock clock)
    : m_opsPerMs(double(opsPerSecond) / 1000.0)
    , m_burst(double(burst))
    , m_clock(std::move(clock))
{
    m_monotonic.start();
}

qint64 RateLimiter::now() const
{
    return m_clock ? m_clock() : m_monotonic.elapsed();
}

OpVerdict RateLimiter::onBeforeOp(protocol::ClientOp &, const ConnectionContext &context)
{
    const qint64 at = now();
    auto it = m_buckets.find(context.clientId);
    if (it == m_buckets.end())
        it = m_buckets.insert(context.clientId, Bucket { m_burst, at });
    Bucket &bucket = *it;
    // A clock that steps back refills nothing rather than draining the bucket.
    const qint64 elapsed = std::max<qint64>(0, at - bucket.refilledAt);
    bucket.tokens = std::min(m_burst, bucket.tokens + double(elapsed) * m_opsPerMs);
    bucket.refilledAt = std::max(bucket.refilledAt, at);
    if (bucket.tokens < 1.0)
        return OpVerdict::reject(kRejectCode, QStringLiteral("Rate limit exceeded"));
    bucket.tokens -= 1.0;
    return OpVerdict::proceed();
}

void RateLimiter::onDisconnect(const ConnectionContext &context)
{
    m_buckets.remove(context.clientId);
}

} // namespace wingman::ops
