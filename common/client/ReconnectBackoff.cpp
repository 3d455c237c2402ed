#include "client/ReconnectBackoff.h"

#include <algorithm>
#include <cmath>

namespace wingman::client {

ReconnectBackoff::ReconnectBackoff(int baseMs, int maxMs, double jitter, int maxAttempts)
    : m_baseMs(std::max(1, baseMs))
    , m_maxMs(std::max(m_baseMs, maxMs))
    , m_jitter(std::clamp(jitter, 0.0, 1.0))
    , m_maxAttempts(std::max(0, maxAttempts))
    , m_random(QRandomGenerator::global()->generate())
{ }

std::optional<int> ReconnectBackoff::nextDelay()
{
    if (m_maxAttempts > 0 && m_attempts >= m_maxAttempts)
        return std::nullopt;
    // Past 2^20 the cap has long been reached; stop doubling before the double overflows.
    const double exponential = m_baseMs * std::pow(2.0, std::min(m_attempts, 20));
    const double capped = std::min<double>(exponential, m_maxMs);
    const double factor = 1.0 + m_jitter * (2.0 * m_random.generateDouble() - 1.0);
    ++m_attempts;
    return std::max(1, int(std::lround(capped * factor)));
}

} // namespace wingman::client
