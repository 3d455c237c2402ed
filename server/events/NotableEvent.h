#pragma once

#include <QString>

namespace wingman::events {

// What an operator sees in the events log (the monitor feed's "event" frames).
enum class NotableEvent { AuthFailure, OpRejected, SlowConsumer, PeerUp, PeerDown, Gc };

// The short tag the feed and the notableEvent signal carry: "auth-failure", "op-rejected", ...
QString notableEventName(NotableEvent kind);

} // namespace wingman::events
