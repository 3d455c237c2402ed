#pragma once

#include <QRandomGenerator>
#include <optional>

namespace wingman::client {

// Delays between reconnect attempts: base, doubling per attempt, capped, each varied by
// ±jitter (0.5 = ±50%) so that clients dropped together do not return together.
class ReconnectBackoff
{
public:
    // maxAttempts 0: no limit.
    ReconnectBackoff(int baseMs, int maxMs, double jitter, int maxAttempts);

    // The delay before the next attempt, counting it; nullopt once maxAttempts are used up.
    std::optional<int> nextDelay();
    // A connection was established: start again from the base delay.
    void reset() { m_attempts = 0; }
    int attempts() const { return m_attempts; }

    void seed(quint32 seed) { m_random.seed(seed); }

private:
    int m_baseMs;
    int m_maxMs;
    double m_jitter;
    int m_maxAttempts;
    int m_attempts = 0;
    QRandomGenerator m_random;
};

} // namespace wingman::client
